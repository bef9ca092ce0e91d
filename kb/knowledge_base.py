"""The runtime KB: hybrid retrieval, the answer / clarify / fallback decision, hot reload."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

from kb.classifier import ClassifierHead, LabelledTexts
from kb.content import FAQ
from kb.dense import DenseIndex, relative_to_background
from kb.duplicates import NearDuplicate
from kb.encoders import Encoder, load_encoder
from kb.index import (
    Fusion,
    Manifest,
    Thresholds,
    current_index_dir,
    head_path,
    index_rows,
    read_manifest,
)
from kb.lexical import LexicalIndex
from kb.text import Tokenizer, canonicalize

logger = logging.getLogger(__name__)

# Dense rows fetched per query before aggregating to FAQs. Enough to cover every FAQ
# that could still win once the lexical score is added.
DENSE_ROWS_PER_QUERY = 64
CLARIFY_OPTIONS = 3


class Decision(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class Candidate:
    faq: FAQ
    score: float
    dense: float
    lexical: float

    @property
    def id(self) -> str:
        return self.faq.id

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.faq.id,
            "score": round(self.score, 4),
            "question": self.faq.question,
            "answer": self.faq.answer,
        }


@dataclass(frozen=True)
class QueryResult:
    decision: Decision
    candidates: list[Candidate]
    latency_ms: float
    # The classifier head's doubt (ComponentScores.doubts) kept the best-scoring entry
    # from being answered directly, as it would have been otherwise; shown to maintainers.
    held_back: bool = False
    # Answered because the head backed its own choice (Thresholds.backed), where the
    # fused scores alone would not have answered, or answered another entry; shown to
    # maintainers.
    backed: bool = False
    # The head's probability that the FAQ does not cover the question at all (0 without a
    # head taught out-of-scope questions); above one half, likelier than every entry
    # together.
    outside: float = 0.0

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision.value,
            "candidates": [candidate.as_dict() for candidate in self.candidates],
            "latency_ms": round(self.latency_ms, 3),
            "held_back": self.held_back,
            "backed": self.backed,
            "outside": round(self.outside, 4),
        }


@dataclass(frozen=True)
class ComponentScores:
    """Per-FAQ dense, lexical and classifier-head scores of one query, before fusion."""

    dense: NDArray[np.float32]
    lexical: NDArray[np.float32]
    classifier: NDArray[np.float32] | None = None
    # The query's embedding (calibration teaches the head from labelled queries with it).
    vector: NDArray[np.float32] | None = None
    # The head's probability of "none of these entries" (0 for a head never taught any
    # out-of-scope question, which has no such class).
    outside: float = 0.0
    # The entries that have this very wording as their question or a paraphrase
    # (normalised): what a maintainer wrote down for an entry is never doubted.
    written: frozenset[int] = frozenset()
    # The query as the KB read it (canonicalised): the head reads its wording too.
    # Empty only in scores made by hand (tests), where the head then sees no wording.
    text: str = ""

    def doubts(self, position: int) -> bool:
        """Whether the head finds "none of these" likelier than the entry at ``position``.

        Calibrated builds teach the head real out-of-scope questions; when it says a
        question looks more like those than like the entry the fused score ranks first,
        that entry is not answered directly (it may still be offered as a choice). Same-
        domain questions the FAQ does not cover often borrow an entry's words and
        score high on both similarity legs; the head has seen such questions.

        The head may still underfit one new paraphrase (a nickname a maintainer just
        added); a query that is word for word an entry's own wording is not doubted.
        """
        return (
            self.classifier is not None
            and position not in self.written
            and self.outside > float(self.classifier[position])
        )

    def rules_out(self, position: int) -> bool:
        """Whether the entry is no plausible choice either: the head doubts it and takes
        the question for one the FAQ does not cover ("none of these" likelier than any
        entry). A head sure of another entry only doubts this one as the answer: 「密码
        想不起来了」 may still mean the payment password, so both stay on offer."""
        return (
            self.doubts(position)
            and self.classifier is not None
            and self.outside > float(self.classifier.max())
        )

    def head_choice(self) -> tuple[int, float] | None:
        """The entry the head, on its own, would answer and its probability; None
        without a head, or when "none of these" is the head's likeliest class."""
        if self.classifier is None or not len(self.classifier):
            return None
        position = int(np.argmax(self.classifier))
        probability = float(self.classifier[position])
        return (position, probability) if probability > self.outside else None

    def fused(self, fusion: Fusion) -> NDArray[np.float32]:
        weight = np.float32(fusion.dense_weight)
        similarity = weight * self.dense + (np.float32(1) - weight) * self.lexical
        head_weight = np.float32(fusion.classifier_weight)
        if self.classifier is None or head_weight <= 0:
            return similarity
        return (np.float32(1) - head_weight) * similarity + head_weight * self.classifier


def decide(
    fused: NDArray[np.float32], thresholds: Thresholds
) -> tuple[Decision, NDArray[np.int64]]:
    """The decision for one query, and the FAQ positions ranked best first (top few)."""
    count = min(CLARIFY_OPTIONS, len(fused))
    top = (
        np.argpartition(-fused, count - 1)[:count] if len(fused) > count else np.arange(len(fused))
    )
    top = np.sort(top)  # ties then go to the lower position, as in a stable sort of all
    order = top[np.argsort(-fused[top], kind="stable")].astype(np.int64)
    best = float(fused[order[0]])
    runner_up = float(fused[order[1]]) if len(order) > 1 else 0.0
    if best >= thresholds.answer and best - runner_up >= thresholds.margin:
        return Decision.ANSWER, order
    if best >= thresholds.clarify:
        return Decision.CLARIFY, order
    return Decision.FALLBACK, order


def choose(
    fused: NDArray[np.float32],
    thresholds: Thresholds,
    duplicate_pairs: frozenset[frozenset[int]] = frozenset(),
    options: int = CLARIFY_OPTIONS,
    *,
    doubted: Callable[[int], bool] | None = None,
    ruled_out: Callable[[int], bool] | None = None,
    head_choice: tuple[int, float] | None = None,
    decided: tuple[Decision, NDArray[np.int64]] | None = None,
) -> tuple[Decision, list[int]]:
    """The decision and the FAQ positions to show, best first.

    - The top two are a known near-duplicate pair: clarify between exactly those two,
      whatever the margin (the FAQ cannot tell them apart, so guessing would be wrong half
      the time), unless even the best is implausible (fall back).
    - Clarify: offer only the candidates that are plausibly right on their own, i.e. whose
      score passes the clarify threshold; an unrelated third choice helps nobody.
    - Answer / fall back: the ranking, ``options`` long (for the record and the agent).
    - ``doubted(position)`` says the classifier head doubts that entry (see
      ComponentScores.doubts): it is not answered. ``ruled_out(position)``: nor offered,
      since the head takes the question for one the FAQ does not cover; when no other
      candidate is plausible, the honest answer is the fallback.
    - ``head_choice`` (ComponentScores.head_choice): when the head on its own names an
      entry with at least ``thresholds.backed``, that entry goes first and is answered.
      A long message full of context dilutes both similarity legs, so its fused score
      stays low even when the head, taught real users' questions, is sure; and where
      the fused ranking and a sure head disagree, the head was right more often on the
      dev split. Calibration measured both within the budgets. The head's doubt and a
      near-duplicate pair on top still hold such an answer back.
    - ``decided``: what decide() already said of ``fused``, for a caller that needs it too.
    """
    decision, order = decided if decided is not None else decide(fused, thresholds)
    ranked = [int(position) for position in order]
    if thresholds.backed is not None and head_choice is not None:
        position, probability = head_choice
        if probability >= thresholds.backed:
            ranked = [position, *(p for p in ranked if p != position)]
            decision = Decision.ANSWER
    if decision is Decision.ANSWER and doubted is not None and doubted(ranked[0]):
        decision = Decision.CLARIFY
    if len(ranked) < options and len(fused) > len(ranked):
        # Extend the top few (the head's choice may lead them) with the rest, in order.
        more = np.argsort(-fused, kind="stable")[: options + 1]
        ranked = [*ranked, *(int(p) for p in more if int(p) not in ranked)]
    if decision is Decision.FALLBACK:
        return decision, ranked[:options]
    if len(ranked) > 1 and frozenset(ranked[:2]) in duplicate_pairs:
        return Decision.CLARIFY, ranked[:2]
    if decision is Decision.CLARIFY:
        offered = [
            p
            for p in ranked[:options]
            if fused[p] >= thresholds.clarify and not (ruled_out is not None and ruled_out(p))
        ]
        return (decision, offered) if offered else (Decision.FALLBACK, ranked[:options])
    return decision, ranked[:options]


class _LoadedIndex:
    """Everything one index needs at query time; immutable once loaded."""

    def __init__(self, directory: Path, manifest: Manifest, encoder: Encoder) -> None:
        self.directory = directory
        self.manifest = manifest
        self.encoder = encoder
        if manifest.encoder_revision != encoder.revision:
            # Still served (the vectors are close, and refusing would take the KB down),
            # but rows and queries come from different weights until the next build.
            logger.warning(
                "知识库构建 %s 的向量来自另一版编码器权重（%s，本进程是 %s）："
                "旧构建请运行 `kefu kb build` 重建；模型刚重新导出时请重启服务。",
                directory.name,
                manifest.encoder_revision or "未记录",
                encoder.revision,
            )
        faq_records = json.loads((directory / "faqs.json").read_text("utf-8"))
        self.faqs = [FAQ.model_validate(record) for record in faq_records]
        self.by_id = {faq.id: faq for faq in self.faqs}
        # Grouped once here, not on every chat turn that asks for an entry's neighbours.
        self.by_category: dict[object, tuple[FAQ, ...]] = {}
        for faq in self.faqs:
            self.by_category[faq.category] = (*self.by_category.get(faq.category, ()), faq)
        self.faq_of_row = np.load(directory / "faq_of_row.npy")
        self.dense = DenseIndex.load(directory / "dense.faiss", manifest.index_type)
        self.lexical = LexicalIndex.load(directory / "lexical")
        head_file = head_path(directory, manifest)
        if manifest.calibration.get("head_file") and not head_file.exists():
            # Its thresholds were set with that head: serving them without it would pair
            # them with other scores. Failing keeps a reloading process on its old build.
            raise FileNotFoundError(
                f"知识库构建 {directory.name} 缺少校准时的分类头 {head_file.name}，"
                "请重新运行 `kefu kb build`。"
            )
        self.head = ClassifierHead.load(head_file)
        if self.head is not None and self.head.entries != len(self.faqs):
            self.head = None  # a mismatched head is worse than none
        self._wordings: dict[str, frozenset[int]] | None = None
        if self.head is not None:
            self.wordings()  # before the first query, not during it
        position = {faq.id: index for index, faq in enumerate(self.faqs)}
        self.near_duplicates = [NearDuplicate.from_dict(d) for d in manifest.near_duplicates]
        self.duplicate_pairs = frozenset(
            frozenset((position[d.first], position[d.second]))
            for d in self.near_duplicates
            if d.first in position and d.second in position
        )

    def component_scores(self, text: str, tokenizer: Tokenizer) -> ComponentScores:
        normalized = canonicalize(text)
        vector = self.encoder.encode([normalized])[0]
        rows, cosines = self.dense.search(vector, DENSE_ROWS_PER_QUERY)
        dense = relative_to_background(
            _mean_of_best_two(self.faq_of_row[rows], cosines, len(self.faqs)),
            self.manifest.dense_background,
        )
        lexical = self.lexical.scores(tokenizer.tokens(normalized))
        if self.head is None:
            return ComponentScores(dense, lexical, None, vector, text=normalized)
        classifier = self.head.probabilities(vector, normalized)
        outside = outside_of(self.head, classifier)
        written = self.wordings().get(normalized, frozenset())
        return ComponentScores(dense, lexical, classifier, vector, outside, written, normalized)

    def wordings(self) -> dict[str, frozenset[int]]:
        """Every question and paraphrase, normalised, → the positions of the entries
        that have it. Built once, on first use: only KBs with a classifier head ask
        (never the huge ones); two threads building it at once build the same dict."""
        if self._wordings is None:
            owners: dict[str, set[int]] = {}
            for position, faq in enumerate(self.faqs):
                for text in (faq.question, *faq.paraphrases):
                    owners.setdefault(canonicalize(text), set()).add(position)
            self._wordings = {text: frozenset(held) for text, held in owners.items()}
        return self._wordings


def outside_of(head: ClassifierHead, probabilities: NDArray[np.float32]) -> float:
    """The head's "none of these" probability, given its entries' probabilities."""
    return max(0.0, 1.0 - float(probabilities.sum())) if head.outside else 0.0


def _mean_of_best_two(
    owners: NDArray[np.int32], cosines: NDArray[np.float32], faq_count: int
) -> NDArray[np.float32]:
    """Per FAQ, the mean cosine of its two closest rows among those fetched.

    Two rows agreeing is stronger evidence than one lucky paraphrase: on the dev split
    this beat the plain maximum by 2 points of top-1 (and 4 on test). A FAQ with fewer
    than two rows fetched counts the weakest fetched cosine, an upper bound, instead.
    """
    floor = cosines[-1] if len(cosines) else np.float32(0)
    best = np.full(faq_count, floor, dtype=np.float32)
    second = np.full(faq_count, floor, dtype=np.float32)
    # cosines come best first, so a FAQ's first occurrence is its best row.
    _, first = np.unique(owners, return_index=True)
    best[owners[first]] = cosines[first]
    remaining = np.ones(len(owners), dtype=bool)
    remaining[first] = False
    _, second_index = np.unique(owners[remaining], return_index=True)
    second[owners[remaining][second_index]] = cosines[remaining][second_index]
    return (best + second) / np.float32(2)


class KnowledgeBase:
    """Answers questions from a built index; ``reload`` swaps the index in place.

    Queries read the current index through one attribute, which ``reload`` replaces
    only once the new index is fully loaded: a query in flight finishes on the index
    it started with, and none is dropped.
    """

    def __init__(
        self, loaded: _LoadedIndex, tokenizer: Tokenizer, models_dir: Path | None = None
    ) -> None:
        self._loaded = loaded
        self._tokenizer = tokenizer
        self._models_dir = models_dir
        self._reload_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        encoder: Encoder | None = None,
        models_dir: Path | None = None,
    ) -> KnowledgeBase:
        """Load an index folder, or the CURRENT one when given the index root."""
        directory = _resolve(directory)
        manifest = read_manifest(directory)
        # Batch-1 queries: FAISS's OpenMP threads only add overhead on 2 cores.
        faiss.omp_set_num_threads(1)
        chosen = encoder or load_encoder(manifest.encoder, models_dir=models_dir)
        tokenizer = Tokenizer()
        tokenizer.initialize()
        kb = cls(_LoadedIndex(directory, manifest, chosen), tokenizer, models_dir)
        kb.query("预热")  # first-call costs (BLAS, FAISS, jieba caches) belong to start-up
        return kb

    @property
    def manifest(self) -> Manifest:
        return self._loaded.manifest

    @property
    def directory(self) -> Path:
        return self._loaded.directory

    @property
    def encoder(self) -> Encoder:
        """The sentence encoder of the index in use (encode ``canonicalize``d text)."""
        return self._loaded.encoder

    @property
    def faqs(self) -> list[FAQ]:
        return list(self._loaded.faqs)

    @property
    def near_duplicates(self) -> list[NearDuplicate]:
        """Entry pairs the build found overlapping; the KB clarifies between them."""
        return list(self._loaded.near_duplicates)

    @property
    def duplicate_pairs(self) -> frozenset[frozenset[int]]:
        """The near-duplicate pairs as FAQ positions (for calibration)."""
        return self._loaded.duplicate_pairs

    def get(self, faq_id: str) -> FAQ | None:
        return self._loaded.by_id.get(faq_id)

    def same_category(self, faq: FAQ) -> tuple[FAQ, ...]:
        """The entries of ``faq``'s category, itself included, in FAQ order."""
        return self._loaded.by_category.get(faq.category, ())

    def component_scores(self, text: str) -> ComponentScores:
        return self._loaded.component_scores(text, self._tokenizer)

    def head_training_rows(self) -> LabelledTexts | None:
        """The index rows the classifier head learns from, when this KB has a head at
        all (it is skipped where training would cost too much)."""
        loaded = self._loaded
        if loaded.head is None:
            return None
        texts = index_rows(loaded.faqs).texts
        return LabelledTexts(loaded.dense.vectors(), texts, loaded.faq_of_row.astype(np.int32))

    def best_among(self, text: str, wanted: Callable[[FAQ], bool]) -> Candidate | None:
        """The best-scoring entry for ``text`` among those ``wanted`` picks, wherever the
        KB ranks it (a caller that knows which kind of entry a situation needs)."""
        positions = [position for position, faq in enumerate(self.faqs) if wanted(faq)]
        if not positions:
            return None
        scores = self.component_scores(text)
        fused = scores.fused(self._loaded.manifest.fusion)
        best = max(positions, key=lambda position: float(fused[position]))
        return Candidate(
            self.faqs[best],
            float(fused[best]),
            float(scores.dense[best]),
            float(scores.lexical[best]),
        )

    def query(self, text: str, top_k: int = CLARIFY_OPTIONS) -> QueryResult:
        started = time.perf_counter()
        loaded = self._loaded
        scores = loaded.component_scores(text, self._tokenizer)
        fused = scores.fused(loaded.manifest.fusion)
        thresholds = loaded.manifest.thresholds
        plain, ranked = decide(fused, thresholds)
        decision, order = choose(
            fused,
            thresholds,
            loaded.duplicate_pairs,
            max(top_k, 1),
            doubted=scores.doubts,
            ruled_out=scores.rules_out,
            head_choice=scores.head_choice(),
            decided=(plain, ranked),
        )
        # Whether the head's doubt is what kept the best from a direct answer.
        best = int(ranked[0])
        held_back = (
            plain is Decision.ANSWER
            and decision is not Decision.ANSWER
            and scores.doubts(best)
            and not (len(ranked) > 1 and frozenset(ranked[:2].tolist()) in loaded.duplicate_pairs)
        )
        if decision is Decision.FALLBACK:
            order = [int(p) for p in np.argsort(-fused, kind="stable")[: min(top_k, len(fused))]]
        candidates = [
            Candidate(
                loaded.faqs[position],
                float(fused[position]),
                float(scores.dense[position]),
                float(scores.lexical[position]),
            )
            for position in order[:top_k]
        ]
        elapsed = (time.perf_counter() - started) * 1000
        backed = decision is Decision.ANSWER and (plain is not Decision.ANSWER or order[0] != best)
        return QueryResult(decision, candidates, elapsed, held_back, backed, scores.outside)

    def reload(self, directory: Path | None = None) -> Manifest:
        """Load ``directory`` (default: the CURRENT index next to the one in use) and swap."""
        with self._reload_lock:
            current = self._loaded
            target = _resolve(directory or current.directory.parent)
            manifest = read_manifest(target)
            encoder = (
                current.encoder
                if manifest.encoder == current.manifest.encoder
                else load_encoder(manifest.encoder, models_dir=self._models_dir)
            )
            self._loaded = _LoadedIndex(target, manifest, encoder)
            return manifest

    def with_settings(
        self,
        fusion: Fusion,
        thresholds: Thresholds,
        head: ClassifierHead | None = None,
        calibration: dict[str, object] | None = None,
    ) -> None:
        """Use other fusion weights and thresholds, and the head and the calibration
        record they came from (when given); not persisted."""
        # A shallow copy shares the loaded indexes; only the manifest (and head) differ.
        updated = copy.copy(self._loaded)
        updated.manifest = replace(updated.manifest, fusion=fusion, thresholds=thresholds)
        if calibration is not None:
            updated.manifest = replace(updated.manifest, calibration=calibration)
        if head is not None and head.entries == len(updated.faqs):
            updated.head = head
        self._loaded = updated


def _resolve(directory: Path) -> Path:
    if (directory / "manifest.json").exists():
        return directory
    current = current_index_dir(directory)
    if current is None:
        raise FileNotFoundError(f"{directory} 中没有已构建的知识库索引，请先运行 `kefu kb build`。")
    return current
