"""Sensitive-data guard: finds secrets that users paste into the chat.

Kefu never needs a password, an SMS code, a CVV or a recovery phrase, yet users send
them anyway. `scan` finds them so that Kefu can warn the user (`WARNING`) and store only
the redacted text, where each secret is replaced by `REDACTED`.

What counts as a secret:

- a BIP-39 recovery phrase: 12 or more English list words, or 12 or more Chinese list
  characters separated by spaces or commas; a contiguous run of exactly 12/15/18/21/24
  Chinese list characters only when the message talks about 助记词 (ordinary Chinese
  is mostly made of list characters);
- a 6-digit number next to 密码 / PIN, a 4-8 digit number next to 验证码 / code / OTP,
  a 3-4 digit number next to CVV / 安全码 ("next to": at most 6 characters apart);
- a bank card number (13-19 digits, optionally grouped by single spaces or dashes)
  that passes the Luhn check;
- a mainland resident ID number with a valid ISO 7064 MOD 11-2 check character.

Precision matters both ways: a miss can cost the user their money, a false alarm hides an
ordinary question from the bot. So digits are never taken out of a longer digit run, and a
number that belongs to something else (尾号1234, 订单123456, 500元, 2026-11-21,
T20261121-0042) is not read as a code even when 验证码 is near.

This module is pure standard library: the Rasa server (Python 3.10, no extra packages)
imports it as well as the 3.11 app.

The word lists in `resources/` are the official BIP-39 English and Chinese (simplified)
lists, copied unchanged from Trezor's python-mnemonic 0.21 (`mnemonic/wordlist/`, MIT
licence, https://github.com/trezor/python-mnemonic).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cache
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


# --- Recovery phrases -------------------------------------------------------------------

MIN_MNEMONIC_WORDS = 12
VALID_MNEMONIC_LENGTHS = frozenset({12, 15, 18, 21, 24})

_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Between two words: spaces, commas, newlines, 、，— and the "1." / "2)" numbering that
# wallet apps show next to each word, which users copy along with the phrase.
_WORD_SEPARATOR = re.compile(r"[\s,，、]*(?:\d{1,2}[.)．、:：]?)?[\s,，、]*")
_MNEMONIC_CONTEXT = re.compile(
    r"[助][记記][词詞]|[种種]子[词詞]|[恢][复復][词詞]|(?<![A-Za-z])(?:mnemonic|seed)(?![A-Za-z])",
    re.IGNORECASE,
)
# "我的助记词是……": the connective belongs to the sentence, not to the phrase.
_CONNECTIVES = ("分别是", "就是", "如下", "是", "为")
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


def _separated_runs(
    text: str, token: re.Pattern[str], accept: Callable[[str], bool]
) -> Iterator[tuple[int, int]]:
    """Spans of >= 12 accepted tokens in a row, each pair joined only by a word separator."""
    start = end = count = 0
    for match in token.finditer(text):
        if not accept(match.group()):
            if count >= MIN_MNEMONIC_WORDS:
                yield start, end
            count = 0
            continue
        if count and _WORD_SEPARATOR.fullmatch(text, end, match.start()):
            count += 1
        else:
            if count >= MIN_MNEMONIC_WORDS:
                yield start, end
            start, count = match.start(), 1
        end = match.end()
    if count >= MIN_MNEMONIC_WORDS:
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
            run = text[start:run_end]
            if len(run) in VALID_MNEMONIC_LENGTHS and not _is_prose(run):
                yield start, run_end
                break


def _mnemonics(text: str) -> Iterator[Finding]:
    english = _english_words()
    chinese = _chinese_words()
    spans = [
        *_separated_runs(text, _LATIN_WORD, lambda word: word.lower() in english),
        *_separated_runs(text, _CJK_RUN, lambda run: len(run) == 1 and run in chinese),
        *_contiguous_chinese_runs(text),
    ]
    for start, end in spans:
        yield Finding(SecretKind.MNEMONIC, start, end)


# --- Numbers next to a keyword ----------------------------------------------------------

# Latin keywords must stand alone: "pin" not inside "ping", "code" not inside "barcode".
_KEYWORDS: dict[SecretKind, re.Pattern[str]] = {
    SecretKind.PAYMENT_PASSWORD: re.compile(
        r"密[码碼马]|(?<![A-Za-z])(?:pin|password|passcode)(?![A-Za-z])", re.IGNORECASE
    ),
    SecretKind.SMS_CODE: re.compile(
        r"[验驗][证證][码碼]|[校][验驗][码碼]|[动動][态態][码碼]|短信[码碼]|[简簡][讯訊][码碼]"
        r"|(?<![A-Za-z])(?:code|otp)(?![A-Za-z])",
        re.IGNORECASE,
    ),
    SecretKind.CVV: re.compile(
        r"安全[码碼]|(?:卡背面?|背面)的?[后末]?[三3]位|(?<![A-Za-z])(?:cvv|cvc|cvn)2?(?![A-Za-z])",
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


# --- Card and ID numbers ----------------------------------------------------------------

_DIGIT_GROUPS = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")
CARD_DIGITS = (13, 19)

_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
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


def _card_windows(groups: list[re.Match[str]]) -> Iterator[tuple[int, int]]:
    """Windows of whole groups holding 13-19 digits, leftmost first, longest first."""
    low, high = CARD_DIGITS
    for first in range(len(groups)):
        count = 0
        lasts: list[int] = []
        for last in range(first, len(groups)):
            count += len(groups[last].group())
            if count > high:
                break
            if count >= low:
                lasts.append(last)
        for last in reversed(lasts):
            yield first, last


def _card_numbers(text: str) -> Iterator[Finding]:
    for run in _DIGIT_GROUPS.finditer(text):
        groups = list(_GROUP.finditer(text, run.start(), run.end()))
        taken_until = -1
        # A run may hold more than a card ("2026-11-21 6222…"): take the longest valid
        # window of whole groups, leftmost first.
        for first, last in _card_windows(groups):
            if first <= taken_until:
                continue
            window = groups[first : last + 1]
            digits = "".join(group.group() for group in window)
            start, end = window[0].start(), window[-1].end()
            glued = start > 0 and text[start - 1].isascii() and text[start - 1].isalpha()
            # An ID number that happens to pass Luhn is reported as an ID only.
            if glued or not luhn_valid(digits) or (len(window) == 1 and id_checksum_valid(digits)):
                continue
            yield Finding(SecretKind.CARD_NUMBER, start, end)
            taken_until = last


def _id_numbers(text: str) -> Iterator[Finding]:
    for match in _ID_NUMBER.finditer(text):
        if id_checksum_valid(match.group()):
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


def scan(text: str) -> GuardResult:
    findings = _prune(
        [
            *_mnemonics(text),
            *_keyword_numbers(text),
            *_card_numbers(text),
            *_id_numbers(text),
        ]
    )
    return GuardResult(text=_redacted(text, findings), findings=findings)


def redact(text: str) -> str:
    return scan(text).text


def contains_secret(text: str) -> bool:
    """True for a secret, and for a message that was already redacted upstream."""
    return REDACTED in text or scan(text).found
