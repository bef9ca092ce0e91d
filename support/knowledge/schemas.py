"""Views of the versioned KB store: what the console, the CLI and the tests read.

Pydantic models that read straight from the store's objects (``from_attributes``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RoleName = Literal["admin", "editor", "agent"]


class EntryStatus(StrEnum):
    DRAFT = "draft"  # new, never published
    PUBLISHED = "published"
    ARCHIVED = "archived"  # out of the index; kept for history and restore


class Issue(BaseModel):
    """One validation problem: which entry (or CSV/Excel row), which field, what to do."""

    entry: str  # entry id, or "#<position>" when the id itself is missing
    field: str
    message: str
    level: Literal["error", "warning"] = "error"
    row: int | None = None  # the file's row (CSV/Excel/YAML line) on imports


class EntryView(BaseModel):
    """An entry as the draft holds it (what the editor edits)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    category: str
    question: str
    paraphrases: list[str]
    answer: str
    escalate: Literal["ticket", "human"] | None = None
    status: EntryStatus
    tags: list[str]
    related: list[str]
    owner: str | None = None
    last_reviewed: date | None = None
    wechat_answer: str | None = None
    revision: int  # send it back on save; bumps on every change
    updated_at: datetime
    updated_by: str
    # Changed since the published version (or new, or archived since): goes out on 「发布」.
    changed: bool
    published_version: int | None  # the last version this entry was published in


class FieldChange(BaseModel):
    field: str
    before: Any
    after: Any


class EntryDiff(BaseModel):
    id: str
    kind: Literal["added", "changed", "archived", "restored", "removed"]
    question: str
    changes: list[FieldChange]  # empty for added/removed


class ConflictBody(BaseModel):
    """The 409 of a stale save: the entry as it is now and what changed since."""

    detail: str
    current: EntryView
    changes: list[FieldChange]  # from the revision the editor had to the current one
    changed_by: str
    changed_at: datetime


class DraftView(BaseModel):
    base_version: int | None  # the published version the draft started from
    changes: list[EntryDiff]  # what 「发布」 would publish
    errors: list[Issue]  # publishing refuses while any remain
    warnings: list[Issue]


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    author: str
    note: str
    created_at: datetime
    entries: int
    added: int
    changed: int
    removed: int
    build_id: str | None  # the index built for it
    rollback_of: int | None = None  # republished content of this version
    gate_overridden: bool = False
    current: bool = False  # the version live now


class VersionDetail(VersionSummary):
    diff: list[EntryDiff]  # against the version before


class ScoredCandidate(BaseModel):
    id: str
    question: str
    category: str
    dense: float
    lexical: float
    fused: float


class Thresholds(BaseModel):
    answer: float
    margin: float
    clarify: float
    dense_weight: float
    # The head's probability at which its own first choice is answered too (None: never).
    backed: float | None = None


class HitTestSide(BaseModel):
    label: Literal["published", "draft"]
    version: int | None  # published version number; None for the draft
    available: bool  # False: nothing published yet / the draft index could not be built
    error: str | None = None
    decision: Literal["answer", "clarify", "fallback"] | None = None
    candidates: list[ScoredCandidate] = []
    thresholds: Thresholds | None = None
    latency_ms: float = 0.0
    # The head taught by the dev split found "none of these" likelier than the best
    # entry, which would have been answered otherwise (kb QueryResult.held_back).
    held_back: bool = False
    # Answered because the head was sure of its own choice (kb QueryResult.backed).
    backed: bool = False


class HitTestView(BaseModel):
    query: str
    published: HitTestSide
    draft: HitTestSide
    same: bool  # same decision and same top candidate on both sides


class GateQuery(BaseModel):
    query: str
    expected: str | None  # FAQ id; None = out of scope (should fall back)
    published: str  # "answer:<id>", "clarify:<id>" or "fallback"
    draft: str


class GateSplit(BaseModel):
    name: str  # the eval file, e.g. dev.jsonl
    queries: int
    top1_published: float  # percent
    top1_draft: float
    oos_published: float | None  # percent of out-of-scope queries rejected
    oos_draft: float | None


class GateReport(BaseModel):
    passed: bool
    max_drop_points: float  # 2.0
    splits: list[GateSplit]
    changed: list[GateQuery]  # queries whose outcome differs, worse first


class PublishView(BaseModel):
    version: VersionSummary
    build_id: str
    seconds: float
    encoded_rows: int  # rows that had to be encoded (the rest came from the cache)
    gate: GateReport | None  # None when there was no published version to compare with


class FunnelRow(BaseModel):
    faq_id: str
    question: str
    category: str
    answered: int
    offered: int  # offered in a clarify list
    picked: int  # picked from a clarify list
    thumbs_up: int
    thumbs_down: int
    denied: int  # 「否」 right after the answer
    handoff_after: int  # a handoff or a ticket later in the same conversation
    satisfaction: float | None  # thumbs_up / (up + down)
    trouble_rate: float | None  # (down + denied + handoff_after) / answered
    weakness: float  # how much the entry needs work (the 待改进 order)


class FunnelView(BaseModel):
    days: int
    since: datetime
    rows: list[FunnelRow]
    needs_work: list[FunnelRow]  # 待改进: the weakest answers with enough traffic


class CandidateView(BaseModel):
    """A candidate paraphrase waiting for review."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    query: str
    faq_id: str
    question: str | None  # the entry's question; None if the entry is gone
    source: Literal["clarify_pick", "agent", "thumbs_down", "unanswered"]
    count: int  # how often it was seen (clarify picks of the same query)
    status: Literal["pending", "accepted", "rejected"]
    created_by: str
    created_at: datetime


class ImportReport(BaseModel):
    format: Literal["yaml", "csv", "xlsx"]
    created: int
    updated: int
    unchanged: int
    errors: list[Issue]  # by row; nothing is imported while there are errors
    warnings: list[Issue]


class AuditEntryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str  # entry.create, entry.update, entry.archive, publish, rollback, gate.override, ...
    entry_id: str | None
    version: int | None
    summary: str  # Chinese, one line
    details: dict[str, Any]


class EntryPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[EntryView]
    categories: list[str]  # for the filter
    tags: list[str]  # every tag in use, for the filter


class ValidationOut(BaseModel):
    ok: bool  # no errors (warnings may remain)
    errors: list[Issue]
    warnings: list[Issue]


class CandidateReviewOut(BaseModel):
    accepted: int  # added to their entries' paraphrases in the draft
    rejected: int
    skipped: list[Issue]  # e.g. already a paraphrase, the entry is gone, or it asks for secrets


class AuditPage(BaseModel):
    total: int
    items: list[AuditEntryView]


def _no_nul(value: Any) -> Any:
    """PostgreSQL refuses NUL in text: stored or compared, it would be a 500."""
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ValueError("不能包含空字符（\\x00）")
    return value


class _TextInput(BaseModel):
    """Request bodies whose text reaches the database."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class EntryIn(_TextInput):
    """A new entry (it goes into the draft; 「发布」 makes it live)."""

    id: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=32)
    question: str = Field(min_length=1, max_length=200)
    paraphrases: list[str] = Field(default_factory=list, max_length=500)
    answer: str = Field(min_length=1, max_length=4000)
    escalate: Literal["ticket", "human"] | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    related: list[str] = Field(default_factory=list, max_length=50)  # ids of other entries
    owner: str | None = Field(default=None, max_length=64)
    last_reviewed: date | None = None
    wechat_answer: str | None = Field(default=None, max_length=600)  # short answer for WeChat


class EntryUpdateIn(_TextInput):
    """A save from the editor: the fields given replace the entry's; the rest stay.

    ``revision`` is the one the editor loaded; a stale one answers 409 with what changed.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    revision: int = Field(ge=0, le=2**31 - 1)
    category: str | None = Field(default=None, min_length=1, max_length=32)
    question: str | None = Field(default=None, min_length=1, max_length=200)
    paraphrases: list[str] | None = Field(default=None, max_length=500)
    answer: str | None = Field(default=None, min_length=1, max_length=4000)
    escalate: Literal["ticket", "human"] | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    related: list[str] | None = Field(default=None, max_length=50)
    owner: str | None = Field(default=None, max_length=64)
    last_reviewed: date | None = None
    wechat_answer: str | None = Field(default=None, max_length=600)


class LearnIn(_TextInput):
    """One click from the analytics: a user's question into the draft.

    Either ``faq_id`` (the question becomes a paraphrase of that entry) or ``new_entry``
    (a new entry whose question is the user's, unless the entry gives its own).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    query: str = Field(min_length=1, max_length=200)
    faq_id: str | None = Field(default=None, max_length=64)
    new_entry: EntryIn | None = None
