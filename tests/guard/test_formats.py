"""The guard over the many ways people type a secret: full-width characters, any separator,
numbering, letters glued to a card number, a phrase sent in parts. Property-based tests
generate the formats; the examples are the findings that were once stored word for word."""

from __future__ import annotations

import json
import string
import unicodedata
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from guard import REDACTED, Finding, SecretKind, scan, scan_recent, scanner
from tests.guard.oracles import luhn_complete

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = PROJECT_ROOT / "guard" / "resources"

ENGLISH = (RESOURCES / "bip39_english.txt").read_text("utf-8").splitlines()
CHINESE = (RESOURCES / "bip39_chinese_simplified.txt").read_text("utf-8").splitlines()
PHRASE_LENGTHS = (12, 15, 18, 21, 24)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def full_width(text: str) -> str:
    """ASCII digits and letters as a Chinese input method types them (４１１１, ａｂｌｅ)."""
    return "".join(
        chr(ord(char) + 0xFEE0) if char.isascii() and char.isalnum() else char for char in text
    )


def _real_texts() -> list[str]:
    faq = yaml.safe_load((PROJECT_ROOT / "data" / "faq_zh.yml").read_text("utf-8"))
    texts = [text for item in faq["faqs"] for text in (item["question"], *item["paraphrases"])]
    for split in ("dev.jsonl", "test.jsonl", "test_uncovered.jsonl"):
        path = PROJECT_ROOT / "data" / "eval" / split
        texts += [json.loads(line)["query"] for line in path.read_text("utf-8").splitlines()]
    return texts


REAL_TEXTS = _real_texts()
# Real questions without digits or Latin letters: context that cannot touch a secret.
CHINESE_CONTEXT = [
    text
    for text in REAL_TEXTS
    if not any(unicodedata.normalize("NFKC", char).isascii() and char.isalnum() for char in text)
    and not any(char.isdigit() for char in text)
]


def test_context_pool_is_large() -> None:
    assert len(CHINESE_CONTEXT) > 300


# --- The reported findings, word for word ------------------------------------------------

WORDS_12 = [ENGLISH[(100 + 37 * i) % 2048] for i in range(12)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的卡号 4111\u30001111\u30001111\u30001111 绑不上", f"我的卡号 {REDACTED} 绑不上"),
        ("我的卡号 ４１１１　１１１１　１１１１　１１１１ 绑不上", f"我的卡号 {REDACTED} 绑不上"),
        ("卡号４１１１１１１１１１１１１１１１", f"卡号{REDACTED}"),
        ("VISA4111111111111111", f"VISA{REDACTED}"),
        ("4111111111111111visa", f"{REDACTED}visa"),
        ("4111.1111.1111.1111", REDACTED),
        ("4111_1111_1111_1111", REDACTED),
        ("4111  1111  1111  1111", REDACTED),
        ("4111－1111－1111－1111", REDACTED),
        ("4111 – 1111 – 1111 – 1111", REDACTED),
        ("4111\u200b1111\u200b1111\u200b1111", REDACTED),  # zero-width spaces
    ],
)
def test_reported_card_formats_are_redacted(text: str, expected: str) -> None:
    result = scan(text)
    assert result.text == expected
    assert result.kinds == ("card_number",)


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("-".join(WORDS_12), ""),
        ("/".join(WORDS_12), ""),
        (";".join(WORDS_12), ""),
        ("|".join(WORDS_12), ""),
        (" | ".join(WORDS_12), ""),
        (" ".join(f"({i}) {word}" for i, word in enumerate(WORDS_12, 1)), "(1) "),
        (" ".join(f"#{i} {word}" for i, word in enumerate(WORDS_12, 1)), "#1 "),
        ("\n".join(f"{i}- {word}" for i, word in enumerate(WORDS_12, 1)), "1- "),
        ("\n".join(f"{i}) {word}" for i, word in enumerate(WORDS_12, 1)), "1) "),
        (" ".join(f"{i}.{word}" for i, word in enumerate(WORDS_12, 1)), "1."),
        (full_width(" ".join(WORDS_12)), ""),
    ],
)
def test_reported_mnemonic_formats_are_redacted(body: str, kept: str) -> None:
    assert scan(f"助记词：{body}").text == f"助记词：{kept}{REDACTED}"


def test_reported_phrase_sent_six_and_six() -> None:
    first, second = " ".join(WORDS_12[:6]), " ".join(WORDS_12[6:])
    assert not scan(first).found and not scan(second).found
    results = scan_recent([first, second])
    assert [result.text for result in results] == [REDACTED, REDACTED]
    assert all(result.kinds == ("mnemonic",) for result in results)


@pytest.mark.parametrize(
    "keyword", ["种子短语", "恢复短语", "备份词", "備份詞", "种子词", "助记词", "recovery phrase"]
)
def test_reported_chinese_phrase_after_other_keywords(keyword: str) -> None:
    assert scan(f"我的{keyword}是的一是在不了有和人这中大").text == f"我的{keyword}是{REDACTED}"


# --- Normalisation and the offset map ------------------------------------------------------


def test_findings_point_into_the_original_text_when_nfkc_changes_lengths() -> None:
    """㎏ becomes kg and … becomes ...: the spans still land on what the user typed."""
    text = "买了5㎏…支付密码是１２３４５６㎏，卡号 ４１１１－１１１１－１１１１－１１１１ ⑴"
    result = scan(text)
    assert [text[f.start : f.end] for f in result.findings] == [
        "１２３４５６",
        "４１１１－１１１１－１１１１－１１１１",
    ]
    assert result.text == f"买了5㎏…支付密码是{REDACTED}㎏，卡号 {REDACTED} ⑴"


def test_full_width_punctuation_survives_redaction() -> None:
    assert scan("验证码：４８２９１３！").text == f"验证码：{REDACTED}！"


def test_nfkc_form_of_a_redaction_is_stable() -> None:
    assert unicodedata.normalize("NFKC", REDACTED) == REDACTED
    assert scan(f"验证码{REDACTED}").findings == ()


# --- Card numbers: generated formats ------------------------------------------------------

CARD_SEPARATORS = [" ", "\u3000", "-", "－", ".", "_", "  ", "\u3000\u3000", " - ", "—"]
# Network prefixes (Visa, Mastercard, Amex, UnionPay, Discover, JCB) and their lengths.
NETWORKS = [
    ("4", (13, 16, 19)),
    ("51", (16,)),
    ("55", (16,)),
    ("2221", (16,)),
    ("34", (15,)),
    ("37", (15,)),
    ("62", (16, 17, 18, 19)),
    ("6011", (16, 19)),
    ("35", (16,)),
]


@st.composite
def card_numbers(draw: st.DrawFn, valid: bool = True) -> str:
    prefix, lengths = draw(st.sampled_from(NETWORKS))
    length = draw(st.sampled_from(lengths))
    size = length - len(prefix) - 1
    number = luhn_complete(prefix + draw(st.text(string.digits, min_size=size, max_size=size)))
    if not valid:
        number = number[:-1] + str((int(number[-1]) + 1) % 10)
    return number


def grouped(number: str, separator: str) -> str:
    """Groups of 4, as printed on the card; a short tail joins the group before it."""
    groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    if len(groups[-1]) < 3:
        groups[-2:] = [groups[-2] + groups[-1]]
    return separator.join(groups)


card_texts = st.builds(
    grouped,
    card_numbers(),
    st.one_of(st.just(""), st.sampled_from(CARD_SEPARATORS)),
)
LABELS = ["", " ", "卡号", "我的卡号 ", "，卡是：", "银行卡", "\n"]
# Where nothing calls the number a card, a Luhn-invalid one is something else.
UNLABELLED = ["", " ", "，卡是：", "\n", "查一下 "]


@PROPERTY
@given(
    card=card_texts,
    wide=st.booleans(),
    letters_before=st.text(string.ascii_letters, max_size=5),
    letters_after=st.text(string.ascii_letters, max_size=5),
    before=st.one_of(st.just(""), st.sampled_from(CHINESE_CONTEXT).map(lambda text: text + "，")),
    label=st.sampled_from(LABELS),
    after=st.one_of(st.just(""), st.sampled_from(CHINESE_CONTEXT).map("，".__add__)),
)
def test_generated_card_numbers_are_always_redacted(
    *,
    card: str,
    wide: bool,
    letters_before: str,
    letters_after: str,
    before: str,
    label: str,
    after: str,
) -> None:
    typed = full_width(card) if wide else card
    text = f"{before}{label}{letters_before}{typed}{letters_after}{after}"
    result = scan(text)
    assert result.text == f"{before}{label}{letters_before}{REDACTED}{letters_after}{after}"
    assert not any(char.isdigit() for char in result.text)
    assert set(result.kinds) <= {"card_number", "id_number"}


@PROPERTY
@given(
    number=card_numbers(valid=False).filter(lambda number: len(number) <= 16),
    separator=st.one_of(st.just(""), st.sampled_from(CARD_SEPARATORS)),
    wide=st.booleans(),
    label=st.sampled_from(UNLABELLED),
)
def test_generated_luhn_invalid_numbers_are_kept(
    number: str, separator: str, wide: bool, label: str
) -> None:
    """At most 16 digits: no window of whole groups inside can hold 13 digits on its own."""
    typed = grouped(number, separator)
    text = f"{label}{full_width(typed) if wide else typed}"
    assert scan(text).findings == ()


@PROPERTY
@given(
    card=card_numbers(),
    data=st.data(),
    side=st.sampled_from(["before", "after"]),
    wide=st.booleans(),
)
def test_cards_are_never_taken_out_of_a_longer_digit_run(
    card: str, data: st.DataObject, side: str, wide: bool
) -> None:
    size = 20 - len(card)  # past 19 digits: no card can be the whole run
    extra = data.draw(st.text(string.digits, min_size=size, max_size=size + 3))
    digits = extra + card if side == "before" else card + extra
    text = "流水号 " + (full_width(digits) if wide else digits)
    assert scan(text).findings == ()


# --- Recovery phrases: generated formats ---------------------------------------------------

WORD_SEPARATORS = [
    " ",
    "-",
    "/",
    ";",
    "|",
    ", ",
    " | ",
    "\n",
    "、",
    "，",
    "\u3000",
    "_",
    "  ",
    "\t",
]
NUMBERINGS = ["", "{}. ", "{}) ", "({}) ", "#{} ", "{}- ", "{}:", "{}、", "{}.", "\n{}. "]
CASES = [str.lower, str.upper, str.capitalize]


@st.composite
def english_phrases(draw: st.DrawFn) -> list[str]:
    count = draw(st.sampled_from(PHRASE_LENGTHS))
    words = draw(st.lists(st.sampled_from(ENGLISH), min_size=count, max_size=count, unique=True))
    case = draw(st.sampled_from(CASES))
    wide = draw(st.booleans())
    return [full_width(case(word)) if wide else case(word) for word in words]


def numbered(words: list[str], separator: str, numbering: str, first: int = 1) -> list[str]:
    """Each word with its number ("1. abandon"), the separator after all but the last."""
    items = [numbering.format(index) + word for index, word in enumerate(words, start=first)]
    return [item + separator for item in items[:-1]] + items[-1:]


# Not "seed: " or "please help": those are list words, which rightly join the run.
SURROUNDINGS = st.sampled_from(["", "我的助记词：", "帮我看看 ", "备份词是\n", "my words: "])
ENDINGS = st.sampled_from(["", "\n谢谢", "，这是助记词", "。"])


@PROPERTY
@given(
    words=english_phrases(),
    separator=st.sampled_from(WORD_SEPARATORS),
    numbering=st.sampled_from(NUMBERINGS),
    before=SURROUNDINGS,
    after=ENDINGS,
)
def test_generated_english_phrases_are_redacted(
    words: list[str], separator: str, numbering: str, before: str, after: str
) -> None:
    body = "".join(numbered(words, separator, numbering))
    result = scan(f"{before}{body}{after}")
    # The first word's number stays in front: the phrase starts at its first word.
    assert result.text == f"{before}{numbering.format(1)}{REDACTED}{after}"
    assert result.kinds == ("mnemonic",)


@PROPERTY
@given(
    words=english_phrases(),
    separator=st.sampled_from(WORD_SEPARATORS),
    numbering=st.sampled_from(NUMBERINGS),
    data=st.data(),
)
def test_generated_phrase_sent_in_two_or_three_messages_is_redacted_in_each(
    words: list[str], separator: str, numbering: str, data: st.DataObject
) -> None:
    parts = data.draw(st.sampled_from([2, 3]))
    cuts = sorted(
        data.draw(
            st.lists(
                st.integers(1, len(words) - 1), min_size=parts - 1, max_size=parts - 1, unique=True
            )
        )
    )
    bounds = [0, *cuts, len(words)]
    messages = [
        "".join(numbered(words[low:high], separator, numbering, first=low + 1)).strip()
        for low, high in pairwise(bounds)
    ]
    older = data.draw(st.sampled_from(CHINESE_CONTEXT))
    results = scan_recent([older, *messages])
    assert results[0].text == older
    assert results[1].text == numbering.format(1).lstrip() + REDACTED
    assert [result.text for result in results[2:]] == [REDACTED] * (parts - 1)
    assert all(result.kinds == ("mnemonic",) for result in results[1:])


PROSE_WORDS = ["the", "my", "to", "and", "I", "is", "was", "for", "it", "of", "in", "not", "with"]


@PROPERTY
@given(
    chunks=st.lists(
        st.lists(st.sampled_from(ENGLISH), min_size=1, max_size=11), min_size=2, max_size=6
    ),
    separator=st.sampled_from([" ", ", ", " - ", "\n"]),
    glue=st.lists(st.sampled_from(PROSE_WORDS), min_size=5, max_size=5),
)
def test_list_words_with_ordinary_words_between_are_not_a_phrase(
    chunks: list[list[str]], separator: str, glue: list[str]
) -> None:
    """English prose is full of list words (able, about, account): never 12 in a row."""
    assert not set(PROSE_WORDS) & set(ENGLISH)
    parts = [separator.join(chunk) for chunk in chunks]
    text = parts[0] + "".join(
        f" {word} {part}" for word, part in zip(glue, parts[1:], strict=False)
    )
    assert scan(text).findings == ()


CHINESE_KEYWORDS = [
    "助记词",
    "助記詞",
    "种子短语",
    "種子短語",
    "种子词",
    "恢复短语",
    "恢復短語",
    "恢复词",
    "备份词",
    "備份詞",
    "备份短语",
]
CONNECTIVES = ["：", ":", " ", "是", "为", "就是", "分别是", "如下：", "是：\n"]


@PROPERTY
@given(
    count=st.sampled_from(PHRASE_LENGTHS),
    data=st.data(),
    keyword=st.sampled_from(CHINESE_KEYWORDS),
    connective=st.sampled_from(CONNECTIVES),
    before=st.sampled_from(["", "我的", "这是我的", "帮我看下"]),
    after=st.sampled_from(["", "，帮我看看", "。", "\n谢谢"]),
)
def test_generated_contiguous_chinese_phrases_after_a_keyword_are_redacted(
    *,
    count: int,
    data: st.DataObject,
    keyword: str,
    connective: str,
    before: str,
    after: str,
) -> None:
    phrase = "".join(data.draw(st.lists(st.sampled_from(CHINESE), min_size=count, max_size=count)))
    # Known limits of a phrase without separators: one that happens to hold a common word
    # (about 1 in 300) reads as prose; one that holds a keyword is cut there.
    assume(not scanner._is_prose(phrase) and not scanner._MNEMONIC_CONTEXT.search(phrase))
    prefix = f"{before}{keyword}{connective}"
    assert scan(f"{prefix}{phrase}{after}").text == f"{prefix}{REDACTED}{after}"
    # The same phrase sent on its own right after the message that names it.
    alone = data.draw(st.sampled_from(["", "。", "\n", " "]))
    assert [result.text for result in scan_recent([prefix, phrase + alone])] == [
        prefix,
        REDACTED + alone,
    ]


@PROPERTY
@given(
    count=st.sampled_from(PHRASE_LENGTHS),
    data=st.data(),
    separator=st.sampled_from(WORD_SEPARATORS),
    numbering=st.sampled_from(NUMBERINGS),
    keyword=st.sampled_from(["", *CHINESE_KEYWORDS]),
)
def test_generated_separated_chinese_phrases_are_redacted(
    count: int, data: st.DataObject, separator: str, numbering: str, keyword: str
) -> None:
    words = data.draw(
        st.lists(st.sampled_from(CHINESE), min_size=count, max_size=count, unique=True)
    )
    body = "".join(numbered(words, separator, numbering))
    prefix = f"{keyword}：" if keyword else ""
    assert scan(f"{prefix}{body}").text == f"{prefix}{numbering.format(1)}{REDACTED}"


# --- Everyday text stays as it is -----------------------------------------------------------

dates = st.builds(
    lambda year, month, day, style: style.format(year, month, day),
    st.integers(2000, 2039),
    st.integers(1, 12),
    st.integers(1, 28),
    st.sampled_from(
        ["{}-{:02d}-{:02d}", "{}.{:02d}.{:02d}", "{}/{}/{}", "{}年{}月{}日", "{}{:02d}{:02d}"]
    ),
)
times = st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59))
amounts = st.one_of(
    st.builds("{}元".format, st.integers(1, 10**7)),
    st.builds("¥{:,.2f}".format, st.floats(0.01, 10**7)),
    st.builds("￥{}".format, st.integers(1, 10**6)),
    st.builds("{}块".format, st.integers(1, 10**5)),
)


@st.composite
def phones(draw: st.DrawFn) -> str:
    """Mainland mobile numbers: 138 0013 8000, +86-138-0013-8000, 8613800138000."""
    head = draw(st.sampled_from(["138", "139", "150", "186", "177", "199"]))
    rest = draw(st.text(string.digits, min_size=8, max_size=8))
    separator = draw(st.sampled_from(["", " ", "-", "\u3000"]))
    countries = ["", "+86", "86", "0086"] if not separator else ["", "+86 ", f"+86{separator}"]
    return draw(st.sampled_from(countries)) + separator.join([head, rest[:4], rest[4:]])


tickets = st.builds(
    "T{}{:02d}{:02d}-{:04d}".format,
    st.integers(2024, 2030),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 9999),
)
orders = st.builds(
    lambda label, date, tail: f"{label}{date}{tail}",
    st.sampled_from(["订单号", "订单号：", "单号 ", "流水号", "交易号:", ""]),
    st.builds(
        "{}{:02d}{:02d}".format, st.integers(2020, 2030), st.integers(1, 12), st.integers(1, 28)
    ),
    st.text(string.digits, min_size=4, max_size=11),
)
everyday_items = st.one_of(dates, times, amounts, phones(), tickets, orders)


@PROPERTY
@given(
    sentences=st.lists(st.sampled_from(REAL_TEXTS), min_size=1, max_size=3),
    items=st.lists(everyday_items, min_size=1, max_size=3),
    wide=st.booleans(),
)
def test_generated_everyday_text_is_unchanged(
    sentences: list[str], items: list[str], wide: bool
) -> None:
    pieces = [full_width(item) if wide else item for item in items]
    text = "。".join(part for pair in zip(sentences, pieces, strict=False) for part in pair)
    result = scan(text)
    assert result.findings == ()
    assert result.text == text
    assert all(not found.found for found in scan_recent([*sentences, text]))


def test_real_questions_after_a_message_naming_the_phrase_are_not_phrases() -> None:
    """我的助记词是 / <an ordinary question>: the question is still a question."""
    flagged = [
        text
        for announcement in ("我的助记词是", "助记词：", "seed phrase:")
        for text in REAL_TEXTS
        if scan_recent([announcement, text])[1].found
    ]
    assert flagged == []


def test_consecutive_real_questions_are_not_a_phrase() -> None:
    flagged = [
        window
        for index in range(len(REAL_TEXTS) - 2)
        for window in (REAL_TEXTS[index : index + 2], REAL_TEXTS[index : index + 3])
        if any(result.found for result in scan_recent(window))
    ]
    assert flagged == []


def test_an_order_number_that_passes_the_id_checksum_is_not_an_id() -> None:
    """No province starts with 20, and 0831 is no birth year: 订单号202008083141374871."""
    assert scanner.id_checksum_valid("202008083141374871")
    assert scan("订单号202008083141374871").findings == ()


@pytest.mark.parametrize(
    "text",
    [
        "138 0013 8000 2025-11-21",  # 15 digits in groups that pass Luhn: a phone, then a date
        "+86 138 0013 8000",
        "0086 138 0013 8002",  # passes Luhn
        "订单号 2026112112345672",  # passes Luhn
        "2026112112345672",
        "4111111111111111.50",  # an amount, however large
        "1月 2月 3月 4月 5月 6月 7月 8月 9月 10月 11月 12月",
    ],
)
def test_numbers_that_belong_to_something_else_are_kept(text: str) -> None:
    assert scan(text).findings == ()


# --- scan_recent: shape ---------------------------------------------------------------------


def test_scan_recent_returns_one_result_per_message() -> None:
    assert scan_recent([]) == []
    assert scan_recent(["支付密码是123456"]) == [scan("支付密码是123456")]
    results = scan_recent(["你好", "验证码 482913", "谢谢"])
    assert [result.text for result in results] == ["你好", f"验证码 {REDACTED}", "谢谢"]


def test_scan_recent_spans_point_into_each_message() -> None:
    first = "１. " + "  ".join(full_width(word) for word in WORDS_12[:5])
    second = " ".join(WORDS_12[5:]) + " 谢谢"
    results = scan_recent([first, second])
    assert results[0].findings == (Finding(SecretKind.MNEMONIC, 3, len(first)),)
    assert results[1].findings == (Finding(SecretKind.MNEMONIC, 0, len(second) - 3),)
    assert [result.text for result in results] == [f"１. {REDACTED}", f"{REDACTED} 谢谢"]


def test_scan_recent_on_already_redacted_messages_finds_nothing_new() -> None:
    """The caller passes what it stored: earlier redactions break any run."""
    results = scan_recent([" ".join(WORDS_12[:6]), " ".join(WORDS_12[6:])])
    again = scan_recent([result.text for result in results])
    assert [result.text for result in again] == [REDACTED, REDACTED]
    assert not any(result.found for result in again)


def test_eleven_words_over_two_messages_are_not_a_phrase() -> None:
    assert not any(r.found for r in scan_recent([" ".join(WORDS_12[:5]), " ".join(WORDS_12[5:11])]))


def test_words_broken_by_an_ordinary_message_are_not_a_phrase() -> None:
    messages = [" ".join(WORDS_12[:6]), "ok thanks", " ".join(WORDS_12[6:])]
    assert not any(result.found for result in scan_recent(messages))


def test_a_repeated_word_list_is_not_a_phrase() -> None:
    """1月 2月 … 12月: numbered list characters, but the same one each time."""
    assert scan(" ".join(f"{month}月" for month in range(1, 13))).findings == ()
    assert scan("、".join(["able"] * 12)).findings == ()
