"""The versioned KB store: the draft's entries, immutable versions, candidates, audit.

Only database work happens here; validation, index builds and the eval gate are the
workspace's (support.knowledge.flows). Entry records are kb.content's file records, so
the store, the YAML file, CSV/Excel and the index all hold the same shape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kb.content import FAQ, faq_record
from support.knowledge.errors import (
    EntryExistsError,
    EntryNotFoundError,
    StaleRevisionError,
    VersionNotFoundError,
)
from support.knowledge.models import (
    KbAudit,
    KbCandidate,
    KbContent,
    KbEntry,
    KbEntryRevision,
    KbSetting,
    KbVersion,
)
from support.knowledge.schemas import (
    AuditEntryView,
    CandidateView,
    ConflictBody,
    EntryDiff,
    EntryStatus,
    EntryView,
    FieldChange,
    VersionDetail,
    VersionSummary,
)
from support.storage import as_utc, transaction

ExportFormat = Literal["yaml", "csv", "xlsx"]
Manifest = list[tuple[str, str]]  # (entry id, content hash) in the file's order

# Fields of a record that are content (what a version holds); status is the lifecycle.
CONTENT_FIELDS = (
    "id",
    "category",
    "question",
    "paraphrases",
    "answer",
    "escalate",
    "tags",
    "related",
    "owner",
    "last_reviewed",
    "wechat_answer",
)
CATEGORIES_KEY = "categories"
CLARIFY_WATERMARK_KEY = "clarify_pick_watermark"


def content_record(faq: FAQ) -> dict[str, Any]:
    """The entry's content as a version holds it: the file record without ``status``."""
    record = faq_record(faq)
    record.pop("status", None)
    return record


def record_hash(record: dict[str, Any]) -> str:
    canonical = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def manifest_hash(manifest: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for entry_id, content in manifest:
        digest.update(f"{entry_id}:{content}\n".encode())
    return digest.hexdigest()


def _search_text(record: dict[str, Any]) -> str:
    parts = [
        record["id"],
        record["question"],
        *record.get("paraphrases", []),
        record["answer"],
        record.get("wechat_answer") or "",
        record.get("owner") or "",
    ]
    tags = "".join(f"\n#{tag}#" for tag in record.get("tags", []))
    return "\n".join(parts).lower() + tags


def field_changes(
    before: dict[str, Any], after: dict[str, Any], *, with_status: bool = True
) -> list[FieldChange]:
    names = (*CONTENT_FIELDS, "status") if with_status else CONTENT_FIELDS
    return [
        FieldChange(field=name, before=before.get(name), after=after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    ]


def _changed_clause() -> Any:
    archived = KbEntry.status == EntryStatus.ARCHIVED.value
    return or_(
        and_(archived, KbEntry.published_hash.is_not(None)),
        and_(
            ~archived,
            or_(KbEntry.published_hash.is_(None), KbEntry.published_hash != KbEntry.content_hash),
        ),
    )


def _is_changed(entry: KbEntry) -> bool:
    if entry.status == EntryStatus.ARCHIVED.value:
        return entry.published_hash is not None
    return entry.published_hash != entry.content_hash


def _entry_record(entry: KbEntry) -> dict[str, Any]:
    """The draft entry as a file record, ``status`` included."""
    record: dict[str, Any] = {
        "id": entry.id,
        "category": entry.category,
        "question": entry.question,
        "paraphrases": list(entry.paraphrases),
        "answer": entry.answer,
        "escalate": entry.escalate,
        "tags": list(entry.tags),
        "related": list(entry.related),
        "owner": entry.owner,
        "last_reviewed": entry.last_reviewed.isoformat() if entry.last_reviewed else None,
        "wechat_answer": entry.wechat_answer,
        "status": entry.status,
    }
    return record


def _view(entry: KbEntry) -> EntryView:
    return EntryView(
        id=entry.id,
        category=entry.category,
        question=entry.question,
        paraphrases=list(entry.paraphrases),
        answer=entry.answer,
        escalate=entry.escalate,  # type: ignore[arg-type]
        status=EntryStatus(entry.status),
        tags=list(entry.tags),
        related=list(entry.related),
        owner=entry.owner,
        last_reviewed=entry.last_reviewed,
        wechat_answer=entry.wechat_answer,
        revision=entry.revision,
        updated_at=as_utc(entry.updated_at),
        updated_by=entry.updated_by,
        changed=_is_changed(entry),
        published_version=entry.published_version,
    )


def _apply(entry: KbEntry, record: dict[str, Any]) -> None:
    entry.category = record["category"]
    entry.question = record["question"]
    entry.paraphrases = list(record.get("paraphrases", []))
    entry.answer = record["answer"]
    entry.escalate = record.get("escalate")
    entry.tags = list(record.get("tags", []))
    entry.related = list(record.get("related", []))
    entry.owner = record.get("owner")
    reviewed = record.get("last_reviewed")
    entry.last_reviewed = date.fromisoformat(reviewed) if isinstance(reviewed, str) else reviewed
    entry.wechat_answer = record.get("wechat_answer")
    entry.search_text = _search_text(record)
    entry.content_hash = record_hash(record)


def _summary(version: KbVersion, current: int | None) -> dict[str, Any]:
    return {
        "number": version.number,
        "author": version.author,
        "note": version.note,
        "created_at": as_utc(version.created_at),
        "entries": version.entries,
        "added": version.added,
        "changed": version.changed,
        "removed": version.removed,
        "build_id": version.build_id,
        "rollback_of": version.rollback_of,
        "gate_overridden": version.gate_overridden,
        "current": version.number == current,
    }


def diff_manifests(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[EntryDiff]:
    """Entry by entry, what changed from ``before`` to ``after`` (records by id)."""
    diffs = []
    for entry_id, record in after.items():
        old = before.get(entry_id)
        if old is None:
            diffs.append(
                EntryDiff(id=entry_id, kind="added", question=record["question"], changes=[])
            )
        elif old != record:
            diffs.append(
                EntryDiff(
                    id=entry_id,
                    kind="changed",
                    question=record["question"],
                    changes=field_changes(old, record),
                )
            )
    for entry_id, record in before.items():
        if entry_id not in after:
            diffs.append(
                EntryDiff(id=entry_id, kind="removed", question=record["question"], changes=[])
            )
    return diffs


@dataclass(frozen=True)
class EntryFilter:
    q: str = ""
    category: str | None = None
    tag: str | None = None
    status: EntryStatus | None = None
    changed: bool | None = None


class KbStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def sessions(self) -> Session:
        """A read session on the same database (the funnel reads the conversations)."""
        return self._sessions()

    # --- entries ------------------------------------------------------------------

    def is_empty(self) -> bool:
        with self._sessions() as session:
            entries = session.scalar(select(func.count()).select_from(KbEntry)) or 0
            versions = session.scalar(select(func.count()).select_from(KbVersion)) or 0
            return entries == 0 and versions == 0

    def list_entries(
        self, where: EntryFilter, offset: int, limit: int
    ) -> tuple[int, list[EntryView]]:
        conditions: list[Any] = []
        if where.status is None:
            conditions.append(KbEntry.status != EntryStatus.ARCHIVED.value)
        else:
            conditions.append(KbEntry.status == where.status.value)
        if where.category:
            conditions.append(KbEntry.category == where.category)
        if where.tag:
            conditions.append(KbEntry.search_text.contains(f"\n#{where.tag.lower()}#"))
        for word in where.q.lower().split():
            conditions.append(KbEntry.search_text.contains(word, autoescape=True))
        if where.changed is not None:
            clause = _changed_clause()
            conditions.append(clause if where.changed else ~clause)
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(KbEntry).where(*conditions))
            rows = session.scalars(
                select(KbEntry)
                .where(*conditions)
                .order_by(KbEntry.position)
                .offset(offset)
                .limit(limit)
            ).all()
            return int(total or 0), [_view(row) for row in rows]

    def draft_stamp(self) -> tuple[int, int, str]:
        """Changes whenever the draft does (every write bumps a revision and updated_at):
        one aggregate query, so callers can cache what they derive from the draft."""
        with self._sessions() as session:
            count, revisions, latest = session.execute(
                select(
                    func.count(KbEntry.id),
                    func.coalesce(func.sum(KbEntry.revision), 0),
                    func.max(KbEntry.updated_at),
                )
            ).one()
            return int(count), int(revisions), str(latest)

    def tags_in_use(self) -> list[str]:
        with self._sessions() as session:
            tags: set[str] = set()
            for row in session.scalars(select(KbEntry.tags)):
                tags.update(row or [])
            return sorted(tags)

    def entry(self, entry_id: str) -> EntryView:
        with self._sessions() as session:
            found = session.get(KbEntry, entry_id)
            if found is None:
                raise EntryNotFoundError(entry_id)
            return _view(found)

    def entry_record(self, entry_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            found = session.get(KbEntry, entry_id)
            if found is None:
                raise EntryNotFoundError(entry_id)
            return _entry_record(found)

    def live_texts(self) -> dict[str, list[str]]:
        """Every non-archived entry's question and paraphrases (duplicate checks)."""
        with self._sessions() as session:
            rows = session.execute(
                select(KbEntry.id, KbEntry.question, KbEntry.paraphrases).where(
                    KbEntry.status != EntryStatus.ARCHIVED.value
                )
            ).all()
            return {row.id: [row.question, *row.paraphrases] for row in rows}

    def entry_ids(self) -> set[str]:
        with self._sessions() as session:
            return set(session.scalars(select(KbEntry.id)))

    def categories_in_use(self) -> set[str]:
        with self._sessions() as session:
            return set(
                session.scalars(
                    select(KbEntry.category)
                    .where(KbEntry.status != EntryStatus.ARCHIVED.value)
                    .distinct()
                )
            )

    def _save_content(self, session: Session, record: dict[str, Any]) -> str:
        digest = record_hash(record)
        if session.get(KbContent, digest) is None:
            session.add(KbContent(hash=digest, record=record))
        return digest

    def _save_revision(self, session: Session, entry: KbEntry, actor: str, now: datetime) -> None:
        session.add(
            KbEntryRevision(
                entry_id=entry.id,
                revision=entry.revision,
                record=_entry_record(entry),
                saved_at=now,
                saved_by=actor,
            )
        )

    def create(self, faq: FAQ, actor: str) -> EntryView:
        record = content_record(faq)
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            if session.get(KbEntry, faq.id) is not None:
                raise EntryExistsError(faq.id)
            position = (session.scalar(select(func.max(KbEntry.position))) or 0) + 1
            entry = KbEntry(
                id=faq.id,
                position=position,
                status=EntryStatus.DRAFT.value,
                published_hash=None,
                published_version=None,
                revision=1,
                updated_at=now,
                updated_by=actor,
            )
            _apply(entry, record)
            self._save_content(session, record)
            session.add(entry)
            session.flush()
            self._save_revision(session, entry, actor, now)
            self._audit(
                session, actor, "entry.create", f"新建条目 {faq.id}：{faq.question}", faq.id
            )
            return _view(entry)

    def _locked(self, session: Session, entry_id: str) -> KbEntry:
        entry = session.get(KbEntry, entry_id, with_for_update=True)
        if entry is None:
            raise EntryNotFoundError(entry_id)
        return entry

    def _check_revision(self, session: Session, entry: KbEntry, revision: int) -> None:
        if entry.revision == revision:
            return
        seen = session.get(KbEntryRevision, (entry.id, revision))
        before = seen.record if seen is not None else {}
        current = _entry_record(entry)
        # A publish moves draft → published without a revision: only content and archiving
        # count as someone's change.
        changes = field_changes(before, current, with_status=False)
        if (before.get("status") == "archived") != (entry.status == "archived"):
            changes.append(
                FieldChange(field="status", before=before.get("status"), after=entry.status)
            )
        raise StaleRevisionError(
            ConflictBody(
                detail=(
                    f"条目 {entry.id} 在您打开之后已被 {entry.updated_by} 修改"
                    f"（第 {revision} 版 → 第 {entry.revision} 版），您的修改没有保存。"
                    "请查看对方的改动，合并后再保存。"
                ),
                current=_view(entry),
                changes=changes,
                changed_by=entry.updated_by,
                changed_at=as_utc(entry.updated_at),
            )
        )

    def update(
        self,
        entry_id: str,
        revision: int,
        faq: FAQ,
        actor: str,
        *,
        action: str = "entry.update",
        summary: str | None = None,
    ) -> EntryView:
        record = content_record(faq)
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            entry = self._locked(session, entry_id)
            self._check_revision(session, entry, revision)
            before = _entry_record(entry)
            _apply(entry, record)
            after = _entry_record(entry)
            changes = field_changes(before, after)
            if not changes:
                return _view(entry)
            entry.revision += 1
            entry.updated_at = now
            entry.updated_by = actor
            self._save_content(session, record)
            self._save_revision(session, entry, actor, now)
            self._audit(
                session,
                actor,
                action,
                summary or f"修改条目 {entry_id}：" + "、".join(c.field for c in changes),
                entry_id,
                details={"changes": [c.model_dump(mode="json") for c in changes]},
            )
            return _view(entry)

    def set_archived(self, entry_id: str, archived: bool, revision: int, actor: str) -> EntryView:
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            entry = self._locked(session, entry_id)
            self._check_revision(session, entry, revision)
            if archived:
                status = EntryStatus.ARCHIVED
            elif entry.published_hash is not None:
                status = EntryStatus.PUBLISHED
            else:
                status = EntryStatus.DRAFT
            if entry.status == status.value:
                return _view(entry)
            entry.status = status.value
            entry.revision += 1
            entry.updated_at = now
            entry.updated_by = actor
            self._save_revision(session, entry, actor, now)
            action = "entry.archive" if archived else "entry.restore"
            verb = "归档" if archived else "恢复"
            self._audit(session, actor, action, f"{verb}条目 {entry_id}", entry_id)
            return _view(entry)

    def discard(self, entry_id: str, revision: int, actor: str) -> EntryView | None:
        """Back to the live version's content; a never-published entry is deleted."""
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            entry = self._locked(session, entry_id)
            self._check_revision(session, entry, revision)
            if entry.published_hash is None:
                session.delete(entry)
                self._audit(session, actor, "entry.discard", f"放弃新条目 {entry_id}", entry_id)
                return None
            published = session.get(KbContent, entry.published_hash)
            assert published is not None
            _apply(entry, published.record)
            entry.status = EntryStatus.PUBLISHED.value
            entry.revision += 1
            entry.updated_at = now
            entry.updated_by = actor
            self._save_revision(session, entry, actor, now)
            self._audit(
                session, actor, "entry.discard", f"放弃条目 {entry_id} 的草稿修改", entry_id
            )
            return _view(entry)

    def import_records(self, faqs: Sequence[FAQ], actor: str, note: str) -> tuple[int, int, int]:
        """Create or update entries in the draft by id; (created, updated, unchanged)."""
        now = datetime.now(UTC)
        created = updated = unchanged = 0
        with transaction(self._sessions) as session:
            existing = {e.id: e for e in session.scalars(select(KbEntry))}
            position = max((e.position for e in existing.values()), default=0)
            for faq in faqs:
                record = content_record(faq)
                entry = existing.get(faq.id)
                status = faq.status
                if entry is None:
                    position += 1
                    entry = KbEntry(
                        id=faq.id,
                        position=position,
                        status=(
                            EntryStatus.ARCHIVED.value
                            if status == "archived"
                            else EntryStatus.DRAFT.value
                        ),
                        published_hash=None,
                        published_version=None,
                        revision=1,
                        updated_at=now,
                        updated_by=actor,
                    )
                    _apply(entry, record)
                    session.add(entry)
                    created += 1
                else:
                    before = _entry_record(entry)
                    _apply(entry, record)
                    if status == "archived":
                        entry.status = EntryStatus.ARCHIVED.value
                    elif entry.status == EntryStatus.ARCHIVED.value:
                        entry.status = (
                            EntryStatus.PUBLISHED.value
                            if entry.published_hash
                            else EntryStatus.DRAFT.value
                        )
                    if _entry_record(entry) == before:
                        unchanged += 1
                        continue
                    entry.revision += 1
                    entry.updated_at = now
                    entry.updated_by = actor
                    updated += 1
                self._save_content(session, record)
                session.flush()
                self._save_revision(session, entry, actor, now)
            self._audit(
                session,
                actor,
                "import",
                f"导入{note}：新建 {created} 条，更新 {updated} 条，未变 {unchanged} 条",
                details={"created": created, "updated": updated, "unchanged": unchanged},
            )
        return created, updated, unchanged

    def draft_manifest(self) -> Manifest:
        """The live draft entries, as a version would hold them."""
        with self._sessions() as session:
            rows = session.execute(
                select(KbEntry.id, KbEntry.content_hash)
                .where(KbEntry.status != EntryStatus.ARCHIVED.value)
                .order_by(KbEntry.position)
            ).all()
            return [(row.id, row.content_hash) for row in rows]

    def draft_records(self, *, with_archived: bool = False) -> list[dict[str, Any]]:
        with self._sessions() as session:
            query = select(KbEntry).order_by(KbEntry.position)
            if not with_archived:
                query = query.where(KbEntry.status != EntryStatus.ARCHIVED.value)
            return [_entry_record(entry) for entry in session.scalars(query)]

    def draft_changes(self) -> list[EntryDiff]:
        with self._sessions() as session:
            rows = session.scalars(
                select(KbEntry).where(_changed_clause()).order_by(KbEntry.position)
            ).all()
            published = self._contents(
                session, [r.published_hash for r in rows if r.published_hash]
            )
            diffs = []
            for entry in rows:
                current = _entry_record(entry)
                current.pop("status")
                if entry.status == EntryStatus.ARCHIVED.value:
                    diffs.append(
                        EntryDiff(id=entry.id, kind="archived", question=entry.question, changes=[])
                    )
                elif entry.published_hash is None:
                    diffs.append(
                        EntryDiff(id=entry.id, kind="added", question=entry.question, changes=[])
                    )
                else:
                    before = published.get(entry.published_hash, {})
                    diffs.append(
                        EntryDiff(
                            id=entry.id,
                            kind="changed",
                            question=entry.question,
                            changes=field_changes(_full(before), current),
                        )
                    )
            return diffs

    # --- contents and versions -------------------------------------------------------

    def _contents(self, session: Session, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(set(hashes))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for row in session.execute(
                select(KbContent.hash, KbContent.record).where(KbContent.hash.in_(chunk))
            ):
                found[row.hash] = row.record
        return found

    def contents(self, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        with self._sessions() as session:
            return self._contents(session, hashes)

    def current_version(self) -> int | None:
        with self._sessions() as session:
            return session.scalar(select(func.max(KbVersion.number)))

    def version_manifest(self, number: int) -> Manifest:
        with self._sessions() as session:
            version = session.get(KbVersion, number)
            if version is None:
                raise VersionNotFoundError(number)
            return [(entry_id, digest) for entry_id, digest in version.manifest]

    def versions(self, limit: int) -> list[VersionSummary]:
        with self._sessions() as session:
            current = session.scalar(select(func.max(KbVersion.number)))
            rows = session.scalars(
                select(KbVersion).order_by(KbVersion.number.desc()).limit(limit)
            ).all()
            return [VersionSummary(**_summary(row, current)) for row in rows]

    def version(self, number: int) -> VersionDetail:
        with self._sessions() as session:
            current = session.scalar(select(func.max(KbVersion.number)))
            row = session.get(KbVersion, number)
            if row is None:
                raise VersionNotFoundError(number)
            return VersionDetail(
                **_summary(row, current), diff=[EntryDiff(**item) for item in row.diff]
            )

    def record_version(
        self,
        manifest: Manifest,
        actor: str,
        note: str,
        *,
        build_id: str | None,
        rollback_of: int | None = None,
        gate_overridden: bool = False,
        draft_from: Manifest | None = None,
    ) -> VersionSummary:
        """Write the next version and mark the draft's entries published with it.

        ``draft_from`` (a rollback): reset the draft's entries to these contents first.
        """
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            previous = session.scalar(select(func.max(KbVersion.number)))
            before: Manifest = []
            if previous is not None:
                row = session.get(KbVersion, previous)
                assert row is not None
                before = [(entry_id, digest) for entry_id, digest in row.manifest]
            records = self._contents(session, [d for _, d in manifest] + [d for _, d in before])
            diff = diff_manifests(
                {entry_id: _full(records[d]) for entry_id, d in before},
                {entry_id: _full(records[d]) for entry_id, d in manifest},
            )
            number = (previous or 0) + 1
            if draft_from is not None:
                self._reset_draft(session, draft_from, records, actor, now)
            version = KbVersion(
                number=number,
                author=actor,
                note=note,
                created_at=now,
                manifest=[list(pair) for pair in manifest],
                diff=[item.model_dump(mode="json") for item in diff],
                entries=len(manifest),
                added=sum(item.kind == "added" for item in diff),
                changed=sum(item.kind == "changed" for item in diff),
                removed=sum(item.kind == "removed" for item in diff),
                build_id=build_id,
                rollback_of=rollback_of,
                gate_overridden=gate_overridden,
            )
            session.add(version)
            live = dict(manifest)
            # Entries in the version: published with it. Others: no longer live.
            for entry in session.scalars(select(KbEntry)):
                digest = live.get(entry.id)
                if digest is not None:
                    if entry.published_hash != digest or entry.status != "published":
                        entry.published_hash = digest
                        entry.published_version = number
                    entry.status = EntryStatus.PUBLISHED.value
                elif entry.published_hash is not None:
                    entry.published_hash = None
            session.flush()
            return VersionSummary(**_summary(version, number))

    def _reset_draft(
        self,
        session: Session,
        manifest: Manifest,
        records: dict[str, dict[str, Any]],
        actor: str,
        now: datetime,
    ) -> None:
        live = dict(manifest)
        existing = {e.id: e for e in session.scalars(select(KbEntry))}
        position = max((e.position for e in existing.values()), default=0)
        for entry_id, digest in manifest:
            entry = existing.get(entry_id)
            if entry is None:
                position += 1
                entry = KbEntry(
                    id=entry_id,
                    position=position,
                    status=EntryStatus.PUBLISHED.value,
                    revision=0,
                    updated_at=now,
                    updated_by=actor,
                )
                session.add(entry)
            if entry.content_hash == digest and entry.status != EntryStatus.ARCHIVED.value:
                continue
            _apply(entry, records[digest])
            entry.status = EntryStatus.PUBLISHED.value
            entry.revision = (entry.revision or 0) + 1
            entry.updated_at = now
            entry.updated_by = actor
            session.flush()
            self._save_revision(session, entry, actor, now)
        for entry_id, entry in existing.items():
            # Published before but not in the rolled-back content: archived again.
            if entry_id not in live and entry.published_hash is not None:
                entry.status = EntryStatus.ARCHIVED.value
                entry.revision += 1
                entry.updated_at = now
                entry.updated_by = actor
                session.flush()
                self._save_revision(session, entry, actor, now)

    def set_build_id(self, number: int, build_id: str) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(KbVersion).where(KbVersion.number == number).values(build_id=build_id)
            )

    # --- settings ----------------------------------------------------------------

    def setting(self, key: str) -> Any:
        with self._sessions() as session:
            row = session.get(KbSetting, key)
            return row.value if row is not None else None

    def set_setting(
        self, key: str, value: Any, actor: str | None = None, summary: str = ""
    ) -> None:
        with transaction(self._sessions) as session:
            row = session.get(KbSetting, key)
            if row is None:
                session.add(KbSetting(key=key, value=value))
            else:
                row.value = value
            if actor is not None:
                self._audit(session, actor, f"{key}.update", summary, details={"value": value})

    # --- candidates ----------------------------------------------------------------

    def add_candidate(
        self, query: str, faq_id: str, source: str, actor: str, *, count: int = 1
    ) -> CandidateView:
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            row = session.scalar(
                select(KbCandidate).where(KbCandidate.query == query, KbCandidate.faq_id == faq_id)
            )
            if row is None:
                row = KbCandidate(
                    query=query,
                    faq_id=faq_id,
                    source=source,
                    count=count,
                    status="pending",
                    created_by=actor,
                    created_at=now,
                )
                session.add(row)
                if source == "agent":
                    self._audit(
                        session,
                        actor,
                        "candidate.suggest",
                        f"建议把「{query}」加为 {faq_id} 的释义",
                        faq_id,
                    )
            else:
                row.count += count
            session.flush()
            question = session.scalar(select(KbEntry.question).where(KbEntry.id == faq_id))
            return _candidate(row, question)

    def candidates(self, status: str, limit: int) -> list[CandidateView]:
        with self._sessions() as session:
            rows = session.scalars(
                select(KbCandidate)
                .where(KbCandidate.status == status)
                .order_by(KbCandidate.count.desc(), KbCandidate.id)
                .limit(limit)
            ).all()
            wanted = {row.faq_id for row in rows}
            questions = {
                found.id: found.question
                for found in session.execute(
                    select(KbEntry.id, KbEntry.question).where(KbEntry.id.in_(wanted))
                )
            }
            return [_candidate(row, questions.get(row.faq_id)) for row in rows]

    def candidates_by_id(self, ids: Sequence[int]) -> list[CandidateView]:
        with self._sessions() as session:
            rows = session.scalars(select(KbCandidate).where(KbCandidate.id.in_(ids))).all()
            return [_candidate(row, None) for row in rows]

    def mark_candidates(self, ids: Sequence[int], status: str, actor: str) -> int:
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            result = session.execute(
                update(KbCandidate)
                .where(KbCandidate.id.in_(ids), KbCandidate.status == "pending")
                .values(status=status, reviewed_by=actor, reviewed_at=now)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                verb = "采纳" if status == "accepted" else "拒绝"
                self._audit(
                    session,
                    actor,
                    f"candidate.{'accept' if status == 'accepted' else 'reject'}",
                    f"{verb} {count} 条候选释义",
                    details={"ids": list(ids)},
                )
            return count

    # --- audit ------------------------------------------------------------------------

    def _audit(
        self,
        session: Session,
        actor: str,
        action: str,
        summary: str,
        entry_id: str | None = None,
        *,
        version: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            KbAudit(
                at=datetime.now(UTC),
                actor=actor,
                action=action,
                entry_id=entry_id,
                version=version,
                summary=summary,
                details=details or {},
            )
        )

    def audit(
        self,
        actor: str,
        action: str,
        summary: str,
        entry_id: str | None = None,
        *,
        version: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        with transaction(self._sessions) as session:
            self._audit(session, actor, action, summary, entry_id, version=version, details=details)

    def audit_log(
        self, entry_id: str | None, offset: int, limit: int
    ) -> tuple[int, list[AuditEntryView]]:
        conditions = [KbAudit.entry_id == entry_id] if entry_id else []
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(KbAudit).where(*conditions))
            rows = session.scalars(
                select(KbAudit)
                .where(*conditions)
                .order_by(KbAudit.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return int(total or 0), [
                AuditEntryView(
                    id=row.id,
                    at=as_utc(row.at),
                    actor=row.actor,
                    action=row.action,
                    entry_id=row.entry_id,
                    version=row.version,
                    summary=row.summary,
                    details=row.details or {},
                )
                for row in rows
            ]


def _full(record: dict[str, Any]) -> dict[str, Any]:
    """A content record with every field present (absent optional ones as their default)."""
    defaults: dict[str, Any] = {
        "paraphrases": [],
        "escalate": None,
        "tags": [],
        "related": [],
        "owner": None,
        "last_reviewed": None,
        "wechat_answer": None,
    }
    return {name: record.get(name, defaults.get(name)) for name in CONTENT_FIELDS}


def _candidate(row: KbCandidate, question: str | None) -> CandidateView:
    return CandidateView(
        id=row.id,
        query=row.query,
        faq_id=row.faq_id,
        question=question,
        source=row.source,  # type: ignore[arg-type]
        count=row.count,
        status=row.status,  # type: ignore[arg-type]
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )
