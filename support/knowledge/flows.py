"""The knowledge workspace: edit in a draft, test it, publish it, roll it back, learn.

- Entries are edited in the draft (support.knowledge.store), validated as strictly as
  ``kefu kb validate`` where it protects users, with advice as warnings.
- 命中测试 runs a query on the published index and on an index of the draft, side by side.
- 「发布」 builds the draft's index (re-encoding only new texts: support.knowledge.embeddings),
  runs the labelled eval sets on it (the gate), makes it CURRENT (every process follows)
  and records an immutable version. Rollback republishes an earlier version's content.
- The funnel and the learning loop read the stored conversations (support.knowledge.funnel).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from guard import redact
from kb.classifier import ClassifierHead
from kb.content import (
    FAQ,
    ContentError,
    FAQCollection,
    chinese_message,
    content_warnings,
    dump_faqs_yaml,
    parse_faqs,
)
from kb.encoders import AUTO, Encoder, load_encoder, resolve_spec
from kb.evaluation import (
    EvalFileError,
    LabelledQuery,
    calibrate,
    calibration_budgets,
    calibration_is_current,
    head_taught_by,
    read_eval_file,
)
from kb.index import (
    FORMAT_VERSION,
    build_index,
    built_as_now,
    default_settings,
    index_rows,
    read_manifest,
    write_manifest,
)
from kb.index import Manifest as IndexManifest
from kb.knowledge_base import KnowledgeBase
from kb.pipeline import encoder_spec_for, file_hash, store_calibration
from kb.text import canonicalize
from support.knowledge import funnel as funnel_counts
from support.knowledge.categories import configured_categories
from support.knowledge.embeddings import EmbeddingCache
from support.knowledge.errors import (
    CategoryInUseError,
    EntryNotFoundError,
    EntryValidationError,
    GateFailedError,
    NothingToPublishError,
)
from support.knowledge.schemas import (
    AuditPage,
    CandidateReviewOut,
    CandidateView,
    DraftView,
    EntryIn,
    EntryPage,
    EntryStatus,
    EntryUpdateIn,
    EntryView,
    FunnelView,
    GateQuery,
    GateReport,
    GateSplit,
    HitTestSide,
    HitTestView,
    ImportReport,
    Issue,
    LearnIn,
    PublishView,
    ScoredCandidate,
    Thresholds,
    ValidationOut,
    VersionDetail,
    VersionSummary,
)
from support.knowledge.service import KnowledgeService, Rebuild
from support.knowledge.store import (
    CATEGORIES_KEY,
    CLARIFY_WATERMARK_KEY,
    EntryFilter,
    ExportFormat,
    KbStore,
    Manifest,
    manifest_hash,
)
from support.knowledge.tabular import read_csv, read_xlsx, write_csv, write_xlsx
from support.settings import Settings

logger = logging.getLogger(__name__)
OTHER_FAQ_REASON = (
    "开发集里没有这个知识库条目的问题（或没有范围外的问题），无法校准，"
    "使用编码器的默认融合权重和阈值。"
)

SYSTEM_ACTOR = "system"
# Publishing stops when top-1 or out-of-scope rejection drops by more than this.
GATE_MAX_DROP_POINTS = 2.0
MAX_CANDIDATE_LENGTH = 200
DRAFT_LABEL = "draft"
MEDIA_TYPES = {
    "yaml": "application/x-yaml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _issue(
    entry: str, where: str, message: str, level: str = "error", row: int | None = None
) -> Issue:
    return Issue(entry=entry, field=where, message=message, level=level, row=row)  # type: ignore[arg-type]


def validate_record(
    data: dict[str, Any],
    categories: Sequence[str],
    *,
    label: str | None = None,
    row: int | None = None,
) -> tuple[FAQ | None, list[Issue]]:
    """An FAQ from a record, or the problems with it by field (errors and warnings)."""
    label = label or str(data.get("id") or "-")
    try:
        faq = FAQ.model_validate(data, context={"categories": list(categories)})
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "-"
            issues.append(_issue(label, where, chinese_message(error), row=row))
        return None, issues
    warnings = [
        _issue(faq.id, where, message, "warning", row) for where, message in content_warnings(faq)
    ]
    return faq, warnings


def _outcome(kb: KnowledgeBase, query: str) -> tuple[str, str | None]:
    result = kb.query(query, top_k=3)
    top = result.top.id if result.top else None
    label = (
        result.decision.value
        if result.decision.value == "fallback"
        else f"{result.decision.value}:{top}"
    )
    return label, top


@dataclass(frozen=True)
class _EvalOutcomes:
    """One KB's outcome on each labelled query: "answer:<id>", "clarify:<id>", "fallback"."""

    labels: list[str]
    tops: list[str | None]


def _rates(queries: Sequence[LabelledQuery], outcomes: _EvalOutcomes) -> tuple[float, float | None]:
    in_scope = [i for i, q in enumerate(queries) if q.expected is not None]
    oos = [i for i, q in enumerate(queries) if q.expected is None]
    top1 = (
        100.0
        * sum(outcomes.tops[i] == queries[i].expected for i in in_scope)
        / max(len(in_scope), 1)
    )
    rejected = (
        100.0 * sum(not outcomes.labels[i].startswith("answer") for i in oos) / len(oos)
        if oos
        else None
    )
    return round(top1, 2), (round(rejected, 2) if rejected is not None else None)


def _is_right(query: LabelledQuery, label: str) -> bool:
    if query.expected is None:
        return not label.startswith("answer")
    return label.endswith(f":{query.expected}")


class KnowledgeWorkspace:
    def __init__(
        self,
        store: KbStore,
        knowledge: KnowledgeService,
        settings: Settings,
        *,
        eval_files: Sequence[Path] | None = None,
        calibration_file: Path | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self._store = store
        self._knowledge = knowledge
        self._settings = settings
        if eval_files is None:
            folder = settings.calibration_path.parent
            eval_files = sorted(folder.glob("*.jsonl")) if folder.exists() else []
        self._eval_files = list(eval_files)
        self._calibration_file = (
            calibration_file if calibration_file is not None else settings.calibration_path
        )
        if encoder is not None and settings.encoder.strip() == AUTO:
            raise ValueError("an injected encoder needs a concrete KEFU_ENCODER, not auto")
        self._injected_encoder = encoder  # tests and benches: one encoder for every build
        self._encoders: dict[str, Encoder] = {}
        self._embedding_caches: dict[str, EmbeddingCache] = {}
        self._faqs: dict[str, FAQ] = {}  # content hash → FAQ (content-addressed: never stale)
        self._draft_lock = threading.Lock()
        self._draft_cache: tuple[str, KnowledgeBase] | None = None
        self._published_outcomes: dict[tuple[str, str], _EvalOutcomes] = {}
        # Derived from the draft, keyed by KbStore.draft_stamp (list and 命中测试 at 5,000
        # entries stay well under 200 ms); versions are immutable, so cached by number.
        self._draft_derived: dict[str, tuple[tuple[int, int, str], Any]] = {}
        self._version_manifests: dict[int, Manifest] = {}
        # Dev-file question vectors per (encoder, file digest), for the draft's taught head.
        self._labelled_vectors: dict[tuple[str, str], dict[str, np.ndarray]] = {}

    # --- seeding -----------------------------------------------------------------

    def ensure_seeded(self, actor: str = SYSTEM_ACTOR, *, build: bool = True) -> int | None:
        """On first start (an empty store), import the FAQ file as version 1.

        The version reuses the index CURRENT names when it holds the same entries (the
        usual case: `kefu kb build` built it from the same file); otherwise it is built.
        Returns the version number created, or None when the store had content.
        """
        if not self._store.is_empty():
            return None
        collection = parse_faqs(
            self._settings.faq_path.read_bytes(), self._settings.faq_path, self.categories()
        )
        try:
            self._store.import_records(collection.faqs, actor, f" {self._settings.faq_path.name}")
        except IntegrityError:
            # Another replica seeded the store at the same start; its version stands.
            logger.info("知识库工作台：另一个进程已导入初始版本")
            return None
        manifest = self._store.draft_manifest()
        build_id: str | None = None
        if self._knowledge.ready:
            loaded = self._knowledge.knowledge_base()
            if [f.model_dump() for f in loaded.faqs] == [f.model_dump() for f in collection.faqs]:
                build_id = loaded.manifest.build_id
        if build_id is None and build:
            with self._knowledge.exclusive():
                directory, _, _ = self._build(manifest)
                build_id = self._knowledge.make_current(directory).build_id
        version = self._store.record_version(
            manifest, actor, "从 FAQ 文件导入的初始版本", build_id=build_id
        )
        self._store.audit(
            actor, "publish", f"发布第 {version.number} 版（初始导入）", version=version.number
        )
        logger.info(
            "知识库工作台：已从 %s 导入 %d 条，第 1 版", self._settings.faq_path, len(manifest)
        )
        return version.number

    def seed_on_start(self) -> None:
        """The gateway's start: seed an empty store from the FAQ file, never failing the start.

        Builds nothing: when the index in use holds other entries than the file, version 1
        is recorded without a build and the next publish or `kefu kb build` builds it.
        """
        try:
            self.ensure_seeded(build=False)
        except Exception:  # a bad FAQ file must not keep the gateway from answering
            logger.exception("知识库工作台：无法从 FAQ 文件导入初始版本")

    # --- settings ---------------------------------------------------------------------

    def categories(self) -> list[str]:
        return configured_categories(self._store)

    def set_categories(self, categories: Sequence[str], actor: str) -> list[str]:
        cleaned = list(dict.fromkeys(c.strip() for c in categories if c.strip()))
        if not cleaned:
            raise CategoryInUseError("至少需要一个分类。")
        if too_long := [c for c in cleaned if len(c) > 32]:
            raise CategoryInUseError(f"分类名不能超过 32 个字符：{too_long[0]}")
        in_use = self._store.categories_in_use() - set(cleaned)
        if in_use:
            raise CategoryInUseError(
                "这些分类仍有条目在用，请先把条目改到其他分类：" + "、".join(sorted(in_use))
            )
        self._store.set_setting(CATEGORIES_KEY, cleaned, actor, "分类改为：" + "、".join(cleaned))
        return cleaned

    def audit_role_change(self, actor: str, username: str, role: str) -> None:
        self._store.audit(
            actor,
            "role.update",
            f"把 {username} 的角色设为 {role}",
            details={"username": username, "role": role},
        )

    # --- entries -------------------------------------------------------------------------

    def _cached(self, name: str, compute: Callable[[], Any]) -> Any:
        stamp = self._store.draft_stamp()
        found = self._draft_derived.get(name)
        if found is not None and found[0] == stamp:
            return found[1]
        value = compute()
        self._draft_derived[name] = (stamp, value)
        return value

    def _draft_manifest(self) -> Manifest:
        manifest: Manifest = self._cached("manifest", self._store.draft_manifest)
        return manifest

    def _version_manifest(self, number: int) -> Manifest:
        if number not in self._version_manifests:
            self._version_manifests[number] = self._store.version_manifest(number)
        return self._version_manifests[number]

    def list_entries(
        self,
        *,
        q: str = "",
        category: str | None = None,
        tag: str | None = None,
        status: EntryStatus | None = None,
        changed: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> EntryPage:
        total, items = self._store.list_entries(
            EntryFilter(q, category, tag, status, changed), offset, limit
        )
        return EntryPage(
            total=total,
            offset=offset,
            limit=limit,
            items=items,
            categories=self.categories(),
            tags=self._cached("tags", self._store.tags_in_use),
        )

    def entry(self, entry_id: str) -> EntryView:
        return self._store.entry(entry_id)

    def _duplicates(self, faq: FAQ) -> list[Issue]:
        """Texts of ``faq`` that another live entry of the draft already has."""
        owner_of: dict[str, str] = {}
        for entry_id, texts in self._store.live_texts().items():
            if entry_id == faq.id:
                continue
            for text in texts:
                owner_of.setdefault(canonicalize(text), entry_id)
        issues = []
        for position, text in enumerate(faq.texts):
            owner = owner_of.get(canonicalize(text))
            if owner is not None:
                where = "question" if position == 0 else "paraphrases"
                issues.append(_issue(faq.id, where, f"「{text}」与条目 {owner} 的问法重复"))
        return issues

    def _validate(self, record: dict[str, Any]) -> tuple[FAQ | None, list[Issue]]:
        faq, issues = validate_record(record, self.categories())
        if faq is None:
            return None, issues
        issues += self._duplicates(faq)
        known = self._store.entry_ids()
        for related in faq.related:
            if related not in known:
                issues.append(_issue(faq.id, "related", f"没有条目 {related}", "warning"))
        return faq, issues

    def check(self, body: EntryIn) -> ValidationOut:
        _, issues = self._validate(body.model_dump(mode="json", exclude_none=True))
        errors = [i for i in issues if i.level == "error"]
        return ValidationOut(
            ok=not errors, errors=errors, warnings=[i for i in issues if i.level == "warning"]
        )

    def _valid_faq(self, record: dict[str, Any]) -> FAQ:
        faq, issues = self._validate(record)
        if faq is None or any(i.level == "error" for i in issues):
            raise EntryValidationError(issues)
        return faq

    def create_entry(self, body: EntryIn, actor: str) -> EntryView:
        faq = self._valid_faq(body.model_dump(mode="json", exclude_none=True))
        return self._store.create(faq, actor)

    def update_entry(self, entry_id: str, body: EntryUpdateIn, actor: str) -> EntryView:
        record = self._store.entry_record(entry_id)
        record.pop("status", None)
        record.update(body.model_dump(mode="json", exclude_unset=True, exclude={"revision"}))
        faq = self._valid_faq({k: v for k, v in record.items() if v is not None})
        return self._store.update(entry_id, body.revision, faq, actor)

    def set_archived(self, entry_id: str, archived: bool, revision: int, actor: str) -> EntryView:
        if not archived:
            record = self._store.entry_record(entry_id)
            record.pop("status", None)
            self._valid_faq({k: v for k, v in record.items() if v is not None})
        return self._store.set_archived(entry_id, archived, revision, actor)

    def discard(self, entry_id: str, revision: int, actor: str) -> EntryView | None:
        return self._store.discard(entry_id, revision, actor)

    def draft(self) -> DraftView:
        changes = self._store.draft_changes()
        errors: list[Issue] = []
        warnings: list[Issue] = []
        changed = {c.id for c in changes if c.kind in ("added", "changed")}
        faqs, problems = self._draft_faqs()
        errors += problems
        for faq in faqs:
            if faq.id in changed:
                warnings += [_issue(faq.id, w, m, "warning") for w, m in content_warnings(faq)]
        return DraftView(
            base_version=self._store.current_version(),
            changes=changes,
            errors=errors,
            warnings=warnings,
        )

    # --- building ------------------------------------------------------------------------

    def _faqs_for(self, manifest: Manifest) -> list[FAQ]:
        missing = [digest for _, digest in manifest if digest not in self._faqs]
        if missing:
            for digest, record in self._store.contents(missing).items():
                # Stored records passed validation when saved; categories may have changed
                # since, which must not stop a build: no context here.
                self._faqs[digest] = FAQ.model_validate(record)
        return [self._faqs[digest] for _, digest in manifest]

    def _draft_faqs(self) -> tuple[list[FAQ], list[Issue]]:
        """The draft's live entries, and what stops them from being published."""
        faqs = self._faqs_for(self._store.draft_manifest())
        categories = set(self.categories())
        problems = [
            _issue(faq.id, "category", "分类已不在分类列表中：" + faq.category)
            for faq in faqs
            if faq.category not in categories
        ]
        owner_of: dict[str, str] = {}
        for faq in faqs:
            for position, text in enumerate(faq.texts):
                owner = owner_of.setdefault(canonicalize(text), faq.id)
                if owner != faq.id:
                    where = "question" if position == 0 else "paraphrases"
                    problems.append(_issue(faq.id, where, f"「{text}」与条目 {owner} 的问法重复"))
        return faqs, problems

    def _encoder_spec(self, collection: FAQCollection) -> str:
        """The encoder this deployment builds ``collection`` with (KEFU_ENCODER=auto
        keeps the live build's encoder near its size line)."""
        live = self._knowledge.manifest().encoder if self._knowledge.ready else None
        return encoder_spec_for(collection, self._settings.encoder, live)

    def _the_encoder(self, spec: str) -> Encoder:
        if self._injected_encoder is not None:
            return self._injected_encoder
        if spec not in self._encoders:
            loaded = self._knowledge.knowledge_base() if self._knowledge.ready else None
            if loaded is not None and loaded.manifest.encoder == spec:
                self._encoders[spec] = loaded.encoder
            else:
                self._encoders[spec] = load_encoder(spec, models_dir=self._settings.models_dir)
        return self._encoders[spec]

    def _embeddings(self, spec: str) -> EmbeddingCache:
        if spec not in self._embedding_caches:
            self._embedding_caches[spec] = EmbeddingCache(
                self._settings.index_dir / ".embeddings", spec, self._the_encoder(spec).revision
            )
        return self._embedding_caches[spec]

    def _warm_embeddings(self, spec: str) -> None:
        """Fill an empty embedding cache from the index in use (a flat index keeps its
        vectors), so the first draft build does not re-encode the whole KB."""
        cache = self._embeddings(spec)
        if len(cache) or not self._knowledge.ready:
            return
        loaded = self._knowledge.knowledge_base()
        if (
            loaded.manifest.encoder != spec
            or loaded.manifest.encoder_revision != self._the_encoder(spec).revision
            or loaded.manifest.index_type != "flat"
        ):
            return
        try:
            index = faiss.read_index(str(loaded.directory / "dense.faiss"))
            vectors = index.reconstruct_n(0, index.ntotal)
        except (RuntimeError, OSError) as exc:
            logger.warning("无法从索引读取向量预热缓存：%s", exc)
            return
        texts = index_rows(loaded.faqs).texts
        if len(texts) == len(vectors):
            cache.prefill(texts, np.asarray(vectors, dtype=np.float32))

    def _existing_build(self, build_id: str | None) -> Path | None:
        """A version's stored build, if it is still what this deployment would build:
        same encoder, weights, index format, dictionary and synonyms (after an upgrade, a
        re-exported model or a new KEFU_ENCODER, the version is rebuilt rather than served
        from the old folder)."""
        directory = self._settings.index_dir / build_id if build_id else None
        if not directory or not (directory / "manifest.json").exists():
            return None
        manifest = read_manifest(directory)
        if not self._is_current_kind(manifest):
            return None
        self._recalibrate_if_stale(directory, manifest)
        return directory

    def _recalibrate_if_stale(self, directory: Path, manifest: IndexManifest) -> None:
        """A reused build gets today's dev file and budgets (after an upgrade, or a new dev
        file), in place; every process reloads a build whose manifest changed."""
        if self._stale_calibration(manifest) is None:
            return
        encoder = self._the_encoder(manifest.encoder)
        self._calibrate(KnowledgeBase.load(directory, encoder=encoder), directory)

    def _is_current_kind(self, manifest: IndexManifest) -> bool:
        wanted = resolve_spec(self._settings.encoder, manifest.rows, manifest.encoder)
        return (
            manifest.encoder == wanted
            and manifest.format_version == FORMAT_VERSION
            and manifest.encoder_revision == self._the_encoder(wanted).revision
            and built_as_now(manifest)
        )

    def _build(
        self, manifest: Manifest, *, calibrated: bool = True
    ) -> tuple[Path, KnowledgeBase, int]:
        """Build (or reuse) the index of ``manifest``; (folder, KB, texts encoded).

        ``calibrated``: calibrate thresholds as `kefu kb build` does (publish); the draft's
        命中测试 uses the published thresholds instead, which is much quicker.
        """
        faqs = self._faqs_for(manifest)
        collection = FAQCollection(tuple(faqs), manifest_hash(manifest))
        spec = self._encoder_spec(collection)
        encoder = self._the_encoder(spec)
        self._warm_embeddings(spec)
        embeddings = self._embeddings(spec)
        directory, built = build_index(
            collection,
            encoder,
            spec,
            self._settings.index_dir,
            vectors_for=lambda texts: embeddings.vectors(encoder, texts),
        )
        encoded = embeddings.encoded if built else 0
        kb = KnowledgeBase.load(directory, encoder=encoder)
        if calibrated:
            self._calibrate(kb, directory)
        elif self._knowledge.ready and _same_kind(self._knowledge.manifest(), kb.manifest):
            # The live thresholds mean the same only on scores of the same encoder and
            # format; otherwise the draft keeps its own encoder defaults.
            live = self._knowledge.manifest()
            kb.with_settings(live.fusion, live.thresholds, self._draft_head(kb, live))
        return directory, kb, encoded

    def _draft_head(self, kb: KnowledgeBase, live: IndexManifest) -> ClassifierHead | None:
        """The head publishing would teach the draft, when the live thresholds it borrows
        were set with a taught head: the dev file's questions, embedded once per file.

        Whatever weight the fusion gives the head: its "none of these" class also holds
        back direct answers (kb ComponentScores.doubts), and the live thresholds count on it.
        """
        path = self._calibration_file
        taught = live.calibration.get("head_examples")
        if not isinstance(taught, int) or taught <= 0:
            return None
        if path is None or not path.exists():
            return None
        try:
            labelled = read_eval_file(path)
        except EvalFileError as exc:  # the preview still works, with the paraphrase head
            logger.warning("命中测试：开发集无法读取，草稿的分类头只学释义：%s", exc)
            return None
        ids = {faq.id for faq in kb.faqs}
        queries = [q for q in labelled if q.expected is None or q.expected in ids]
        key = (kb.manifest.encoder, file_hash(path))
        if key not in self._labelled_vectors:
            self._labelled_vectors = {key: {}}  # only the current file's are worth keeping
        cache = self._labelled_vectors[key]
        for item in queries:
            if item.query not in cache:
                cache[item.query] = kb.encoder.encode([canonicalize(item.query)])[0]
        return head_taught_by(kb, queries, [cache[item.query] for item in queries])

    def _stale_calibration(self, manifest: IndexManifest) -> str | None:
        """The dev file's digest when the build's calibration is not from it under today's
        budgets; None when it is, or when there is no dev file to calibrate on."""
        path = self._calibration_file
        if path is None or not path.exists():
            return None
        digest = file_hash(path)
        return None if calibration_is_current(manifest.calibration, digest) else digest

    def _calibrate(self, kb: KnowledgeBase, directory: Path) -> None:
        """Calibrate thresholds on the labelled queries this KB can answer (kb.pipeline's
        calibration, tolerant of entries the file does not know or no longer has)."""
        manifest = read_manifest(directory)
        path, digest = self._calibration_file, self._stale_calibration(manifest)
        if path is None or digest is None:  # no dev file, or calibrated on it already
            return
        ids = {faq.id for faq in kb.faqs}
        queries = [q for q in read_eval_file(path) if q.expected is None or q.expected in ids]
        if not any(q.expected for q in queries) or not any(q.expected is None for q in queries):
            # Another wallet's FAQ: nothing to calibrate on, the defaults stay; noted, so
            # a reuse of this build does not load it again to find the same.
            fusion, thresholds = default_settings(manifest.encoder)
            checked = {
                "source": str(path),
                "mode": "defaults",
                "reason": OTHER_FAQ_REASON,
                "sha256": digest,
                "budgets": calibration_budgets(),
                "head_examples": 0,
            }
            write_manifest(
                directory,
                replace(manifest, fusion=fusion, thresholds=thresholds, calibration=checked),
            )
            return
        store_calibration(kb, directory, calibrate(kb, queries, str(path)), digest)

    def _published_manifest(self) -> Manifest | None:
        number = self._store.current_version()
        return self._version_manifest(number) if number is not None else None

    def _draft_kb(self) -> KnowledgeBase:
        """An index of the draft, built on demand and kept until the draft changes."""
        manifest = self._draft_manifest()
        key = f"{manifest_hash(manifest)}|{self._preview_basis()}"
        with self._draft_lock:
            if self._draft_cache is not None and self._draft_cache[0] == key:
                return self._draft_cache[1]
            _, kb, _ = self._build(manifest, calibrated=False)
            self._draft_cache = (key, kb)
            return kb

    def _preview_basis(self) -> str:
        """What the draft's preview borrows besides the draft: the live build's thresholds
        and head, and the dev file that teaches the draft's head."""
        live = ""
        if self._knowledge.ready:
            manifest = self._knowledge.manifest()
            live = (
                f"{manifest.build_id}:{manifest.calibration.get('head_file')}:"
                f"{manifest.fusion}:{manifest.thresholds}"
            )
        path = self._calibration_file
        dev = file_hash(path) if path is not None and path.exists() else ""
        return f"{live}|{dev}"

    # --- 命中测试 ---------------------------------------------------------------------------

    def _side(
        self,
        label: Literal["published", "draft"],
        get_kb: Callable[[], KnowledgeBase],
        query: str,
        top_k: int,
        version: int | None,
    ) -> HitTestSide:
        try:
            kb = get_kb()
        except Exception as exc:  # shown next to the other side, which may still work
            logger.warning("命中测试（%s）不可用：%s", label, exc)
            return HitTestSide(label=label, version=version, available=False, error=str(exc))
        return hit_test_side(kb, label, query, top_k, version)

    def hit_test(self, query: str, top_k: int = 5) -> HitTestView:
        version = self._store.current_version()
        published = self._side("published", self._knowledge.knowledge_base, query, top_k, version)
        draft_manifest = self._draft_manifest()
        if (
            version is not None
            and draft_manifest == self._version_manifest(version)
            and published.available
        ):
            draft = published.model_copy(update={"label": "draft", "version": None})
        else:
            draft = self._side("draft", self._draft_kb, query, top_k, None)
        same = (
            published.available
            and draft.available
            and published.decision == draft.decision
            and [c.id for c in published.candidates[:1]] == [c.id for c in draft.candidates[:1]]
        )
        return HitTestView(query=query, published=published, draft=draft, same=same)

    # --- publish, rollback, versions --------------------------------------------------------

    def _eval_outcomes(self, kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> _EvalOutcomes:
        labels, tops = [], []
        for item in queries:
            label, top = _outcome(kb, item.query)
            labels.append(label)
            tops.append(top)
        return _EvalOutcomes(labels, tops)

    def gate(self, published: KnowledgeBase, draft: KnowledgeBase) -> GateReport:
        """The labelled eval sets on the live KB and the draft's; passed unless top-1 or
        out-of-scope rejection drops by more than GATE_MAX_DROP_POINTS."""
        known = {faq.id for faq in published.faqs}
        splits, changed = [], []
        passed = True
        for path in self._eval_files:
            queries = [q for q in read_eval_file(path) if q.expected is None or q.expected in known]
            if not queries:
                continue
            key = (published.manifest.build_id, f"{path}:{file_hash(path)}")
            before = self._published_outcomes.get(key)
            if before is None:
                before = self._published_outcomes[key] = self._eval_outcomes(published, queries)
            after = self._eval_outcomes(draft, queries)
            top1_before, oos_before = _rates(queries, before)
            top1_after, oos_after = _rates(queries, after)
            splits.append(
                GateSplit(
                    name=path.name,
                    queries=len(queries),
                    top1_published=top1_before,
                    top1_draft=top1_after,
                    oos_published=oos_before,
                    oos_draft=oos_after,
                )
            )
            if top1_before - top1_after > GATE_MAX_DROP_POINTS or (
                oos_before is not None
                and oos_after is not None
                and oos_before - oos_after > GATE_MAX_DROP_POINTS
            ):
                passed = False
            for item, old, new in zip(queries, before.labels, after.labels, strict=True):
                if old != new:
                    changed.append(
                        (
                            _is_right(item, new) - _is_right(item, old),
                            GateQuery(
                                query=item.query, expected=item.expected, published=old, draft=new
                            ),
                        )
                    )
        changed.sort(key=lambda pair: pair[0])  # newly wrong first
        return GateReport(
            passed=passed,
            max_drop_points=GATE_MAX_DROP_POINTS,
            splits=splits,
            changed=[q for _, q in changed],
        )

    def publish(self, actor: str, note: str = "", *, override_gate: bool = False) -> PublishView:
        """Build the draft, run the gate, make it CURRENT, record the version (blocking)."""
        with self._knowledge.exclusive():
            started = time.perf_counter()
            _, problems = self._draft_faqs()
            if problems:
                raise EntryValidationError(problems, f"草稿有 {len(problems)} 处错误，没有发布。")
            manifest = self._store.draft_manifest()
            current = self._published_manifest()
            if current is not None and current == manifest:
                raise NothingToPublishError
            directory, draft_kb, encoded = self._build(manifest)
            report: GateReport | None = None
            if current is not None and self._knowledge.ready and self._eval_files:
                report = self.gate(self._knowledge.knowledge_base(), draft_kb)
                if not report.passed and not override_gate:
                    self._store.audit(
                        actor,
                        "publish.refused",
                        f"发布被评测门槛拦下：{len(report.changed)} 条查询结果变化",
                        details={"splits": [s.model_dump() for s in report.splits]},
                    )
                    raise GateFailedError(report)
            overridden = bool(report is not None and not report.passed and override_gate)
            built: IndexManifest = read_manifest(directory)
            version = self._store.record_version(
                manifest, actor, note, build_id=built.build_id, gate_overridden=overridden
            )
            self._knowledge.make_current(directory)
            seconds = time.perf_counter() - started
            self._store.audit(
                actor,
                "publish",
                f"发布第 {version.number} 版：新增 {version.added}、"
                f"修改 {version.changed}、移除 {version.removed}"
                + (f"（说明：{note}）" if note else ""),
                version=version.number,
                details={
                    "build_id": built.build_id,
                    "seconds": round(seconds, 3),
                    "encoded_rows": encoded,
                },
            )
            if overridden and report is not None:
                self._store.audit(
                    actor,
                    "gate.override",
                    f"管理员忽略评测下降，强制发布第 {version.number} 版",
                    version=version.number,
                    details={
                        "splits": [s.model_dump() for s in report.splits],
                        "changed": len(report.changed),
                    },
                )
            logger.info("%s 发布了知识库第 %d 版（%s）", actor, version.number, built.build_id)
            return PublishView(
                version=version,
                build_id=built.build_id,
                seconds=round(seconds, 3),
                encoded_rows=encoded,
                gate=report,
            )

    def rollback(self, actor: str, to_version: int | None = None, note: str = "") -> PublishView:
        """Republish ``to_version``'s content (default: the one before) as a new version.

        The draft is reset to that content too, so the next publish does not bring the
        undone change back; entries never published stay in the draft.
        """
        with self._knowledge.exclusive():
            started = time.perf_counter()
            current = self._store.current_version()
            if current is None:
                raise NothingToPublishError("还没有发布过任何版本，无法回滚。")
            target = to_version if to_version is not None else current - 1
            if target < 1:
                raise NothingToPublishError("没有更早的版本可以回滚。")
            manifest = self._store.version_manifest(target)
            # That version's own build, when it is still on disk: a rollback is a repoint.
            existing = self._existing_build(self._store.version(target).build_id)
            encoded = 0
            if existing is None:
                existing, _, encoded = self._build(manifest)
            directory = existing
            built = read_manifest(directory)
            version = self._store.record_version(
                manifest,
                actor,
                note or f"回滚到第 {target} 版",
                build_id=built.build_id,
                rollback_of=target,
                draft_from=manifest,
            )
            self._knowledge.make_current(directory)
            seconds = time.perf_counter() - started
            self._store.audit(
                actor,
                "rollback",
                f"回滚：第 {version.number} 版恢复为第 {target} 版的内容",
                version=version.number,
                details={"build_id": built.build_id, "to_version": target},
            )
            return PublishView(
                version=version,
                build_id=built.build_id,
                seconds=round(seconds, 3),
                encoded_rows=encoded,
                gate=None,
            )

    def rebuild_published(self) -> Rebuild:
        """`kefu kb build` and the console's rebuild: the published version, else the file."""
        number = self._store.current_version()
        if number is None:
            return self._knowledge.rebuild()
        with self._knowledge.exclusive():
            started = time.perf_counter()
            before = self._knowledge.current_on_disk()
            directory = self._existing_build(self._store.version(number).build_id)
            if directory is None:
                directory, _, _ = self._build(self._store.version_manifest(number))
            manifest = self._knowledge.make_current(directory)
            self._store.set_build_id(number, manifest.build_id)
            built = before is None or before.name != directory.name
            return Rebuild(manifest, built, time.perf_counter() - started)

    def versions(self, limit: int = 50) -> list[VersionSummary]:
        return self._store.versions(limit)

    def version(self, number: int) -> VersionDetail:
        return self._store.version(number)

    def version_faqs(self, number: int | None = None) -> list[FAQ]:
        number = number if number is not None else self._store.current_version()
        if number is None:
            return []
        return self._faqs_for(self._store.version_manifest(number))

    # --- funnel and learning loop ----------------------------------------------------

    def funnel(
        self,
        days: int,
        *,
        sort: str = "answered",
        descending: bool = True,
        now: datetime | None = None,
    ) -> FunnelView:
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        entries = {faq.id: (faq.question, faq.category) for faq in self.version_faqs()}
        with self._store_sessions() as session:
            counts = funnel_counts.count_funnel(session, since)
        rows = funnel_counts.funnel_rows(counts, entries)

        def key(row: Any) -> tuple[bool, float, str]:
            value = getattr(row, sort)
            missing = value is None
            number = float(value or 0)
            return (missing, -number if descending else number, row.faq_id)

        rows.sort(key=key)
        return FunnelView(
            days=days, since=since, rows=rows, needs_work=funnel_counts.needs_work(rows)
        )

    def _store_sessions(self) -> Any:
        return self._store.sessions()

    def harvest_clarify_picks(self, *, days: int = 90) -> int:
        """Record each new clarify pick's question as a candidate paraphrase of the pick."""
        watermark = int(self._store.setting(CLARIFY_WATERMARK_KEY) or 0)
        since = datetime.now(UTC) - timedelta(days=days)
        with self._store_sessions() as session:
            picks = funnel_counts.clarify_picks(session, since, watermark)
        known = self._store.live_texts()
        canonical = {canonicalize(t) for texts in known.values() for t in texts}
        added = 0
        for pick in picks:
            query = redact(" ".join(pick.query.split()))[:MAX_CANDIDATE_LENGTH]
            if pick.faq_id in known and query and canonicalize(query) not in canonical:
                self._store.add_candidate(query, pick.faq_id, "clarify_pick", SYSTEM_ACTOR)
                added += 1
        if picks:
            self._store.set_setting(CLARIFY_WATERMARK_KEY, max(p.message_id for p in picks))
        return added

    def candidates(
        self, status: Literal["pending", "accepted", "rejected"] = "pending", limit: int = 200
    ) -> list[CandidateView]:
        if status == "pending":
            self.harvest_clarify_picks()
        return self._store.candidates(status, limit)

    def suggest(self, query: str, faq_id: str, actor: str, source: str = "agent") -> CandidateView:
        query = redact(" ".join(query.split()))
        if not query:
            raise EntryValidationError([_issue(faq_id, "query", "请填写要加入的问法")])
        if len(query) > MAX_CANDIDATE_LENGTH:
            raise EntryValidationError(
                [_issue(faq_id, "query", f"问法不能超过 {MAX_CANDIDATE_LENGTH} 个字符")]
            )
        if faq_id not in self._store.entry_ids():
            raise EntryNotFoundError(faq_id)
        return self._store.add_candidate(query, faq_id, source, actor)

    def _add_paraphrases(
        self, faq_id: str, texts: Iterable[str], actor: str, summary: str
    ) -> tuple[EntryView, list[str]]:
        """Append ``texts`` to an entry's paraphrases in the draft; returns what was skipped."""
        view = self._store.entry(faq_id)
        record = self._store.entry_record(faq_id)
        record.pop("status", None)
        existing = {canonicalize(t) for t in [view.question, *view.paraphrases]}
        added, skipped = [], []
        for text in texts:
            key = canonicalize(text)
            if key in existing:
                skipped.append(text)
                continue
            existing.add(key)
            added.append(text)
        if not added:
            return view, skipped
        record["paraphrases"] = [*view.paraphrases, *added]
        faq = self._valid_faq({k: v for k, v in record.items() if v is not None})
        return self._store.update(
            faq_id, view.revision, faq, actor, action="entry.update", summary=summary
        ), skipped

    def learn(self, body: LearnIn, actor: str) -> EntryView:
        """One click: a user's question into the draft, as a paraphrase or a new entry."""
        query = redact(" ".join(body.query.split()))
        if body.new_entry is not None:
            data = body.new_entry.model_dump(mode="json", exclude_none=True)
            if not data.get("question"):
                data["question"] = query
            elif query != data["question"] and query not in data.get("paraphrases", []):
                data["paraphrases"] = [*data.get("paraphrases", []), query]
            faq = self._valid_faq(data)
            return self._store.create(faq, actor)
        if not body.faq_id:
            raise EntryValidationError(
                [_issue("-", "faq_id", "请选择要加入释义的条目，或填写新条目")]
            )
        view, skipped = self._add_paraphrases(
            body.faq_id, [query], actor, f"把用户问法「{query}」加为 {body.faq_id} 的释义"
        )
        if skipped:
            raise EntryValidationError(
                [_issue(body.faq_id, "paraphrases", f"「{query}」已经是这个条目的问法")]
            )
        return view

    def review(self, ids: Sequence[int], *, accept: bool, actor: str) -> CandidateReviewOut:
        chosen = [c for c in self._store.candidates_by_id(ids) if c.status == "pending"]
        if not accept:
            rejected = self._store.mark_candidates([c.id for c in chosen], "rejected", actor)
            return CandidateReviewOut(accepted=0, rejected=rejected, skipped=[])
        skipped: list[Issue] = []
        accepted_ids: list[int] = []
        by_entry: dict[str, list[CandidateView]] = {}
        for candidate in chosen:
            by_entry.setdefault(candidate.faq_id, []).append(candidate)
        for faq_id, group in by_entry.items():
            try:
                _, not_added = self._add_paraphrases(
                    faq_id,
                    [c.query for c in group],
                    actor,
                    f"采纳 {len(group)} 条候选释义到 {faq_id}",
                )
            except EntryNotFoundError:
                skipped += [_issue(faq_id, "faq_id", f"条目已不存在：「{c.query}」") for c in group]
                continue
            except EntryValidationError as exc:
                skipped += [i for i in exc.issues if i.level == "error"]
                continue
            skipped += [
                _issue(faq_id, "paraphrases", f"「{t}」已经是这个条目的问法", "warning")
                for t in not_added
            ]
            accepted_ids += [c.id for c in group]
        accepted = self._store.mark_candidates(accepted_ids, "accepted", actor)
        return CandidateReviewOut(accepted=accepted, rejected=0, skipped=skipped)

    # --- import and export ------------------------------------------------------------------

    def export(
        self, format: ExportFormat, side: Literal["published", "draft"] = "published"
    ) -> tuple[bytes, str, str]:
        if side == "published":
            faqs = self.version_faqs()
        else:
            faqs = [
                FAQ.model_validate(
                    {
                        k: v
                        for k, v in r.items()
                        if v is not None and not (k == "status" and v == "published")
                    }
                )
                for r in self._store.draft_records(with_archived=True)
            ]
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        name = f"kefu-kb-{side}-{stamp}.{format}"
        if format == "yaml":
            return dump_faqs_yaml(faqs).encode("utf-8"), MEDIA_TYPES[format], name
        if format == "csv":
            return write_csv(faqs), MEDIA_TYPES[format], name
        return write_xlsx(faqs), MEDIA_TYPES[format], name

    def import_file(
        self, payload: bytes, format: ExportFormat, actor: str, *, dry_run: bool = False
    ) -> ImportReport:
        """Entries into the draft by id (new ones created); any error and nothing is."""
        categories = self.categories()
        faqs: list[FAQ] = []
        errors: list[Issue] = []
        warnings: list[Issue] = []
        rows: list[int | None] = []
        if format == "yaml":
            try:
                collection = parse_faqs(payload, Path("upload.yml"), categories)
            except ContentError as exc:
                errors = [_issue(i.entry, i.field, i.message, row=i.line) for i in exc.issues]
                warnings = [
                    _issue(i.entry, i.field, i.message, "warning", i.line) for i in exc.warnings
                ]
            else:
                faqs = list(collection.faqs)
                rows = [None] * len(faqs)
                warnings = [
                    _issue(i.entry, i.field, i.message, "warning", i.line)
                    for i in collection.warnings
                ]
        else:
            records, errors = read_csv(payload) if format == "csv" else read_xlsx(payload)
            seen: dict[str, int] = {}
            for number, record in records:
                faq, issues = validate_record(
                    record, categories, label=str(record.get("id") or f"#{number}"), row=number
                )
                errors += [i for i in issues if i.level == "error"]
                warnings += [i for i in issues if i.level == "warning"]
                if faq is None:
                    continue
                if faq.id in seen:
                    errors.append(
                        _issue(
                            faq.id, "id", f"id 重复（第一次出现在第 {seen[faq.id]} 行）", row=number
                        )
                    )
                    continue
                seen[faq.id] = number
                faqs.append(faq)
                rows.append(number)
        if not errors:
            errors = self._import_duplicates(faqs, rows)
        if errors or dry_run:
            return ImportReport(
                format=format, created=0, updated=0, unchanged=0, errors=errors, warnings=warnings
            )
        created, updated, unchanged = self._store.import_records(faqs, actor, f"（{format}）")
        return ImportReport(
            format=format,
            created=created,
            updated=updated,
            unchanged=unchanged,
            errors=[],
            warnings=warnings,
        )

    def _import_duplicates(self, faqs: Sequence[FAQ], rows: Sequence[int | None]) -> list[Issue]:
        """Texts shared by two entries once the file is merged into the draft."""
        incoming = {faq.id for faq in faqs}
        owner_of: dict[str, str] = {}
        for entry_id, texts in self._store.live_texts().items():
            if entry_id in incoming:
                continue
            for text in texts:
                owner_of.setdefault(canonicalize(text), entry_id)
        issues = []
        for faq, row in zip(faqs, rows, strict=True):
            if faq.status == "archived":
                continue
            for position, text in enumerate(faq.texts):
                owner = owner_of.setdefault(canonicalize(text), faq.id)
                if owner != faq.id:
                    where = "question" if position == 0 else "paraphrases"
                    issues.append(
                        _issue(faq.id, where, f"「{text}」与条目 {owner} 的问法重复", row=row)
                    )
        return issues

    # --- audit ---------------------------------------------------------------------------

    def audit(self, *, entry_id: str | None = None, offset: int = 0, limit: int = 100) -> AuditPage:
        total, items = self._store.audit_log(entry_id, offset, limit)
        return AuditPage(total=total, items=items)


def hit_test_side(
    kb: KnowledgeBase,
    label: Literal["published", "draft"],
    query: str,
    top_k: int,
    version: int | None,
) -> HitTestSide:
    """One side of 命中测试, read through KnowledgeBase's public surface only (the scoring
    may change: query()'s candidates carry dense, lexical and fused scores)."""
    result = kb.query(query, top_k=top_k)
    manifest = kb.manifest
    fusion, thresholds = manifest.fusion, manifest.thresholds
    return HitTestSide(
        label=label,
        version=version,
        available=True,
        decision=result.decision.value,
        candidates=[
            ScoredCandidate(
                id=c.id,
                question=c.faq.question,
                category=str(c.faq.category),
                dense=round(float(getattr(c, "dense", 0.0)), 4),
                lexical=round(float(getattr(c, "lexical", 0.0)), 4),
                fused=round(float(c.score), 4),
            )
            for c in result.candidates
        ],
        thresholds=Thresholds(
            answer=thresholds.answer,
            margin=thresholds.margin,
            clarify=thresholds.clarify,
            dense_weight=fusion.dense_weight,
            backed=thresholds.backed,
        ),
        latency_ms=round(result.latency_ms, 2),
        held_back=result.held_back,
        backed=result.backed,
    )


def _same_kind(first: IndexManifest, second: IndexManifest) -> bool:
    """Whether scores of the two builds are on one scale (same encoder, weights and format)."""
    return (
        first.encoder == second.encoder
        and first.encoder_revision == second.encoder_revision
        and first.format_version == second.format_version
    )
