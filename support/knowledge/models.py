"""Tables of the versioned KB store.

``kb_entries`` is the draft: the working copy editors change. A publish snapshots the
live entries into an immutable ``kb_versions`` row, whose ``manifest`` lists
(entry id, content hash) pairs; the entry records themselves live once per distinct
content in ``kb_contents``, so a version of 100,000 entries that changes one costs one
new record and one manifest.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from support.storage import Base


class KbEntry(Base):
    """An entry as the draft holds it."""

    __tablename__ = "kb_entries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, index=True)  # the file's order
    category: Mapped[str] = mapped_column(String(32), index=True)
    question: Mapped[str] = mapped_column(Text)
    paraphrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    escalate: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner: Mapped[str | None] = mapped_column(String(64))
    last_reviewed: Mapped[date | None] = mapped_column(Date)
    wechat_answer: Mapped[str | None] = mapped_column(Text)
    # Lower-cased id, question, paraphrases, answer and tags: the list's search box.
    search_text: Mapped[str] = mapped_column(Text)
    # sha256 of the entry's record (kb.content.faq_record) as the draft holds it, and as
    # the live version holds it (None: not in the live version). They differ = changed.
    content_hash: Mapped[str] = mapped_column(String(64))
    published_hash: Mapped[str | None] = mapped_column(String(64))
    published_version: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64))


class KbEntryRevision(Base):
    """Every saved state of an entry: a stale save is answered with what changed since."""

    __tablename__ = "kb_entry_revisions"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    saved_by: Mapped[str] = mapped_column(String(64))


class KbContent(Base):
    """An entry record, stored once per distinct content (content-addressed)."""

    __tablename__ = "kb_contents"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)


class KbVersion(Base):
    """A publish: immutable once written."""

    __tablename__ = "kb_versions"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # [[entry id, content hash], ...] in the file's order.
    manifest: Mapped[list[list[str]]] = mapped_column(JSON)
    # The diff against the version before (support.knowledge.schemas.EntryDiff records).
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    entries: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    build_id: Mapped[str | None] = mapped_column(String(64))
    rollback_of: Mapped[int | None] = mapped_column(Integer)
    gate_overridden: Mapped[bool] = mapped_column(Boolean, default=False)


class KbCandidate(Base):
    """A candidate paraphrase waiting for an editor: from clarify picks, agents, 👎."""

    __tablename__ = "kb_candidates"
    __table_args__ = (UniqueConstraint("query", "faq_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    faq_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KbAudit(Base):
    """Every change and every publish, for the console's audit log."""

    __tablename__ = "kb_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    entry_id: Mapped[str | None] = mapped_column(String(64), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KbSetting(Base):
    """Workspace settings: the categories, the clarify-pick watermark."""

    __tablename__ = "kb_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
