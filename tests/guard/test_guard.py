"""The sensitive-data guard: what it must catch, and the everyday messages it must leave alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from guard import (
    REDACTED,
    WARNING,
    Finding,
    GuardResult,
    SecretKind,
    contains_secret,
    hidden_notice,
    redact,
    scan,
    scanner,
)
from tests.guard.oracles import luhn_complete

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = PROJECT_ROOT / "guard" / "resources"

# Independent oracles, so the tests do not trust the module's own checksum code.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def luhn_break(number: str) -> str:
    """The same number with a wrong last digit."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def id_complete(first17: str) -> str:
    total = sum(int(char) * weight for char, weight in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def id_break(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


def english_words() -> list[str]:
    return (RESOURCES / "bip39_english.txt").read_text("utf-8").splitlines()


def chinese_words() -> list[str]:
    return (RESOURCES / "bip39_chinese_simplified.txt").read_text("utf-8").splitlines()


def english_phrase(count: int, start: int = 100, step: int = 37) -> str:
    """A deterministic phrase of distinct list words, spread over the whole list."""
    words = english_words()
    return " ".join(words[(start + i * step) % len(words)] for i in range(count))


CARD_16 = luhn_complete("622202123456789")  # 16 digits
CARD_19 = luhn_complete("622848001234567890")  # 19 digits, China UnionPay length
VISA_TEST = "4111111111111111"
ID_NUMBER = id_complete("11010519491231002")
ID_NUMBER_X = next(
    number
    for number in (id_complete(f"4403051990010{n:03d}1") for n in range(1000))
    if number.endswith("X")
)


# --- Word lists -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("bip39_english.txt", "abandon", "zoo"),
        ("bip39_chinese_simplified.txt", "的", "歇"),
    ],
)
def test_wordlists_are_the_official_bip39_lists(name: str, first: str, last: str) -> None:
    lines = (RESOURCES / name).read_text("utf-8").splitlines()
    assert len(lines) == 2048
    assert len(set(lines)) == 2048
    assert (lines[0], lines[-1]) == (first, last)
    assert all(line == line.strip() and line for line in lines)


def test_chinese_list_is_single_characters() -> None:
    assert all(len(word) == 1 for word in chinese_words())


# --- API shape --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("验证码是7 3 9 2 1 5", "验证码是〔已隐藏〕", "sms_code"),
        ("code: 7-3-9-2-1-5 收到了", "code: 〔已隐藏〕 收到了", "sms_code"),
        ("支付密码是 1 3 5 7 9 0", "支付密码是 〔已隐藏〕", "payment_password"),
        (
            "客服你要我的验证码吗 我收到的是 7 3 9 2 1 5",
            "客服你要我的验证码吗 我收到的是 〔已隐藏〕",
            "sms_code",
        ),
        ("密码Qq@2024abc", "密码〔已隐藏〕", "password"),
        (
            "我用户名 zhangsan 密码 Zs@2024! 你帮我登一下",
            "我用户名 zhangsan 密码 〔已隐藏〕 你帮我登一下",
            "password",
        ),
        ("我收到的码是七三五一九零 是这个吗", "我收到的码是〔已隐藏〕 是这个吗", "sms_code"),
        ("验证码是两幺三四五六", "验证码是〔已隐藏〕", "sms_code"),
        ("簡訊碼是 7 3 9 2 1 5", "簡訊碼是 〔已隐藏〕", "sms_code"),
        # The whole run, not its first eight digits; the whole card the user names.
        ("我的验证码是 7 3 9 2 1 5 8 0 0", "我的验证码是 〔已隐藏〕", "sms_code"),
        ("卡号 6222 0212 3456 7890 1234 5", "卡号 〔已隐藏〕", "card_number"),
        (
            "助记词 1.abandon 2.ability 3.able 4.about 5.above 6.absent 7.absorb 8.abstract"
            " 9.absurd 10.abuse 11.acess 12.accident",
            "助记词 1.〔已隐藏〕",
            "mnemonic",
        ),
        (
            "助记词我发你 apple banana orange grape lemon mellon peach cherry kiwi uncle"
            " lunar plug",
            "助记词我发你 〔已隐藏〕",
            "mnemonic",
        ),
        (
            "我的助记词是 apple banana cherry dog elephant fish grape house igloo jacket"
            " kite lemon",
            "我的助记词是 〔已隐藏〕",
            "mnemonic",
        ),
        (
            "私钥是 5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3",
            "私钥是 〔已隐藏〕",
            "private_key",
        ),
        (
            "private key: 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
            "private key: 〔已隐藏〕",
            "private_key",
        ),
    ],
)
def test_secrets_written_out_after_their_label(text: str, expected: str, kind: str) -> None:
    """Spaced digits, a phrase of words off the list, a private key: hidden all the same."""
    result = scan(text)
    assert result.text == expected
    assert result.kinds == (kind,)


@pytest.mark.parametrize(
    "text",
    [
        "交易哈希 4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "密码错误三次",
        "密码8位吗",
        "验证码 1 分钟后重发",
        "验证码收不到 版本 2.3.1 的 app",
        "密码 忘了",
        "第一二三四季度的账单",
        "号码是一三八一二三四五六七八",
        # Words after 密码 or a seed phrase that are no secret.
        "我的密码 iPhone15 上改不了",
        "支付密码 ios17.2 无法设置",
        "忘记密码 gmail.com 邮箱收不到",
        "where is my seed phrase stored in the app settings menu and how can we back it up safely",
        "seed the abandon the abandon the abandon abandon abandon abandon abandon abandon abandon",
        "验证码收不到 版本1.2.3.4",
        "付款码 二〇二四年三月",
        "help me with these twelve words that are in my english homework today ok",
        "my seed words are apple banana",
    ],
)
def test_look_alikes_of_written_out_secrets_are_kept(text: str) -> None:
    assert scan(text).findings == ()


@pytest.mark.parametrize("label", ["助记词", "验证码", "私钥", "密码", "seed phrase"])
def test_a_label_before_a_long_run_of_spaces_is_read_in_linear_time(label: str) -> None:
    """No two quantifiers compete for the same spaces: a 20,000-space message is read as
    quickly as a short one (it took 54 s once)."""
    assert scan(label + " " * 20_000 + "x").findings == ()


def test_constants() -> None:
    assert REDACTED == "〔已隐藏〕"
    assert WARNING == "请勿向任何人（包括客服）提供密码、验证码或助记词。"
    assert SecretKind.SMS_CODE == "sms_code"
    assert [kind.value for kind in SecretKind] == [
        "mnemonic",
        "payment_password",
        "sms_code",
        "card_number",
        "cvv",
        "id_number",
        "password",
        "card_expiry",
        "private_key",
    ]


def test_scan_result_shape() -> None:
    text = "支付密码是123456"
    result = scan(text)
    assert isinstance(result, GuardResult)
    assert result.found
    assert result.findings == (Finding(SecretKind.PAYMENT_PASSWORD, 5, 11),)
    assert text[5:11] == "123456"
    assert result.text == "支付密码是〔已隐藏〕"
    assert result.kinds == ("payment_password",)
    assert redact(text) == result.text
    assert contains_secret(text)


def test_clean_text_is_returned_unchanged() -> None:
    result = scan("充值怎么还没到账")
    assert result == GuardResult(text="充值怎么还没到账", findings=())
    assert not result.found
    assert result.kinds == ()


# --- Payment passwords, SMS codes, CVV --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("支付密码是123456", "支付密码是〔已隐藏〕", "payment_password"),
        ("密码：123456", "密码：〔已隐藏〕", "payment_password"),
        ("123456是我的密码", "〔已隐藏〕是我的密码", "payment_password"),
        ("我密码 654321", "我密码 〔已隐藏〕", "payment_password"),
        ("交易密码 802613 对吗", "交易密码 〔已隐藏〕 对吗", "payment_password"),
        ("PIN: 135790", "PIN: 〔已隐藏〕", "payment_password"),
        ("pin123456", "pin〔已隐藏〕", "payment_password"),
        ("我的支付密碼是246810", "我的支付密碼是〔已隐藏〕", "payment_password"),
        ("验证码 482913", "验证码 〔已隐藏〕", "sms_code"),
        ("收到的验证码是8823", "收到的验证码是〔已隐藏〕", "sms_code"),
        ("短信验证码：90817263，怎么用", "短信验证码：〔已隐藏〕，怎么用", "sms_code"),
        ("驗證碼 5521", "驗證碼 〔已隐藏〕", "sms_code"),
        ("动态码 7788", "动态码 〔已隐藏〕", "sms_code"),
        ("OTP is 4417", "OTP is 〔已隐藏〕", "sms_code"),
        ("the code 551234 expired", "the code 〔已隐藏〕 expired", "sms_code"),
        ("CVV是123", "CVV是〔已隐藏〕", "cvv"),
        ("卡背面三位 456", "卡背面三位 〔已隐藏〕", "cvv"),
        ("安全码 7890", "安全码 〔已隐藏〕", "cvv"),
        ("cvc2: 321", "cvc2: 〔已隐藏〕", "cvv"),
    ],
)
def test_numbers_next_to_a_keyword_are_redacted(text: str, expected: str, kind: str) -> None:
    result = scan(text)
    assert result.text == expected
    assert result.kinds == (kind,)


def test_only_the_digits_are_redacted_and_spans_point_into_the_original() -> None:
    text = "你好，我的验证码是 8823，支付密码是 135246，谢谢"
    result = scan(text)
    assert [text[f.start : f.end] for f in result.findings] == ["8823", "135246"]
    assert result.text == "你好，我的验证码是 〔已隐藏〕，支付密码是 〔已隐藏〕，谢谢"
    assert result.kinds == ("sms_code", "payment_password")


def test_nearest_keyword_names_the_number() -> None:
    result = scan("验证码123456 密码654321")
    assert result.text == "验证码〔已隐藏〕 密码〔已隐藏〕"
    assert [f.kind for f in result.findings] == [SecretKind.SMS_CODE, SecretKind.PAYMENT_PASSWORD]


@pytest.mark.parametrize(
    "text",
    [
        "密码 1234567",  # 7 digits is not a 6-digit payment password
        "密码 12345",
        "验证码 123",  # too short for a code
        "验证码 123456789",  # too long for a code
        "CVV 12",
        "密码忘了，我想问问昨天转出去的那一笔是不是被退回来了 123456",  # keyword too far away
        "密码忘了。123456",  # a sentence ends between them
        "我的密码12345678901234",  # part of a longer digit run
    ],
)
def test_numbers_of_the_wrong_length_or_out_of_reach_are_kept(text: str) -> None:
    assert scan(text).findings == ()


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("我的登录密码是Abc@12345，帮我登一下", "我的登录密码是〔已隐藏〕，帮我登一下", "password"),
        ("密码是abc12345", "密码是〔已隐藏〕", "password"),
        ("password: hunter22", "password: 〔已隐藏〕", "password"),
        ("pwd: qwerty2024! 登不进去", "pwd: 〔已隐藏〕 登不进去", "password"),
        ("登录密码：12345678", "登录密码：〔已隐藏〕", "password"),
        ("密码是 qwer1234 对吗", "密码是 〔已隐藏〕 对吗", "password"),
        ("pin is 4321", "pin is 〔已隐藏〕", "password"),
        ("卡背后三位是123", "卡背后三位是〔已隐藏〕", "cvv"),
        ("信用卡有效期09/27", "信用卡有效期〔已隐藏〕", "card_expiry"),
        ("card expiry 11/2028", "card expiry 〔已隐藏〕", "card_expiry"),
        ("我的密码是：hunter22", "我的密码是：〔已隐藏〕", "password"),
        ("pwd: 123456", "pwd: 〔已隐藏〕", "payment_password"),
    ],
)
def test_passwords_typed_after_their_label_and_card_data(
    text: str, expected: str, kind: str
) -> None:
    result = scan(text)
    assert result.text == expected
    assert result.kinds == (kind,)


@pytest.mark.parametrize(
    "text",
    [
        "密码是什么",
        "支付密码是6位数吗",
        "密码是2026年改的",  # a year
        "password is wrong",  # a word, no digit or symbol
        "密码是8-16位字母加数字",
        "密码为空怎么办",
        "记住密码是什么意思",
        "支付密码是500元以下免密吗",
        "优惠券有效期到12/31吗",  # no card in the message
        "身份证有效期 12/2030",
        "我的密码是hunter",  # letters alone may be a word
    ],
)
def test_what_is_said_about_a_password_is_kept(text: str) -> None:
    assert scan(text).findings == ()


# --- Bank cards -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"卡号{CARD_16}", "卡号〔已隐藏〕"),
        (f"我的卡是 {CARD_19}，帮我查下", "我的卡是 〔已隐藏〕，帮我查下"),
        (
            f"卡号 {CARD_19[:4]} {CARD_19[4:8]} {CARD_19[8:12]} {CARD_19[12:16]} {CARD_19[16:]}",
            "卡号 〔已隐藏〕",
        ),
        (f"{VISA_TEST[:4]}-{VISA_TEST[4:8]}-{VISA_TEST[8:12]}-{VISA_TEST[12:]}", "〔已隐藏〕"),
        (f"2026-11-21 绑了 {CARD_16}", "2026-11-21 绑了 〔已隐藏〕"),
        ("Amex 378282246310005", "Amex 〔已隐藏〕"),  # 15 digits
    ],
)
def test_luhn_valid_card_numbers_are_redacted(text: str, expected: str) -> None:
    result = scan(text)
    assert result.text == expected
    assert result.kinds == ("card_number",)


def test_card_findings_cover_the_whole_grouped_number() -> None:
    grouped = f"{CARD_16[:4]} {CARD_16[4:8]} {CARD_16[8:12]} {CARD_16[12:]}"
    text = f"请帮我查一下 {grouped} 这张卡"
    (finding,) = scan(text).findings
    assert text[finding.start : finding.end] == grouped


@pytest.mark.parametrize(
    "number",
    [luhn_break(CARD_16), luhn_break(VISA_TEST), "1234567812345678", luhn_break(CARD_19)],
)
def test_luhn_invalid_numbers_are_not_cards_unless_called_one(number: str) -> None:
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    for typed in (number, grouped):
        assert scan(f"查一下 {typed} 这个").findings == ()
        # The user calls it a card: a mistyped digit must not leave the rest in clear.
        for label in ("卡号 ", "我的银行卡号是", "card number "):
            result = scan(f"{label}{typed} 绑不上")
            assert result.kinds == ("card_number",)
            assert result.text == f"{label}{REDACTED} 绑不上"


def test_card_number_inside_a_longer_digit_run_is_not_matched() -> None:
    assert scan(f"流水号 {CARD_16}0000").findings == ()  # 20 digits
    assert scan(f"流水号 0000{CARD_16}").findings == ()


def test_card_next_to_a_code_keyword_is_one_card_finding() -> None:
    grouped = f"{CARD_16[:4]} {CARD_16[4:8]} {CARD_16[8:12]} {CARD_16[12:]}"
    result = scan(f"验证码 发到了 {grouped}")
    assert result.kinds == ("card_number",)
    assert result.text == "验证码 发到了 〔已隐藏〕"


# --- Resident ID numbers ----------------------------------------------------------------


def test_valid_id_number_is_redacted() -> None:
    text = f"身份证号{ID_NUMBER}，麻烦帮我实名"
    result = scan(text)
    assert result.text == "身份证号〔已隐藏〕，麻烦帮我实名"
    assert result.kinds == ("id_number",)
    (finding,) = result.findings
    assert text[finding.start : finding.end] == ID_NUMBER


@pytest.mark.parametrize("check", ["X", "x"])
def test_id_number_ending_in_x(check: str) -> None:
    number = ID_NUMBER_X[:-1] + check
    assert scan(f"我的身份证 {number}").text == "我的身份证 〔已隐藏〕"


def test_id_number_with_a_wrong_check_character_is_kept_unless_called_one() -> None:
    assert scan(f"单号 {id_break(ID_NUMBER)}").findings == ()
    assert scan(f"查一下{ID_NUMBER_X[:-1]}3").findings == ()
    # 「身份证号…」: the user says what it is, a mistyped check character or not.
    assert scan(f"身份证号{id_break(ID_NUMBER)} 实名认证失败").kinds == ("id_number",)
    assert scan(f"ID: {ID_NUMBER_X[:-1]}3").kinds == ("id_number",)
    assert scan(f"paid {id_break(ID_NUMBER)}").findings == ()


def test_id_number_inside_a_longer_digit_run_is_kept() -> None:
    assert scan(f"单号 {ID_NUMBER}7").findings == ()
    assert scan(f"单号 7{ID_NUMBER}").findings == ()


def test_id_number_that_also_passes_luhn_is_reported_as_an_id_only() -> None:
    candidates = (id_complete(f"440305199001010{n:02d}") for n in range(100))
    number = next(n for n in candidates if n.isdigit() and scanner.luhn_valid(n))
    assert scan(number).kinds == ("id_number",)


# --- Recovery phrases -------------------------------------------------------------------


def test_24_word_english_mnemonic_is_one_redaction() -> None:
    phrase = english_phrase(24)
    text = f"my wallet words are: {phrase}\n谢谢"
    result = scan(text)
    assert result.text == f"my wallet words are: {REDACTED}\n谢谢"
    assert result.text.count(REDACTED) == 1
    (finding,) = result.findings
    assert finding.kind is SecretKind.MNEMONIC
    assert text[finding.start : finding.end] == phrase


def test_list_words_around_a_phrase_join_the_run() -> None:
    """ "please help" are list words too: the run grows, and is still one redaction."""
    assert scan(f"{english_phrase(12)} please help").text == REDACTED


@pytest.mark.parametrize("count", [12, 13, 15, 18, 21, 24])
def test_english_runs_of_twelve_or_more_words_are_redacted(count: int) -> None:
    assert redact(english_phrase(count)) == REDACTED


def test_english_mnemonic_is_case_insensitive_and_accepts_list_separators() -> None:
    words = english_phrase(12).split()
    text = "助记词：" + "、".join(words[:4]).upper() + "，" + ",".join(words[4:8]) + "\n"
    text += " , ".join(word.capitalize() for word in words[8:])
    assert scan(text).text == "助记词：" + REDACTED


def test_numbered_english_mnemonic_as_copied_from_a_wallet_app() -> None:
    words = english_phrase(12).split()
    text = "\n".join(f"{i}. {word}" for i, word in enumerate(words, start=1))
    assert scan(text).text == "1. " + REDACTED


def test_eleven_english_words_are_not_a_mnemonic() -> None:
    assert scan(english_phrase(11)).findings == ()


def test_ordinary_english_sentence_is_not_a_mnemonic() -> None:
    sentence = "I want to know why my account was frozen after the update yesterday evening"
    assert len(sentence.split()) >= 12
    assert scan(sentence).findings == ()


def test_twelve_list_words_broken_by_a_non_list_word_are_not_a_mnemonic() -> None:
    words = english_phrase(12).split()
    assert scan(" ".join([*words[:6], "the", *words[6:]])).findings == ()


def test_separated_chinese_mnemonic_is_redacted() -> None:
    assert scan("的 一 是 在 不 了 有 和 人 这 中 大").text == REDACTED
    text = "我的助记词：的，一，是，在，不，了，有，和，人，这，中，大。"
    assert scan(text).text == "我的助记词：" + REDACTED + "。"


def test_separated_chinese_mnemonic_of_24_random_characters() -> None:
    words = chinese_words()
    phrase = "、".join(words[(7 + 83 * i) % 2048] for i in range(24))
    result = scan(phrase)
    assert result.text == REDACTED
    assert result.kinds == ("mnemonic",)


def test_eleven_separated_chinese_characters_are_not_a_mnemonic() -> None:
    assert scan("的 一 是 在 不 了 有 和 人 这 中").findings == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("助记词：的一是在不了有和人这中大", "助记词：〔已隐藏〕"),
        ("我的助记词是的一是在不了有和人这中大，帮我看看", "我的助记词是〔已隐藏〕，帮我看看"),
        ("助記詞是的一是在不了有和人这中大", "助記詞是〔已隐藏〕"),
        ("seed phrase: 的一是在不了有和人这中大", "seed phrase: 〔已隐藏〕"),
    ],
)
def test_contiguous_chinese_mnemonic_with_context_is_redacted(text: str, expected: str) -> None:
    assert scan(text).text == expected


def test_contiguous_chinese_mnemonic_of_each_valid_length() -> None:
    words = chinese_words()
    for count in (12, 15, 18, 21, 24):
        phrase = "".join(words[(500 + 131 * i) % 2048] for i in range(count))
        assert scan(f"恢复词：{phrase}").text == f"恢复词：{REDACTED}", count


def test_contiguous_list_characters_without_context_are_not_a_mnemonic() -> None:
    sentence = "的一是在不了有和人这中大为上个"  # 15 list characters, no 助记词
    assert len(sentence) == 15
    assert all(char in chinese_words() for char in sentence)
    assert scan(sentence).findings == ()


@pytest.mark.parametrize(
    "question",
    [
        "助记词不小心被别人看到了怎么办",  # 12 list characters after the keyword
        "助记词是什么意思可以发给客服吗",
        "助记词丢了还能恢复钱包吗",
        "把助记词存在网盘里安全吗",
        "助记词：的一是在不了有和人这中",  # 11 characters is not a valid length
    ],
)
def test_questions_about_mnemonics_are_not_mnemonics(question: str) -> None:
    assert scan(question).findings == ()


# --- Everyday messages ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "充值500元一直没到账",
        "提现到尾号1234的卡",
        "工单T20261121-0042进度",
        "我的手机号13812345678换了",
        "密码忘了怎么办",
        "验证码收不到",
        "忘記密碼怎麼辦",
        "驗證碼一直收不到",
        "2026-11-21 转了2000块，对方还没收到",
        "验证码发到尾号1234的手机上了吗",
        "验证码60秒后才能重发，等了300秒还没收到",
        "提现100000，密码输错了3次被锁了",
        "订单123456的支付密码提示错误",
        "密码设置要求是6位数字吗",
        "转账手续费是0.5%还是1.2%",
        "客服电话400-820-8820打不通",
        "二维码付款扫码失败，错误码1001",
        "版本 2.13.0 打开闪退",
        "密码是对的，付了¥123456",
        "验证码过了，付款123456",
        "验证码 2026年11月21日 才收到",
        "支付宝转账 20261121 那笔怎么退款",
        "我在日本打工，想每個月往家裡匯錢，你們支持嗎",
        "I forgot my password, can you help me reset it please",
    ],
)
def test_everyday_messages_are_not_flagged(text: str) -> None:
    result = scan(text)
    assert result.findings == ()
    assert result.text == text
    assert not contains_secret(text)


def _faq_and_eval_texts() -> list[str]:
    faq = yaml.safe_load((PROJECT_ROOT / "data" / "faq_zh.yml").read_text("utf-8"))
    texts = [text for item in faq["faqs"] for text in (item["question"], *item["paraphrases"])]
    for split in ("dev.jsonl", "test.jsonl", "test_uncovered.jsonl"):
        path = PROJECT_ROOT / "data" / "eval" / split
        texts += [json.loads(line)["query"] for line in path.read_text("utf-8").splitlines()]
    return texts


def test_no_real_user_question_is_flagged() -> None:
    """Every question and paraphrase in the FAQ and the evaluation splits passes untouched."""
    texts = _faq_and_eval_texts()
    assert len(texts) > 500
    flagged = {text: scan(text).kinds for text in texts if scan(text).found}
    assert flagged == {}


# --- Merging, idempotence, already-redacted text ---------------------------------------


def test_one_number_named_by_two_keywords_is_redacted_once() -> None:
    result = scan("密码 123456 验证码")
    assert result.text == "密码 〔已隐藏〕 验证码"
    assert result.kinds == ("payment_password", "sms_code")
    assert {(f.start, f.end) for f in result.findings} == {(3, 9)}


def test_kinds_are_in_order_of_first_appearance() -> None:
    text = (
        f"卡号{CARD_16}，CVV 321，验证码 8823，身份证{ID_NUMBER}，"
        f"支付密码 135790，验证码 4455，{english_phrase(12)}"
    )
    result = scan(text)
    assert result.kinds == (
        "card_number",
        "cvv",
        "sms_code",
        "id_number",
        "payment_password",
        "mnemonic",
    )
    assert result.text.count(REDACTED) == 7
    assert [f.start for f in result.findings] == sorted(f.start for f in result.findings)


POSITIVE_SAMPLES = [
    "支付密码是123456",
    "密码123456 654321",
    "验证码 482913，密码 135790",
    f"卡号 {CARD_16[:4]} {CARD_16[4:8]} {CARD_16[8:12]} {CARD_16[12:]} CVV 123",
    f"身份证{ID_NUMBER}",
    english_phrase(24),
    "的 一 是 在 不 了 有 和 人 这 中 大",
    "我的助记词是的一是在不了有和人这中大",
    "充值500元一直没到账",
]


@pytest.mark.parametrize("text", POSITIVE_SAMPLES)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert not scan(once).found


def test_contains_secret_on_already_redacted_text() -> None:
    redacted = redact("支付密码是123456")
    assert redacted == "支付密码是" + REDACTED
    assert not scan(redacted).found
    assert contains_secret(redacted)
    assert contains_secret("我的助记词是〔已隐藏〕")
    assert not contains_secret("密码忘了怎么办")


def test_wordlists_are_loaded_once() -> None:
    scan("的 一 是 在 不 了 有 和 人 这 中 大")
    before = scanner._wordlist.cache_info()
    scan(english_phrase(12))
    after = scanner._wordlist.cache_info()
    assert after.misses == before.misses
    assert after.currsize == 2


def test_long_pastes_are_scanned_in_linear_time() -> None:
    """A pasted log must not stall the bot: every search is bounded by a short reach."""
    text = "密码 123456 验证码 8823 1234 5678 " * 2000 + "。".join([english_phrase(12)] * 200)
    started = time.perf_counter()
    result = scan(text)
    assert time.perf_counter() - started < 2
    assert result.text.count(REDACTED) == 4200


# --- Python 3.10, standard library only -------------------------------------------------

PY310_CANDIDATES = [
    Path("/root/.pyenv/versions/3.10.13/bin/python3.10"),
    PROJECT_ROOT / ".venv-rasa" / "bin" / "python",
]

PY310_SCRIPT = """
import sys
assert sys.version_info[:2] == (3, 10), sys.version
before = set(sys.modules)
import guard
result = guard.scan("支付密码是123456，验证码 8823，的 一 是 在 不 了 有 和 人 这 中 大")
print(result.text)
print(",".join(result.kinds))
loaded = {name.split(".")[0] for name in set(sys.modules) - before}
print(",".join(sorted(loaded - set(sys.stdlib_module_names) - {"guard"})))
"""


@pytest.mark.parametrize("python", PY310_CANDIDATES, ids=["pyenv-3.10", "venv-rasa"])
def test_imports_on_python_310_with_the_standard_library_only(python: Path) -> None:
    if not python.exists():
        pytest.skip(f"{python} is not installed")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(
        [str(python), "-c", PY310_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        f"支付密码是{REDACTED}，验证码 {REDACTED}，{REDACTED}",
        "payment_password,sms_code,mnemonic",
        "",  # no third-party module was imported
    ]


def test_current_interpreter_imports_no_third_party_module_for_the_guard() -> None:
    """The same check in-process would be polluted by conftest, so use a fresh 3.11 process."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; b=set(sys.modules); import guard; "
            "print(sorted({m.split('.')[0] for m in set(sys.modules)-b}"
            " - set(sys.stdlib_module_names) - {'guard'}))",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_card_and_identity_data_are_named_in_the_notice() -> None:
    found = [finding.kind.value for finding in scan("卡号 6222 0212 3456 7890 128 绑不上").findings]
    notice = hidden_notice(found, alone=False)
    assert notice is not None and notice.startswith("您刚才发送的银行卡号已被隐藏")
    assert "CVV" in notice and "不会向您索要" in notice
    both = hidden_notice(["cvv", "card_number", "id_number"], alone=True)
    assert both is not None and "银行卡号、安全码（CVV）和身份证号已被隐藏" in both
    assert both.endswith("请直接描述遇到的问题。")
    # Everything hidden is named; a private key gets advice of its own, not a card's.
    card_and_code = hidden_notice(["card_number", "sms_code"], alone=False)
    assert card_and_code is not None and "银行卡号和验证码已被隐藏" in card_and_code
    key = hidden_notice(["private_key"], alone=False)
    assert key is not None and "私钥已被隐藏" in key and "卡号" not in key
    assert "请勿发给任何人" in key
    # Passwords, codes and mnemonics: the general warning names them already.
    assert hidden_notice(["sms_code", "mnemonic"], alone=True) is None
    assert hidden_notice(["not-a-kind"], alone=True) is None
