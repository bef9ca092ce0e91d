"""The FAQ content: its schema, a loader that reports every problem with file:line, and
a writer of entries laid out like the file.

The people who keep ``data/faq_zh.yml`` are not programmers, so errors name the line,
the entry and the field, in Chinese, and all of them are reported at once.

Strict where it protects users (an answer never asks for a secret; no duplicate ids or
questions); advice where it is a matter of quality (how many paraphrases, a traditional
one): those are warnings, so any wallet's FAQ loads. Categories are a list the caller
gives (the knowledge workspace stores one); the default is Kefu's own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import core_schema

from kb.text import canonicalize, is_traditional

# Advice, not a rule: fewer paraphrases is a warning (another wallet's FAQ may have none).
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


DEFAULT_CATEGORIES: tuple[str, ...] = tuple(category.value for category in Category)


class CategoryName(str):
    """A category: any name from the configured list, read like a Category (``.value``)."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: type[Any], _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(min_length=1, max_length=32, strip_whitespace=True),
            serialization=core_schema.to_string_ser_schema(),
        )


ENTRY_STATUSES = ("draft", "published", "archived")

# An answer must never ask the user to hand over a secret. Matches phrasings such as
# 「请提供验证码」「把密码发给客服」「告诉我们您的助记词」.
_SECRETS = r"(密码|验证码|校验码|CVV|cvv|安全码|助记词|私钥)"
_ASKING = r"(请|麻烦|需要|务必)?\s*(提供|告诉|告知|发送|发给|报给|输入给|回复)"
_HANDING_OVER = r"(发给|发送|告诉|告知|报给|提供给|输入给|回复给?)"
_ASKS_FOR_SECRET = (
    # 「请提供验证码」: the verb first.
    re.compile(_ASKING + r"[^。！？\n]{0,12}" + _SECRETS),
    # 「把密码发给客服」「请将短信验证码告诉我们」: the secret first.
    re.compile(r"(把|将)[^。！？\n]{0,8}" + _SECRETS + r"[^。！？\n]{0,8}" + _HANDING_OVER),
)
# 「请勿把验证码告诉任何人」「客服不会要求您提供密码」 warn; they do not ask.
_NEGATION = re.compile(r"(不|勿|别|莫|禁止|never)", re.IGNORECASE)


def secret_request(text: str) -> str | None:
    """The phrase of ``text`` that asks the user for a secret, if any."""
    for pattern in _ASKS_FOR_SECRET:
        for match in pattern.finditer(text):
            # The few characters before the phrase, within its own clause.
            before = re.split(r"[，,。！？；;\n]", text[max(0, match.start() - 6) : match.start()])
            if not _NEGATION.search(before[-1]):
                return match.group(0)
    return None


class FAQ(BaseModel):
    """One entry. Optional fields are left out of the file when unset (``dump_faqs_yaml``).

    ``category`` is checked against ``context={"categories": [...]}`` when validating
    with one (loading a file always does); without a context any category loads, so an
    index built with a workspace's own categories loads anywhere.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    category: CategoryName
    question: str = Field(min_length=2)
    paraphrases: tuple[str, ...] = ()
    answer: str = Field(min_length=1)
    escalate: Literal["ticket", "human"] | None = None
    # Maintainers' fields (the knowledge workspace); none changes retrieval.
    status: Literal["draft", "published", "archived"] | None = None
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()  # ids of related entries
    owner: str | None = None
    last_reviewed: date | None = None
    wechat_answer: str | None = None  # a short answer for WeChat

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: CategoryName, info: ValidationInfo) -> CategoryName:
        allowed = (info.context or {}).get("categories")
        if allowed is not None and value not in allowed:
            raise ValueError("分类必须是：" + "、".join(allowed))
        return value

    @field_validator("paraphrases")
    @classmethod
    def _distinct_paraphrases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(p.strip() for p in value)
        if any(not p for p in cleaned):
            raise ValueError("释义不能为空字符串")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("释义有重复")
        return cleaned

    @field_validator("tags", "related")
    @classmethod
    def _clean_labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(item.strip() for item in value)
        if any(not item for item in cleaned):
            raise ValueError("不能有空的一项")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("有重复的一项")
        return cleaned

    @field_validator("answer", "wechat_answer")
    @classmethod
    def _never_asks_for_secrets(cls, value: str | None) -> str | None:
        asked = secret_request(value) if value else None
        if asked:
            raise ValueError(f"回答不能向用户索要密码、验证码、CVV 或助记词：「{asked}」")
        return value

    @property
    def texts(self) -> tuple[str, ...]:
        """Everything a user might type for this FAQ: the canonical question and its paraphrases."""
        return (self.question, *self.paraphrases)


def content_warnings(faq: FAQ) -> list[tuple[str, str]]:
    """Advice on one entry, as (field, message): quality, never a reason to refuse it."""
    warnings = []
    if len(faq.paraphrases) < MIN_PARAPHRASES:
        warnings.append(
            (
                "paraphrases",
                f"建议至少 {MIN_PARAPHRASES} 条释义（现在 {len(faq.paraphrases)} 条）："
                "补充用户真实的问法，如口语、简写、错别字、中英夹杂，命中率会更高",
            )
        )
    if faq.paraphrases and not any(is_traditional(p) for p in faq.paraphrases):
        warnings.append(("paraphrases", "建议加一条繁体字释义：港澳台和海外用户常用繁体提问"))
    return warnings


def duplicate_questions(faqs: Iterable[FAQ]) -> list[tuple[str, str, str]]:
    """Texts that two entries share, as (entry id, field, message) for the later entry.

    Compared after ``canonicalize`` (full-width, case, traditional → simplified): one
    question cannot lead to two answers.
    """
    owner_of: dict[str, str] = {}
    found = []
    for faq in faqs:
        for position, text in enumerate(faq.texts):
            key = canonicalize(text)
            owner = owner_of.setdefault(key, faq.id)
            if owner != faq.id:
                where = "question" if position == 0 else "paraphrases"
                found.append((faq.id, where, f"「{text}」与条目 {owner} 的问法重复"))
    return found


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

    def __init__(self, issues: list[ContentIssue], warnings: Sequence[ContentIssue] = ()) -> None:
        self.issues = issues
        self.warnings = tuple(warnings)  # advice on the entries that were valid
        super().__init__("\n".join(str(issue) for issue in issues))


@dataclass(frozen=True)
class FAQCollection:
    faqs: tuple[FAQ, ...]
    content_hash: str
    warnings: tuple[ContentIssue, ...] = field(default=(), compare=False)

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


def load_faqs(path: Path, categories: Sequence[str] | None = None) -> FAQCollection:
    """Read and validate the FAQ file; raise ContentError listing every problem found.

    ``categories``: the allowed ones (default: Kefu's seven). Advice comes back in the
    collection's ``warnings``.
    """
    return parse_faqs(path.read_bytes(), path, categories)


def parse_faqs(raw: bytes, path: Path, categories: Sequence[str] | None = None) -> FAQCollection:
    """``load_faqs`` for bytes already read (an upload); ``path`` names it in issues."""
    allowed = tuple(categories) if categories is not None else DEFAULT_CATEGORIES
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ContentError([ContentIssue(path, 1, "-", "-", "文件不是 UTF-8 编码")]) from None
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
        entry_issues, faq = _validate_entry(path, position, entry_node, allowed)
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
    for entry_id, where, message in duplicate_questions(faqs):
        issues.append(ContentIssue(path, first_line_of_id[entry_id], entry_id, where, message))
    warnings = tuple(
        ContentIssue(path, first_line_of_id[faq.id], faq.id, where, message)
        for faq in faqs
        for where, message in content_warnings(faq)
    )
    if issues:
        raise ContentError(issues, warnings)
    return FAQCollection(tuple(faqs), hashlib.sha256(raw).hexdigest(), warnings)


def _validate_entry(
    path: Path, position: int, node: yaml.Node, categories: Sequence[str]
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
        faq = FAQ.model_validate(data, context={"categories": categories})
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "-"
            line = _line(keys[where][0]) if where in keys else _line(node)
            issues.append(ContentIssue(path, line, label, where, chinese_message(error)))
        return issues, None
    return issues, (None if issues else faq)


FIELDS = (
    "id",
    "category",
    "question",
    "paraphrases",
    "answer",
    "escalate",
    "status",
    "tags",
    "related",
    "owner",
    "last_reviewed",
    "wechat_answer",
)


def chinese_message(error: Any) -> str:
    """One pydantic error of an FAQ field, in words a maintainer reads."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "未知字段（允许的字段：" + "、".join(FIELDS) + "）"
    if kind == "missing":
        return "缺少必填字段"
    if kind in ("string_too_short", "string_type") and error["loc"] == ("answer",):
        return "回答不能为空"
    if kind == "string_too_short":
        return "内容太短或为空"
    if kind == "literal_error" and error["loc"][:1] == ("status",):
        return "status 只能是 draft、published 或 archived"
    if kind == "literal_error":
        return "escalate 只能是 ticket 或 human"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return "日期格式应为 2026-01-31"
    if kind == "string_too_long":
        return f"太长了（最多 {error.get('ctx', {}).get('max_length')} 个字符）"
    if kind == "string_pattern_mismatch":
        return "id 只能由小写字母、数字和下划线组成，并以字母开头"
    message = str(error.get("msg", kind))
    return message.removeprefix("Value error, ")


class _FaqFileDumper(yaml.SafeDumper):
    """Indents lists under their key, as data/faq_zh.yml does ("  - id:", "      - ...")."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Multi-line answers as literal blocks ("answer: |-"), the way people write them.
    style = "|" if "\n" in text and not text.endswith((" ", "\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_FaqFileDumper.add_representer(str, _represent_text)


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


FILE_HEADER = (
    "Kefu 钱包客服知识库（简体中文）。由知识库工作台导出（`kefu kb export`）。",
    "",
    "每个条目：",
    "  id             主题标识（小写字母、数字、下划线），对话和统计都用它",
    "  category       分类（工作台可配置）",
    "  question       标准问题",
    "  paraphrases    用户会怎么问：口语、简短、错别字、中英夹杂，建议至少 8 条、含一条繁体",
    "  answer         简洁可操作的回答；绝不向用户索要密码、验证码、CVV 或助记词",
    "  escalate       可选：ticket（建议提交工单）或 human（建议转人工）",
    "  status         可选：draft / published / archived",
    "  tags、related、owner、last_reviewed、wechat_answer  可选：标签、相关条目、负责人、",
    "                 最近复核日期、微信短回答",
)


def faq_record(faq: FAQ) -> dict[str, Any]:
    """An entry as the file holds it: fields in schema order, unset optional ones left out."""
    record = faq.model_dump(mode="json", exclude_defaults=True)
    record["paraphrases"] = list(faq.paraphrases)  # always written, even when empty
    return {name: record[name] for name in FIELDS if name in record}


def dump_faqs_yaml(faqs: Iterable[FAQ], *, header: Sequence[str] = FILE_HEADER) -> str:
    """The whole FAQ file: ``load_faqs`` reads it back to equal entries (exact round trip)."""
    lines = [f"# {line}".rstrip() for line in header]
    records = [faq_record(faq) for faq in faqs]
    if not records:
        lines.append("faqs: []")
        return "\n".join(lines) + "\n"
    body = yaml.dump(
        {"faqs": records},
        Dumper=_FaqFileDumper,
        allow_unicode=True,
        sort_keys=False,
        width=1000,
        indent=2,
    )
    return "\n".join(lines) + "\n" + body
