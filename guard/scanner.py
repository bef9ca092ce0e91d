"""Sensitive-data guard: finds secrets that users paste into the chat.

Kefu never needs a password, an SMS code, a CVV or a recovery phrase, yet users send
them anyway. `scan` finds them so that Kefu can warn the user (`WARNING`) and store only
the redacted text, where each secret is replaced by `REDACTED`. `scan_recent` does the
same over the user's last few messages, for a phrase sent in parts.

The guard looks at the NFKC form of the text, character by character (full-width digits,
letters, spaces and punctuation typed by a Chinese input method become ASCII; invisible
format characters such as U+200B are dropped), and keeps a map back to the original, so
that the redaction lands on the characters the user typed.

What counts as a secret:

- a BIP-39 recovery phrase: 12 or more English list words, or 12 or more single Chinese
  list characters, in a row, with nothing between two words but separators (spaces,
  punctuation such as , - / ; | but not 。 ! ?) and at most one 1-2 digit number, the
  numbering that wallet apps show: "1." "2)" "(3)" "#4" "5-"; at least 10 distinct words,
  so 1月 2月 … 12月 is not a phrase. A contiguous run of exactly 12/15/18/21/24 Chinese
  list characters only when the message talks about a phrase (助记词, 种子词/种子短语,
  恢复词/恢复短语, 备份词/备份短语, mnemonic, seed, recovery phrase), since ordinary
  Chinese is mostly made of list characters;
- a 6-digit number next to 密码 / PIN, a 4-8 digit number next to 验证码 / code / OTP,
  a 3-4 digit number next to CVV / 安全码 ("next to": at most 6 characters apart);
- a password typed out after its label (密码是 / 密码: / password is …, or letters right
  after 密码): letters with a digit or symbol (6-40 characters), or 4-20 digits that are
  no amount or year; a card's expiry after its label (有效期 09/27, exp 11/2028) in a
  message about a card;
- written out after its label: a code or payment password one digit at a time (验证码是
  7 3 9 2 1 5, 7-3-9-2-1-5), 12-24 words of any kind after 助记词 / seed phrase, 64 hex
  digits after 私钥 / private key; a WIF private key anywhere;
- a bank card number of 13-19 digits that passes the Luhn check (or that the user calls
  one: 卡号 / 银行卡 / card number, a mistyped digit and all), written in one piece or
  in groups of 3+ digits joined by one kind of separator (1-3 spaces, - . _ or a dash,
  each optionally spaced); also when glued to letters (VISA4111…), then only with the
  prefix of a card network;
- a mainland resident ID number: province code, birth year and month in place, and a
  valid ISO 7064 MOD 11-2 check character (any check character after 身份证号 / ID).

Precision matters both ways: a miss can cost the user their money, a false alarm hides an
ordinary question from the bot. So digits are never taken out of a longer digit run, and a
number that belongs to something else (尾号1234, 订单123456, 500元, 2026-11-21,
T20261121-0042, 138 0013 8000, an order number starting with a date) is not read as a
code or a card.

This module is pure standard library: the Rasa server (Python 3.10, no extra packages)
imports it as well as the 3.11 app.

The word lists in `resources/` are the official BIP-39 English and Chinese (simplified)
lists, copied unchanged from Trezor's python-mnemonic 0.21 (`mnemonic/wordlist/`, MIT
licence, https://github.com/trezor/python-mnemonic).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path

REDACTED = "〔已隐藏〕"
WARNING = "请勿向任何人（包括客服）提供密码、验证码或助记词。"

RESOURCES = Path(__file__).parent / "resources"


# Not StrEnum: the Rasa server runs Python 3.10.
class SecretKind(str, Enum):  # noqa: UP042
    MNEMONIC = "mnemonic"
    PAYMENT_PASSWORD = "payment_password"
    SMS_CODE = "sms_code"
    CARD_NUMBER = "card_number"
    CVV = "cvv"
    ID_NUMBER = "id_number"
    # Typed out after a label: 「密码是Abc@12345」「password: hunter22」.
    PASSWORD = "password"
    # A card's expiry after its label (有效期09/27): with the number, it is card data.
    CARD_EXPIRY = "card_expiry"
    # A wallet's private key: WIF (5… / K… / L…) or 64 hex digits after 私钥 / private key.
    PRIVATE_KEY = "private_key"


# What the user is told was hidden, by kind, in this order. The general WARNING speaks of
# passwords, codes and mnemonics only: card, identity and key data get their own notice,
# which names everything the message had hidden.
_NAMED = {
    SecretKind.CARD_NUMBER: "银行卡号",
    SecretKind.CARD_EXPIRY: "卡的有效期",
    SecretKind.CVV: "卡的安全码（CVV）",
    SecretKind.ID_NUMBER: "身份证号",
    SecretKind.PRIVATE_KEY: "私钥",
    SecretKind.MNEMONIC: "助记词",
    SecretKind.PAYMENT_PASSWORD: "支付密码",
    SecretKind.PASSWORD: "密码",
    SecretKind.SMS_CODE: "验证码",
}
# After 「银行卡号」 the card's other data need no 「卡的」 again.
_AFTER_THE_CARD = {"卡的有效期": "有效期", "卡的安全码（CVV）": "安全码（CVV）"}
_CARD_DATA = frozenset({SecretKind.CARD_NUMBER, SecretKind.CARD_EXPIRY, SecretKind.CVV})
_NEEDS_OWN_NOTICE = _CARD_DATA | {SecretKind.ID_NUMBER, SecretKind.PRIVATE_KEY}
_CARD_ADVICE = (
    "在这里咨询不需要提供完整的卡号或身份证号；密码、验证码、卡的安全码（CVV）和助记词"
    "请勿告诉任何人，真正的客服也不会向您索要。"
)
_KEY_ADVICE = (
    "私钥和助记词等同于钱包里的资产，请勿发给任何人，真正的客服也不会向您索要；"
    "如果已经发给了别人，请立即联系人工客服。"
)


def hidden_notice(kinds: Iterable[str], *, alone: bool) -> str | None:
    """What to tell a user whose message had card, identity or key data hidden (kinds as
    SecretKind values); None when only passwords, codes or mnemonics were, which the
    general WARNING names. ``alone``: nothing else of the message is answered."""
    found = set()
    for kind in kinds:
        try:
            found.add(SecretKind(kind))
        except ValueError:
            continue
    if not found & _NEEDS_OWN_NOTICE:
        return None
    named = [name for kind, name in _NAMED.items() if kind in found]
    if "银行卡号" in named:
        named = [_AFTER_THE_CARD.get(name, name) for name in named]
    listed = named[0] if len(named) == 1 else "、".join(named[:-1]) + "和" + named[-1]
    advice = _KEY_ADVICE if SecretKind.PRIVATE_KEY in found else ""
    if found & _CARD_DATA or SecretKind.ID_NUMBER in found:
        advice = _CARD_ADVICE + advice
    notice = f"您刚才发送的{listed}已被隐藏，不会被保存。{advice}"
    return notice + ("如有疑问，请直接描述遇到的问题。" if alone else "")


@dataclass(frozen=True)
class Finding:
    kind: SecretKind
    start: int  # span in the original text
    end: int


@dataclass(frozen=True)
class GuardResult:
    text: str
    findings: tuple[Finding, ...]

    @property
    def found(self) -> bool:
        return bool(self.findings)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Distinct kind values, in order of first appearance."""
        return tuple(dict.fromkeys(finding.kind.value for finding in self.findings))


@cache
def _wordlist(name: str) -> frozenset[str]:
    lines = (RESOURCES / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip())


def _english_words() -> frozenset[str]:
    return _wordlist("bip39_english.txt")


def _chinese_words() -> frozenset[str]:
    return _wordlist("bip39_chinese_simplified.txt")


# --- Normalisation ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Folded:
    """The text the finders read, with the way back to the text the user typed."""

    text: str
    # origin[i]: index in the original text of the character that text[i] comes from.
    origin: Sequence[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind text[start:end] (end > start), all of them."""
        return self.origin[start], self.origin[end - 1] + 1


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    # Format characters (zero-width space, joiners, soft hyphen) are invisible: a secret
    # with one inside looks whole to the reader, so it must look whole to the guard.
    if unicodedata.category(char) == "Cf":
        return ""
    return unicodedata.normalize("NFKC", char)


def _fold(text: str) -> _Folded:
    """NFKC, one character at a time, so that every position maps back (㎏ → kg, … → ...)."""
    if text.isascii():
        return _Folded(text, range(len(text)))
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return _Folded("".join(parts), origin)


# --- Recovery phrases -------------------------------------------------------------------

MIN_MNEMONIC_WORDS = 12
VALID_MNEMONIC_LENGTHS = frozenset({12, 15, 18, 21, 24})
# A real phrase rarely repeats a word; 1月 2月 … 12月 repeats one all the time.
MAX_REPEATED_WORDS = 2
MAX_WORD_GAP = 24

_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Between two words of a phrase: anything but a letter, a CJK character or the end of a
# sentence, with at most one 1-2 digit number, the numbering that wallet apps show next to
# each word ("1." "2)" "(3)" "#4" "5-"), which users copy along with the phrase.
_GAP_CHAR = r"(?:[^\w。!?]|_)"
_WORD_GAP = re.compile(rf"{_GAP_CHAR}*(?:\d{{1,2}}{_GAP_CHAR}*)?")
_MNEMONIC_CONTEXT = re.compile(
    r"助[记記](?:[词詞]|短[语語])|[种種]子(?:[词詞]|短[语語])|恢[复復](?:[词詞]|短[语語])"
    r"|[备備]份(?:[词詞]|短[语語])"
    r"|(?<![A-Za-z])(?:mnemonic|seed|(?:recovery|backup|secret)\s*(?:phrase|words?))(?![A-Za-z])",
    re.IGNORECASE,
)
# "我的助记词是……": the connective belongs to the sentence, not to the phrase.
_CONNECTIVES = ("分别是", "就是", "如下", "是", "为")
# A message that ends by naming the phrase ("我的助记词是：", "seed phrase:"): the next
# message may be the phrase itself.
_ANNOUNCEMENT = re.compile(
    rf"(?:{_MNEMONIC_CONTEXT.pattern})(?:{'|'.join(_CONNECTIVES)})?[\W_]*$", re.IGNORECASE
)
# A message without the spaces and punctuation around it.
_INNER_TEXT = re.compile(r"[^\W_](?:.*[^\W_])?", re.DOTALL)
# Ordinary Chinese is mostly made of list characters, so a contiguous run is only taken
# for a phrase when it holds none of these common words. A random phrase holds one of
# them about once in 300; a question such as 助记词不小心被别人看到了怎么办 almost always does.
_PROSE_WORD_LIST = """
        怎么 什么 为什么 如何 怎样 多少 哪里 哪儿 哪个 几点 是不是 有没有 能不能 可不可以
        会不会 要不要 可以 能否 是否 还能 还是 还没 还在 但是 因为 所以 如果 而且 或者 然后
        已经 一直 一般 所有 其他 其中 每个 每次 好几 现在 今天 昨天 明天 晚上 之后 以后 之前
        时候 的话 一下 这个 那个 我的 我们 你们 他们 别人 对方 没有 不是 不能 不会 不到 记得
        了吗 让我 给我 帮我 原因 问题 时间 需要 应该 知道 发现 出现 收到 找到 看到 输入 点击
        打开 设置 修改 使用 下载 安装 上传 提交 处理 完成 确认 操作 步骤 可能 直接 自动
        客服 钱包 帐户 帐号 银行 信用卡 充值 提现 转帐 付款 收款 支付 密码 验证 手机 余额
        金额 工单 订单 登录 登陆 注册 注销 冻结 解冻 恢复 截图 安全 交易 商家 服务 费用 手续费
        汇率 微信 系统 提示 显示 失败 成功 退款 限额 官方 平台 渠道 审核 明细 链接 身份证 应用
"""
_PROSE_WORDS = re.compile("|".join(_PROSE_WORD_LIST.split()))
_SENTENCE_PARTICLES = "吗呢吧啊呀"


def _is_prose(run: str) -> bool:
    return bool(_PROSE_WORDS.search(run)) or run[-1] in _SENTENCE_PARTICLES


def _joined_by_separators(text: str, start: int, end: int) -> bool:
    return end - start <= MAX_WORD_GAP and _WORD_GAP.fullmatch(text, start, end) is not None


def _separated_runs(
    text: str, token: re.Pattern[str], accept: Callable[[str], bool]
) -> Iterator[tuple[int, int]]:
    """Spans of >= 12 accepted tokens in a row, each pair joined only by separators."""
    start = end = 0
    words: list[str] = []

    def is_phrase() -> bool:
        return (
            len(words) >= MIN_MNEMONIC_WORDS
            and len(set(words)) >= MIN_MNEMONIC_WORDS - MAX_REPEATED_WORDS
        )

    for match in token.finditer(text):
        word = match.group().lower()
        if not accept(word):
            if is_phrase():
                yield start, end
            words = []
            continue
        if not words or not _joined_by_separators(text, end, match.start()):
            if is_phrase():
                yield start, end
            start, words = match.start(), []
        words.append(word)
        end = match.end()
    if is_phrase():
        yield start, end


def _contiguous_chinese_runs(text: str) -> Iterator[tuple[int, int]]:
    """Unseparated Chinese phrases, only in a message that talks about a recovery phrase."""
    context = list(_MNEMONIC_CONTEXT.finditer(text))
    if not context:
        return
    words = _chinese_words()
    # The keyword itself (助记词) is made of list characters: it must not lengthen a run.
    in_keyword: set[int] = set()
    for match in context:
        in_keyword.update(range(match.start(), match.end()))
    runs: list[tuple[int, int]] = []
    start = None
    for index, char in enumerate(text):
        member = char in words and index not in in_keyword
        if member and start is None:
            start = index
        elif not member and start is not None:
            runs.append((start, index))
            start = None
    if start is not None:
        runs.append((start, len(text)))
    for run_start, run_end in runs:
        # A phrase pasted without separators still stands apart from the sentence around it:
        # 陌|生网页发来的安装包和所谓 is the tail of a longer sentence, not a phrase.
        if any(
            0 <= index < len(text)
            and index not in in_keyword
            and _CJK_RUN.match(text[index])
            and text[index] not in words
            for index in (run_start - 1, run_end)
        ):
            continue
        starts = [
            run_start + len(connective)
            for connective in _CONNECTIVES
            if text.startswith(connective, run_start)
        ]
        for start in [*starts, run_start]:
            if _is_contiguous_phrase(text[start:run_end]):
                yield start, run_end
                break


def _is_contiguous_phrase(run: str) -> bool:
    return len(run) in VALID_MNEMONIC_LENGTHS and not _is_prose(run)


def _separated_mnemonics(text: str) -> Iterator[tuple[int, int]]:
    english = _english_words()
    chinese = _chinese_words()
    yield from _separated_runs(text, _LATIN_WORD, english.__contains__)
    yield from _separated_runs(text, _CJK_RUN, lambda run: len(run) == 1 and run in chinese)


def _mnemonics(text: str) -> Iterator[Finding]:
    for start, end in [*_separated_mnemonics(text), *_contiguous_chinese_runs(text)]:
        yield Finding(SecretKind.MNEMONIC, start, end)


# --- Numbers next to a keyword ----------------------------------------------------------

# Latin keywords must stand alone: "pin" not inside "ping", "code" not inside "barcode".
_KEYWORDS: dict[SecretKind, re.Pattern[str]] = {
    SecretKind.PAYMENT_PASSWORD: re.compile(
        r"密[码碼马]|(?<![A-Za-z])(?:pin|password|passcode|pwd)(?![A-Za-z])", re.IGNORECASE
    ),
    SecretKind.SMS_CODE: re.compile(
        r"[验驗][证證][码碼]|[校][验驗][码碼]|[动動][态態][码碼]|短信[码碼]|[简簡][讯訊][码碼]"
        r"|(?<![A-Za-z])(?:code|otp)(?![A-Za-z])",
        re.IGNORECASE,
    ),
    SecretKind.CVV: re.compile(
        r"安全[码碼]|(?:卡背[面后後]?|背[面后後])的?(?:[后後末]|最[后後])?[三3]位"
        r"|(?<![A-Za-z])(?:cvv|cvc|cvn)2?(?![A-Za-z])",
        re.IGNORECASE,
    ),
}
_DIGIT_COUNTS: dict[SecretKind, tuple[int, int]] = {
    SecretKind.PAYMENT_PASSWORD: (6, 6),
    SecretKind.SMS_CODE: (4, 8),
    SecretKind.CVV: (3, 4),
}
MAX_KEYWORD_GAP = 6
_KEYWORD_REACH = MAX_KEYWORD_GAP + 16  # longer than any keyword

_NUMBER = re.compile(r"(?<!\d)\d+(?!\d)")
# A keyword does not reach a number across another number, the end of a sentence or an
# earlier redaction (which keeps `redact` idempotent).
_GAP_BREAK = re.compile(r"[\d。！？!?；;〔〕]")
# A number directly labelled by one of these is not a secret: 尾号1234, 订单123456, 充值500000.
_OTHER_LABEL = re.compile(
    r"尾[号號数數]|[后後末][四4]位|[订訂][单單]|[单單][号號]|工[单單]|手[机機]|[电電]话|[号號][码碼]"
    r"|卡[号號]|[账帐賬帳][号號户戶]|[编編][号號]|工[号號]|[金余餘]额|[金余餘]額|[额額]度|限[额額]"
    r"|充值|提[现現]|[转轉][账帐賬帳了]|付款|收款|[退到][款账帐賬帳]"
)
_LABEL_REACH = 8
# Amounts, durations, counts and dates: 500元, 60秒, 3次, 2026年.
_UNIT_AFTER = re.compile(
    r"\s?(?:元|[块塊]|[圆圓]|[万萬]|千|百|角|毛|美元|刀|次|秒|分|小[时時]|天|[周週]|[个個]|位"
    r"|[笔筆]|[张張]|[条條]|年|月|日|[号號]|[岁歲]|%|％)"
)
_CURRENCY_BEFORE = re.compile(r"[¥￥$]\s?$")
_CHAIN_MARKS = "-/.:"


def _is_plain_number(text: str, start: int, end: int, keyword_ends: list[int]) -> bool:
    """False for digits that belong to something else: a date, a ticket, an amount, a label."""
    before = text[start - 1] if start else ""
    if before.isascii() and before.isalpha() and not _ends_in(keyword_ends, start - 1, start):
        return False  # part of an identifier such as T20261121
    if before in _CHAIN_MARKS and start >= 2 and text[start - 2].isdigit():
        return False  # 2026-11-21, T20261121-0042, 12.50
    if end + 1 < len(text) and text[end] in _CHAIN_MARKS and text[end + 1].isdigit():
        return False
    if _CURRENCY_BEFORE.search(text, max(0, start - 2), start):
        return False
    if _UNIT_AFTER.match(text, end):
        return False
    window_start = max(0, start - _LABEL_REACH)
    label_end = max((m.end() for m in _OTHER_LABEL.finditer(text, window_start, start)), default=-1)
    if label_end < 0 or _GAP_BREAK.search(text, label_end, start):
        return True
    # The nearer label wins: 手机验证码1234 is a code, 验证码发到尾号1234 is not.
    return _ends_in(keyword_ends, label_end, start)


def _ends_in(keyword_ends: list[int], low: int, high: int) -> bool:
    """True when a keyword ends in (low, high]; keyword_ends is sorted."""
    return bisect_right(keyword_ends, high) > bisect_right(keyword_ends, low)


def _gap(text: str, start: int, end: int, keyword: re.Match[str]) -> int | None:
    """Characters between the number and the keyword, or None when it is out of reach."""
    if keyword.end() <= start:
        gap_start, gap_end = keyword.end(), start
    elif end <= keyword.start():
        gap_start, gap_end = end, keyword.start()
    else:
        return None
    if gap_end - gap_start > MAX_KEYWORD_GAP or _GAP_BREAK.search(text, gap_start, gap_end):
        return None
    return gap_end - gap_start


def _keyword_numbers(text: str) -> Iterator[Finding]:
    keywords = {kind: list(pattern.finditer(text)) for kind, pattern in _KEYWORDS.items()}
    if not any(keywords.values()):
        return
    keyword_ends = sorted(match.end() for matches in keywords.values() for match in matches)
    keyword_starts = {
        kind: [match.start() for match in matches] for kind, matches in keywords.items()
    }
    for number in _NUMBER.finditer(text):
        start, end = number.span()
        if not _is_plain_number(text, start, end, keyword_ends):
            continue
        reach: dict[SecretKind, int] = {}
        for kind, matches in keywords.items():
            low, high = _DIGIT_COUNTS[kind]
            if low <= end - start <= high:
                # Only keywords that start close enough can reach (long texts stay linear).
                first = bisect_left(keyword_starts[kind], start - _KEYWORD_REACH)
                last = bisect_right(keyword_starts[kind], end + MAX_KEYWORD_GAP)
                gaps = [_gap(text, start, end, match) for match in matches[first:last]]
                reachable = [gap for gap in gaps if gap is not None]
                if reachable:
                    reach[kind] = min(reachable)
        # The nearest keyword names the number: 验证码123456 密码654321 is a code, then a password.
        for kind, gap in reach.items():
            if gap == min(reach.values()):
                yield Finding(kind, start, end)


# --- Passwords typed out after a label ---------------------------------------------------

# 「密码是」「登录密码：」「password is」: what follows up to a space or a Chinese character.
_PASSWORD_LABEL = re.compile(
    r"密[码碼马]\s*(?:(?:是|为|為)\s*[:=]?|[:=])\s*"
    # 「密码Qq@2024abc」: the value right after the word, nothing between.
    r"|密[码碼马](?=[A-Za-z])"
    r"|(?<![A-Za-z])(?:password|passcode|pwd|pin)\s*(?:is\s+|:\s*|=\s*)",
    re.IGNORECASE,
)
_PASSWORD_TOKEN = re.compile(r"[!-~]+")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
_CLAUSE_CLOSERS = ",;:)]}'\""
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT_OR_SYMBOL = re.compile(r"[\d!-/:-@\[-`{-~]")
# A quantity with its unit, not a password: 123456kg, 500mb.
_MEASURE = re.compile(
    r"\d+(?:\.\d+)?(?:kg|g|km|m|cm|mm|ml|l|kb|mb|gb|tb|ms|s|h|min|k|w|rmb|usd|cny|hkd)",
    re.IGNORECASE,
)
MIN_PASSWORD = 6
MAX_PASSWORD = 40
_DIGITS_ONLY_PASSWORD = (4, 20)


def _labelled_passwords(text: str) -> Iterator[Finding]:
    """A password written after its label: letters with digits or symbols (「Abc@12345」;
    「password is wrong」 is no password), or digits that are no amount or year."""
    for label in _PASSWORD_LABEL.finditer(text):
        token = _PASSWORD_TOKEN.match(text, label.end())
        if token is None:
            continue
        value = token.group().rstrip(_TRAILING_PUNCTUATION)
        # The value decides whether it is a password. The redaction keeps a comma or a
        # bracket that closes the clause (「Abc@12345，帮我登一下」) but hides an ending
        # 「!」「?」「.」 with it: 「pwd: qwerty2024! 登不进去」 may end in its 「!」.
        start = token.start()
        end = start + len(token.group().rstrip(_CLAUSE_CLOSERS))
        if value.isdigit():
            # Six digits are the payment password's (_keyword_numbers); 2026年 is a year.
            low, high = _DIGITS_ONLY_PASSWORD
            after = start + len(value)
            if low <= len(value) <= high and len(value) != 6 and not _UNIT_AFTER.match(text, after):
                yield Finding(SecretKind.PASSWORD, start, end)
        elif (
            MIN_PASSWORD <= len(value) <= MAX_PASSWORD
            and not _MEASURE.fullmatch(value)
            and _LETTER.search(value)
            and _DIGIT_OR_SYMBOL.search(value)
        ):
            yield Finding(SecretKind.PASSWORD, start, end)


_EXPIRY = re.compile(
    r"(?:有效期|有效日期|到期日?|(?<![A-Za-z])(?:exp(?:iry|iration)?(?: date)?|valid thru))"
    r"(?:至|到|是|为|:)?\s*((?:0[1-9]|1[0-2])\s?/\s?(?:\d{2}|20\d{2}))(?!\d)",
    re.IGNORECASE,
)


# An expiry is a card's only in a message about a card (「优惠券有效期到12/31吗」 is not).
_CARD_CONTEXT = re.compile(
    r"卡|背[面后後]|安全[码碼]|(?<![A-Za-z])(?:card|cvv|cvc|visa|master(?:card)?)(?![A-Za-z])",
    re.IGNORECASE,
)


def _card_expiries(text: str) -> Iterator[Finding]:
    if not _CARD_CONTEXT.search(text):
        return
    for found in _EXPIRY.finditer(text):
        yield Finding(SecretKind.CARD_EXPIRY, *found.span(1))


# --- Written out after their label: spaced codes, phrases, private keys ---------------

_CODE_WORD = _KEYWORDS[SecretKind.SMS_CODE]
# A label and what joins it to its value: 「验证码是」「code:」「私钥 」. Each optional part
# carries its own spaces, so no two quantifiers compete for the same spaces.
_LABEL_TAIL = r"\s*(?:(?:是|为|為|:)\s*)?"
# 「验证码是7 3 9 2 1 5」「code: 7-3-9-2-1-5」: one digit at a time, each after a space or a
# dash (a code read out, or typed to dodge a filter); the whole run, however long.
_SPACED_RUN = r"(?:\d[ \-]){3,}\d"
_SPACED_CODE = re.compile(
    rf"(?:(?P<code>{_CODE_WORD.pattern})|(?P<password>密[码碼马]|(?<![A-Za-z])pin(?![A-Za-z])))"
    rf"{_LABEL_TAIL}(?P<digits>{_SPACED_RUN})(?![\d])",
    re.IGNORECASE,
)
# In a message about a code, such a run is one wherever it stands: 「客服你要我的验证码吗
# 我收到的是 7 3 9 2 1 5」. Dots are left out: 1.2.3.4 is a version.
_SPACED_DIGITS = re.compile(rf"(?<![\d\-]){_SPACED_RUN}(?![\d]|-\d)")
# 「我收到的码是七三五一九零」: a code read out in Chinese numerals (两 and 幺 are 2 and 1).
_CHINESE_NUMERALS = "零〇一二三四五六七八九两幺"
_CHINESE_DIGITS = re.compile(
    rf"(?<![{_CHINESE_NUMERALS}])[{_CHINESE_NUMERALS}]{{4,8}}(?![{_CHINESE_NUMERALS}])"
)
_CODE_MENTION = re.compile(rf"{_CODE_WORD.pattern}|[码碼]是|的[码碼]", re.IGNORECASE)
# 「我的助记词是 apple banana … lemon」「助记词我发你 1.abandon 2.ability …」: after its label
# (a few words of Chinese may come between), 12-24 words in a row, numbered or not, all but
# one or two on the list: one misspelt word must not leave the rest in clear, and an
# English sentence after 「seed phrase」 is no phrase.
_NUMBERING = r"(?:\d{1,2}[.)、:\-]\s*)"
_LABELLED_PHRASE = re.compile(
    rf"(?:{_MNEMONIC_CONTEXT.pattern})(?:\s*(?:phrase|words?))?"
    r"\s*(?:[^A-Za-z\s\d。！？!?]{1,8}\s*)?(?:(?:是|为|為|:|如下)\s*)?"
    rf"{_NUMBERING}?(?P<phrase>[A-Za-z]{{2,12}}(?:(?:[\s,，、;|]+{_NUMBERING}?|{_NUMBERING})"
    r"[A-Za-z]{2,12}){11,23})(?![A-Za-z])",
    re.IGNORECASE,
)
# A misspelt word or two, never an English sentence: 「seed phrase the abandon …」 holds
# words a phrase never has.
MAX_OFF_LIST_WORDS = 2
_ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "your",
        "our",
        "his",
        "her",
        "its",
        "their",
        "me",
        "you",
        "we",
        "he",
        "she",
        "they",
        "it",
        "i",
        "is",
        "are",
        "was",
        "were",
        "be",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "and",
        "or",
        "not",
        "this",
        "that",
        "how",
        "what",
        "where",
        "why",
        "can",
        "do",
        "does",
    ]
)
_LATIN = re.compile(r"[A-Za-z]+")
# Wallet import format: 51 characters from 5, or 52 from K or L, in base58.
_WIF = re.compile(r"(?<![A-Za-z0-9])(?:5[HJK]|[KL])[1-9A-HJ-NP-Za-km-z]{49,50}(?![A-Za-z0-9])")
_LABELLED_KEY = re.compile(
    rf"(?:私[钥鑰]|(?<![A-Za-z])private\s*key(?![A-Za-z])){_LABEL_TAIL}"
    r"(?P<key>(?:0x)?[0-9a-fA-F]{64})(?![0-9a-fA-F])",
    re.IGNORECASE,
)
# 「密码 Zs@2024!」: a space after 密码, then letters, digits and a symbol no version or
# address has (「密码 iPhone15」「密码 gmail.com」 are no passwords).
_SPACED_PASSWORD = re.compile(
    r"密[码碼马] (?P<value>(?=[!-~]*[A-Za-z])(?=[!-~]*\d)(?=[!-~]*[!@#$%^&*_+=~?])[!-~]{6,40})"
)


def _is_phrase(phrase: str) -> bool:
    listed = _english_words()
    off_list = [word for word in _LATIN.findall(phrase.lower()) if word not in listed]
    return len(off_list) <= MAX_OFF_LIST_WORDS and not _ENGLISH_FUNCTION_WORDS.intersection(
        off_list
    )


def _written_out(text: str) -> Iterator[Finding]:
    if _CODE_WORD.search(text):
        for found in _SPACED_DIGITS.finditer(text):
            yield Finding(SecretKind.SMS_CODE, *found.span())
    if _CODE_MENTION.search(text):
        for found in _CHINESE_DIGITS.finditer(text):
            yield Finding(SecretKind.SMS_CODE, *found.span())
    for found in _SPACED_CODE.finditer(text):
        digits = sum(char.isdigit() for char in found.group("digits"))
        if found.group("code"):
            yield Finding(SecretKind.SMS_CODE, *found.span("digits"))
        elif digits == 6:
            yield Finding(SecretKind.PAYMENT_PASSWORD, *found.span("digits"))
    for found in _LABELLED_PHRASE.finditer(text):
        if _is_phrase(found.group("phrase")):
            yield Finding(SecretKind.MNEMONIC, *found.span("phrase"))
    for found in _WIF.finditer(text):
        yield Finding(SecretKind.PRIVATE_KEY, *found.span())
    for found in _LABELLED_KEY.finditer(text):
        yield Finding(SecretKind.PRIVATE_KEY, *found.span("key"))
    for found in _SPACED_PASSWORD.finditer(text):
        yield Finding(SecretKind.PASSWORD, *found.span("value"))


# --- Card and ID numbers ----------------------------------------------------------------

# Card groups are joined by 1-3 spaces (U+3000 included, after NFKC) or by one of
# - . _ and the Unicode dashes (－ becomes - under NFKC; – — − do not), maybe spaced.
_CARD_SEPARATOR = r"(?: {1,3}| ?[-._\u2010-\u2015\u2212] ?)"
_DIGIT_GROUPS = re.compile(rf"(?<!\d)\d+(?:{_CARD_SEPARATOR}\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")
CARD_DIGITS = (13, 19)
# Printed card numbers come in groups of 4 (4-6-5 for Amex): a 2-digit group is the
# month of a date or the +86 of a phone number.
MIN_CARD_GROUP = 3
# Glued to letters (VISA4111…), digits are more often an identifier: then a card must
# start like one of a network (Visa, Mastercard, Amex, JCB, Diners, UnionPay, Discover,
# the 95… of older Chinese bank cards).
_CARD_NETWORK_PREFIX = re.compile(r"[3-6]|2(?:22[1-9]|2[3-9]|[3-6]|7[01]|720)|95")
# Numbers that pass Luhn by chance but are something else: an order or transaction number
# that starts with a date (202611211234567), a phone number with its country code.
_NOT_A_CARD = re.compile(r"20\d\d(?:0[1-9]|1[0-2])|(?:00)?861[3-9]\d{9}$")
_NOT_A_CARD_LABEL = re.compile(
    r"(?:[订訂][单單]|工[单單]|[单單][号號]|流水|交易[号號]|[运運][单單]|[编編][号號]|凭证[号號])"
    r"[号號]?[码碼]?\s*:?\s*(?:是|为|為)?\s*$"
)
_LABEL_BEFORE_CARD = 10

# Province (11 Beijing … 65 Xinjiang, 71, 81, 82, 91), 4 digits of region, birth year and
# month (the day is not checked: some IDs carry 00), sequence, check character. An order
# number that starts with a date (2026112…) has no such shape.
_ID_NUMBER = re.compile(
    r"(?<!\d)(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[12]|91)\d{4}"
    r"(?:18|19|20)\d\d(?:0[1-9]|1[0-2])[0-3]\d\d{3}[\dXx](?!\d)"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def id_checksum_valid(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(char) * weight for char, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _is_id_number(number: str) -> bool:
    return _ID_NUMBER.fullmatch(number) is not None and id_checksum_valid(number)


def _separator_kind(separator: str) -> str:
    """A space for any spaces, else the mark itself: a card keeps one kind of separator."""
    return separator.strip(" ") or " "


def _card_windows(groups: list[re.Match[str]], separators: list[str]) -> Iterator[tuple[int, int]]:
    """Windows of whole groups holding 13-19 digits, leftmost first, longest first.

    separators[i] is the kind of separator between groups i and i + 1.
    """
    low, high = CARD_DIGITS
    for first in range(len(groups)):
        count = 0
        lasts: list[int] = []
        for last in range(first, len(groups)):
            if last > first and (
                len(groups[first].group()) < MIN_CARD_GROUP
                or len(groups[last].group()) < MIN_CARD_GROUP
                or separators[last - 1] != separators[first]
            ):
                break
            count += len(groups[last].group())
            if count > high:
                break
            if count >= low:
                lasts.append(last)
        for last in reversed(lasts):
            if not _chained_elsewhere(separators, first, last):
                yield first, last


def _chained_elsewhere(separators: list[str], first: int, last: int) -> bool:
    """True when an edge group is tied to a digit outside the window by another mark.

    "138 0013 8000 2026-11-21": 2026 belongs to the date, not to a card; 4111….50 is an
    amount. A space is a looser tie: "2026-11-21 6222 0212 3456 7891" holds a card.
    """
    kind = separators[first] if last > first else None
    outside = [separators[index] for index in (first - 1, last) if 0 <= index < len(separators)]
    return any(separator not in (" ", kind) for separator in outside)


def _glued_to_letters(text: str, start: int, end: int) -> bool:
    return any(
        0 <= index < len(text) and text[index].isascii() and text[index].isalpha()
        for index in (start - 1, end)
    )


_CARD_LABEL_REACH = 16  # 「card number is 」
LABELLED_CARD_DIGITS = (12, 24)
# 「卡号 6222 0212 3456 7890 123」: a number the user calls a card is one even when a
# digit is mistyped (Luhn fails); it must not be stored in clear either.
_CARD_LABEL = re.compile(
    r"(?:卡[号號]|银行卡|銀行卡|信用卡|储蓄卡|儲蓄卡|借记卡|借記卡"
    r"|(?<![A-Za-z])card(?: ?(?:number|no\.?|#))?)"
    r"[号號]?[码碼]?\s*(?:是|为|為|:|is)?\s*$",
    re.IGNORECASE,
)


def _is_card(text: str, start: int, end: int, digits: str, grouped: bool) -> bool:
    labelled = _CARD_LABEL.search(text, max(0, start - _CARD_LABEL_REACH), start) is not None
    if not luhn_valid(digits) and not labelled:
        return False
    if not grouped and _is_id_number(digits):
        return False  # an ID number that happens to pass Luhn is reported as an ID only
    if _NOT_A_CARD.match(digits):
        return False
    if _glued_to_letters(text, start, end) and not _CARD_NETWORK_PREFIX.match(digits):
        return False
    return not _NOT_A_CARD_LABEL.search(text, max(0, start - _LABEL_BEFORE_CARD), start)


def _card_numbers(text: str) -> Iterator[Finding]:
    for run in _DIGIT_GROUPS.finditer(text):
        groups = list(_GROUP.finditer(text, run.start(), run.end()))
        separators = [
            _separator_kind(text[left.end() : right.start()]) for left, right in pairwise(groups)
        ]
        count = sum(len(group.group()) for group in groups)
        labelled = _CARD_LABEL.search(text, max(0, run.start() - _CARD_LABEL_REACH), run.start())
        if labelled is not None and LABELLED_CARD_DIGITS[0] <= count <= LABELLED_CARD_DIGITS[1]:
            # 「卡号 6222 0212 3456 7890 1234 5」: what the user calls a card is hidden whole,
            # a digit too many or not, so no tail of it is left in clear.
            yield Finding(SecretKind.CARD_NUMBER, run.start(), run.end())
            continue
        taken_until = -1
        # A run may hold more than a card ("2026-11-21 6222…"): take the longest valid
        # window of whole groups, leftmost first.
        for first, last in _card_windows(groups, separators):
            if first <= taken_until:
                continue
            window = groups[first : last + 1]
            digits = "".join(group.group() for group in window)
            start, end = window[0].start(), window[-1].end()
            if _is_card(text, start, end, digits, grouped=len(window) > 1):
                yield Finding(SecretKind.CARD_NUMBER, start, end)
                taken_until = last


# 「身份证号110101199003074512」: an ID number the user names as one, even with a
# mistyped check character.
_ID_LABEL = re.compile(
    r"(?:身份证|身份證|证件|證件|(?<![A-Za-z])ID)[号號]?[码碼]?\s*(?:是|为|為|:)?\s*$", re.I
)


def _id_numbers(text: str) -> Iterator[Finding]:
    for match in _ID_NUMBER.finditer(text):
        labelled = _ID_LABEL.search(text, max(0, match.start() - _CARD_LABEL_REACH), match.start())
        if labelled is not None or id_checksum_valid(match.group()):
            yield Finding(SecretKind.ID_NUMBER, match.start(), match.end())


# --- Public API -------------------------------------------------------------------------


def _prune(findings: list[Finding]) -> tuple[Finding, ...]:
    """Drop duplicates and findings inside a longer one (the 6222 group of a card number).

    Two kinds on the very same span (密码 123456 验证码) are both kept.
    """
    order = list(SecretKind)
    ordered = sorted(set(findings), key=lambda f: (f.start, -f.end, order.index(f.kind)))
    kept: list[Finding] = []
    reach = -1  # the furthest end of any earlier, different span
    span = (-1, -1)
    for finding in ordered:
        if (finding.start, finding.end) != span:
            reach = max(reach, span[1])
            span = (finding.start, finding.end)
        if finding.end > reach:
            kept.append(finding)
    return tuple(sorted(kept, key=lambda f: (f.start, f.end, order.index(f.kind))))


def _redacted(text: str, findings: tuple[Finding, ...]) -> str:
    spans: list[list[int]] = []
    for finding in sorted(findings, key=lambda f: (f.start, f.end)):
        if spans and finding.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], finding.end)  # overlapping or touching
        else:
            spans.append([finding.start, finding.end])
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts += [text[position:start], REDACTED]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _findings(folded: _Folded) -> list[Finding]:
    """Everything found in one message, as spans of the original text."""
    found = [
        *_mnemonics(folded.text),
        *_keyword_numbers(folded.text),
        *_labelled_passwords(folded.text),
        *_written_out(folded.text),
        *_card_expiries(folded.text),
        *_card_numbers(folded.text),
        *_id_numbers(folded.text),
    ]
    return [Finding(f.kind, *folded.original_span(f.start, f.end)) for f in found]


def _result(text: str, findings: list[Finding]) -> GuardResult:
    pruned = _prune(findings)
    return GuardResult(text=_redacted(text, pruned), findings=pruned)


def scan(text: str) -> GuardResult:
    return _result(text, _findings(_fold(text)))


def _announced_phrase(announcement: str, message: str) -> tuple[int, int] | None:
    """The span of `message` when it is nothing but a contiguous Chinese phrase, right after
    a message that announced one (我的助记词是 / 的一是在不了有和人这中大).

    Nothing but: 给在美国读书的孩子汇学费，用你们app大概几天能到？ opens with 12 list
    characters and no common word, yet it is a question.
    """
    inner = _INNER_TEXT.search(message)
    if inner is None or not _ANNOUNCEMENT.search(announcement):
        return None
    words = _chinese_words()
    phrase = inner.group()
    if all(char in words for char in phrase) and _is_contiguous_phrase(phrase):
        return inner.span()
    return None


# Messages are joined by a line break, a separator: the words of a phrase sent in parts
# line up again.
_MESSAGE_BREAK = "\n"


def scan_recent(texts: Sequence[str]) -> list[GuardResult]:
    """`scan` over the user's last few messages (oldest first, the newest last).

    Also finds a recovery phrase sent in parts over consecutive messages (6 words, then 6;
    4 + 4 + 4), and a contiguous Chinese phrase sent on its own right after a message that
    names it (我的助记词是 / 的一是在不了有和人这中大). Returns one result per message, in
    the same order: each message's own secrets plus its part of such a phrase.
    """
    folded = [_fold(text) for text in texts]
    findings = [_findings(message) for message in folded]
    offsets: list[int] = []
    position = 0
    for message in folded:
        offsets.append(position)
        position += len(message.text) + len(_MESSAGE_BREAK)
    joined = _MESSAGE_BREAK.join(message.text for message in folded)
    for start, end in _separated_mnemonics(joined) if len(folded) > 1 else ():
        for index, (offset, message) in enumerate(zip(offsets, folded, strict=True)):
            low, high = max(start, offset), min(end, offset + len(message.text))
            if low < high:
                span = message.original_span(low - offset, high - offset)
                findings[index].append(Finding(SecretKind.MNEMONIC, *span))
    for index in range(1, len(folded)):
        announced = _announced_phrase(folded[index - 1].text, folded[index].text)
        if announced:
            span = folded[index].original_span(*announced)
            findings[index].append(Finding(SecretKind.MNEMONIC, *span))
    return [_result(text, found) for text, found in zip(texts, findings, strict=True)]


def redact(text: str) -> str:
    return scan(text).text


def contains_secret(text: str) -> bool:
    """True for a secret, and for a message that was already redacted upstream."""
    return REDACTED in text or scan(text).found
