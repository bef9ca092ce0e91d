"""The FAQ content: its schema, a loader that reports every problem with file:line, and
a writer of entries laid out like the file.

The people who keep ``data/faq_zh.yml`` are not programmers, so errors name the line,
the entry and the field, in Chinese, and all of them are reported at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kb.text import is_traditional

MIN_PARAPHRASES = 8


class Category(StrEnum):
    """FAQ categories, the same list the ticket form offers, so a hint can pre-fill it."""

    LOGIN = "登录与密码"
    PAYMENT = "支付"
    TOPUP = "充值"
    WITHDRAW = "提现"
    TRANSFER = "转账"
    SECURITY = "账户安全"
    OTHER = "其他"


# An answer must never ask the user to hand over a secret. Matches phrasings such as
# 「请提供验证码」「把密码发给客服」「告诉我们您的助记词」.
_SECRETS = r"(密码|验证码|校验码|CVV|cvv|安全码|助记词|私钥)"
_ASKING = r"(请|麻烦|需要|务必)?\s*(提供|告诉|告知|发送|发给|报给|输入给|回复)"
_ASKS_FOR_SECRET = re.compile(_ASKING + r"[^。！？\n]{0,12}" + _SECRETS)


class FAQ(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    category: Category
    question: str = Field(min_length=2)
    paraphrases: tuple[str, ...]
    answer: str = Field(min_length=1)
    escalate: Literal["ticket", "human"] | None = None

    @field_validator("paraphrases")
    @classmethod
    def _enough_varied_paraphrases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(p.strip() for p in value)
        if any(not p for p in cleaned):
            raise ValueError("释义不能为空字符串")
        if len(cleaned) < MIN_PARAPHRASES:
            raise ValueError(f"至少需要 {MIN_PARAPHRASES} 条释义，现在只有 {len(cleaned)} 条")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("释义有重复")
        if not any(is_traditional(p) for p in cleaned):
            raise ValueError("至少需要一条繁体字释义")
        return cleaned

    @field_validator("answer")
    @classmethod
    def _never_asks_for_secrets(cls, value: str) -> str:
        match = _ASKS_FOR_SECRET.search(value)
        if match:
            raise ValueError(f"回答不能向用户索要密码、验证码、CVV 或助记词：「{match.group(0)}」")
        return value

    @property
    def texts(self) -> tuple[str, ...]:
        """Everything a user might type for this FAQ: the canonical question and its paraphrases."""
        return (self.question, *self.paraphrases)


@dataclass(frozen=True)
class ContentIssue:
    path: Path
    line: int
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.entry}] {self.field}: {self.message}"


class ContentError(Exception):
    """The FAQ file has problems; ``issues`` lists every one of them."""

    def __init__(self, issues: list[ContentIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


@dataclass(frozen=True)
class FAQCollection:
    faqs: tuple[FAQ, ...]
    content_hash: str

    def __iter__(self) -> Iterator[FAQ]:
        return iter(self.faqs)

    def __len__(self) -> int:
        return len(self.faqs)

    def by_id(self) -> dict[str, FAQ]:
        return {faq.id: faq for faq in self.faqs}


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _key_nodes(mapping: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    return {str(key.value): (key, value) for key, value in mapping.value}


def _duplicate_keys(mapping: yaml.MappingNode) -> list[tuple[str, int]]:
    seen: set[str] = set()
    duplicates = []
    for key, _ in mapping.value:
        if key.value in seen:
            duplicates.append((str(key.value), _line(key)))
        seen.add(key.value)
    return duplicates


def load_faqs(path: Path) -> FAQCollection:
    """Read and validate the FAQ file; raise ContentError listing every problem found."""
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ContentError([ContentIssue(path, line, "-", "YAML", f"语法错误：{exc}")]) from exc

    if not isinstance(root, yaml.MappingNode) or "faqs" not in _key_nodes(root):
        raise ContentError([ContentIssue(path, 1, "-", "faqs", "文件顶层必须是含 faqs 列表的映射")])
    faqs_node = _key_nodes(root)["faqs"][1]
    if not isinstance(faqs_node, yaml.SequenceNode):
        raise ContentError([ContentIssue(path, _line(faqs_node), "-", "faqs", "faqs 必须是列表")])

    issues: list[ContentIssue] = []
    faqs: list[FAQ] = []
    first_line_of_id: dict[str, int] = {}
    for position, entry_node in enumerate(faqs_node.value, start=1):
        entry_issues, faq = _validate_entry(path, position, entry_node)
        issues.extend(entry_issues)
        if faq is None:
            continue
        if faq.id in first_line_of_id:
            issues.append(
                ContentIssue(
                    path,
                    _line(entry_node),
                    faq.id,
                    "id",
                    f"id 重复（第一次出现在第 {first_line_of_id[faq.id]} 行）",
                )
            )
            continue
        first_line_of_id[faq.id] = _line(entry_node)
        faqs.append(faq)
    if issues:
        raise ContentError(issues)
    return FAQCollection(tuple(faqs), hashlib.sha256(raw).hexdigest())


def _validate_entry(
    path: Path, position: int, node: yaml.Node
) -> tuple[list[ContentIssue], FAQ | None]:
    if not isinstance(node, yaml.MappingNode):
        return [ContentIssue(path, _line(node), f"#{position}", "-", "每个条目必须是映射")], None
    keys = _key_nodes(node)
    label = str(keys["id"][1].value) if "id" in keys else f"#{position}"
    issues = [
        ContentIssue(path, line, label, key, "字段重复") for key, line in _duplicate_keys(node)
    ]
    data: dict[str, Any] = yaml.safe_load(yaml.serialize(node))
    try:
        faq = FAQ.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "-"
            line = _line(keys[field][0]) if field in keys else _line(node)
            issues.append(ContentIssue(path, line, label, field, _chinese_message(error)))
        return issues, None
    return issues, (None if issues else faq)


def _chinese_message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "未知字段（允许的字段：id、category、question、paraphrases、answer、escalate）"
    if kind == "missing":
        return "缺少必填字段"
    if kind in ("string_too_short", "string_type") and error["loc"] == ("answer",):
        return "回答不能为空"
    if kind == "string_too_short":
        return "内容太短或为空"
    if kind == "enum":
        return "分类必须是：" + "、".join(c.value for c in Category)
    if kind == "literal_error":
        return "escalate 只能是 ticket 或 human"
    if kind == "string_pattern_mismatch":
        return "id 只能由小写字母、数字和下划线组成，并以字母开头"
    message = str(error.get("msg", kind))
    return message.removeprefix("Value error, ")


class _FaqFileDumper(yaml.SafeDumper):
    """Indents lists under their key, as data/faq_zh.yml does ("  - id:", "      - ...")."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump_paraphrases_yaml(
    paraphrases: Mapping[str, Sequence[str]],
    *,
    header: Sequence[str] = (),
    notes: Mapping[str, str] | None = None,
) -> str:
    """A ``faqs:`` list of ``id`` + ``paraphrases`` entries, laid out like data/faq_zh.yml.

    The indentation is the file's, so an entry's paraphrase lines paste straight into the
    entry with the same id. ``header`` lines become comments at the top, and ``notes``
    a comment above the entry of that id.
    """
    lines = [f"# {line}" for line in header]
    lines.append("faqs:" if paraphrases else "faqs: []")
    for faq_id, texts in paraphrases.items():
        block = yaml.dump(
            {"faqs": [{"id": faq_id, "paraphrases": list(texts)}]},
            Dumper=_FaqFileDumper,
            allow_unicode=True,
            sort_keys=False,
            width=1000,
            indent=2,
        )
        if notes and faq_id in notes:
            lines.append(f"  # {notes[faq_id]}")
        lines.extend(block.splitlines()[1:])  # without its own "faqs:" line
    return "\n".join(lines) + "\n"
