"""Measuring the KB on labelled queries, and calibrating its fusion and thresholds.

An eval file is JSON Lines: ``{"query": str, "expected": topic_id | null}``, where null
means the query is out of scope and the right behaviour is not to answer it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from kb.classifier import ClassifierHead, LabelledTexts
from kb.index import Fusion, Thresholds, default_settings
from kb.knowledge_base import ComponentScores, Decision, KnowledgeBase, choose, outside_of
from kb.text import canonicalize

# The budgets: wrong answers ≤ 2 % of all queries, out-of-scope questions answered ≤ 5 %.
WRONG_ANSWER_BUDGET = 0.02
OOS_ANSWERED_BUDGET = 0.05
# Calibration keeps the budgets at this z of a one-sided Wilson bound (see within_budget),
# about 84 % one-sided confidence. With 0.5 the held-out split overshot both budgets at
# k = 8 and the out-of-scope one with every paraphrase; 0 (the plain dev rate) overshot
# them further.
BUDGET_CONFIDENCE_Z = 1.0
DENSE_WEIGHT_GRID = tuple(round(float(w), 2) for w in np.arange(0.3, 1.001, 0.1))
CLASSIFIER_WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
MARGIN_GRID = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2)
SCORE_GRID = tuple(round(float(s), 3) for s in np.arange(0.1, 0.95, 0.005))
# Head probabilities at which its own first choice may be answered (Thresholds.backed).
BACKED_GRID = tuple(round(float(p), 2) for p in np.arange(0.2, 0.951, 0.05))
# Below these a dev split says more about its own noise than about the KB: use the
# defaults instead (and say so in the manifest). A threshold just above all n out-of-scope
# dev questions still lets in about 1 in n + 1 new ones (a new question is as likely to
# outscore any number of them as none), so fewer than 1 / budget − 1 cannot show that
# even a clean record keeps the out-of-scope budget: with 18, a bank FAQ's calibration
# answered 1 of 16 held-out out-of-scope questions where its defaults answered none.
MIN_CALIBRATION_IN_SCOPE = 40
MIN_CALIBRATION_OUT_OF_SCOPE = math.ceil(1 / OOS_ANSWERED_BUDGET) - 1
CURVE_POINTS = 25


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    expected: str | None
    # Taught to the classifier head only, never counted when thresholds are chosen:
    # hard negatives collected on purpose (same-domain questions the FAQ does not cover)
    # are no sample of real traffic, whose rates the budgets are about.
    teach_only: bool = False


class EvalFileError(ValueError):
    pass


def read_eval_file(path: Path, known_ids: set[str] | None = None) -> list[LabelledQuery]:
    queries = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            query, expected = record["query"], record["expected"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvalFileError(f'{path}:{number}: 需要 {{"query": ..., "expected": ...}}') from exc
        if not isinstance(query, str) or not query.strip():
            raise EvalFileError(f"{path}:{number}: query 必须是非空字符串")
        if expected is not None and known_ids is not None and expected not in known_ids:
            raise EvalFileError(f"{path}:{number}: 未知的主题 id：{expected}")
        teach_only = record.get("teach_only", False)
        if not isinstance(teach_only, bool):
            raise EvalFileError(f"{path}:{number}: teach_only 只能是 true 或 false")
        queries.append(LabelledQuery(query, expected, teach_only))
    if not queries:
        raise EvalFileError(f"{path}: 文件里没有查询")
    return queries


@dataclass(frozen=True)
class Outcome:
    expected: str | None
    decision: Decision
    ranked: tuple[str, ...]  # best first, at least three
    latency_ms: float = 0.0


@dataclass(frozen=True)
class EvalReport:
    n: int
    in_scope: int
    out_of_scope: int
    top1: float
    top3: float
    oos_rejection: float
    wrong_answer_rate: float
    clarify_rate: float
    answer_rate: float
    fallback_rate: float
    answer_precision: float
    p50_ms: float
    p95_ms: float
    # Share of in-scope queries answered directly with the right entry: the deflection.
    direct_answer_rate: float = 0.0
    # Share of out-of-scope queries offered choices instead of an honest fallback.
    oos_clarify_rate: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def summarize(outcomes: Sequence[Outcome]) -> EvalReport:
    in_scope = [o for o in outcomes if o.expected is not None]
    oos = [o for o in outcomes if o.expected is None]
    answered = [o for o in outcomes if o.decision is Decision.ANSWER]
    wrong = [o for o in answered if o.ranked[0] != o.expected]
    latencies = [o.latency_ms for o in outcomes]
    return EvalReport(
        n=len(outcomes),
        in_scope=len(in_scope),
        out_of_scope=len(oos),
        top1=_share(sum(o.ranked[0] == o.expected for o in in_scope), len(in_scope)),
        top3=_share(sum(o.expected in o.ranked[:3] for o in in_scope), len(in_scope)),
        oos_rejection=_share(sum(o.decision is not Decision.ANSWER for o in oos), len(oos)),
        wrong_answer_rate=_share(len(wrong), len(outcomes)),
        clarify_rate=_share(sum(o.decision is Decision.CLARIFY for o in outcomes), len(outcomes)),
        answer_rate=_share(len(answered), len(outcomes)),
        fallback_rate=_share(sum(o.decision is Decision.FALLBACK for o in outcomes), len(outcomes)),
        answer_precision=_share(len(answered) - len(wrong), len(answered)),
        p50_ms=float(np.percentile(latencies, 50)) if latencies else 0.0,
        p95_ms=float(np.percentile(latencies, 95)) if latencies else 0.0,
        direct_answer_rate=_share(
            sum(o.decision is Decision.ANSWER and o.ranked[0] == o.expected for o in in_scope),
            len(in_scope),
        ),
        oos_clarify_rate=_share(sum(o.decision is Decision.CLARIFY for o in oos), len(oos)),
    )


def unseen(queries: Sequence[LabelledQuery], seen: Sequence[LabelledQuery]) -> list[LabelledQuery]:
    """The queries whose text (canonicalised) is not among ``seen``: a KB whose head the
    dev split taught remembers the dev questions, so a held-out measure leaves out the
    test questions that repeat one (short common ones such as 「怎么注销账号」 do)."""
    known = {canonicalize(item.query) for item in seen}
    return [item for item in queries if canonicalize(item.query) not in known]


def evaluate(kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> EvalReport:
    """Run every query through the KB exactly as production does, timing each."""
    outcomes = []
    for item in queries:
        result = kb.query(item.query, top_k=3)
        outcomes.append(
            Outcome(
                item.expected,
                result.decision,
                tuple(c.id for c in result.candidates),
                result.latency_ms,
            )
        )
    return summarize(outcomes)


@dataclass(frozen=True)
class CurvePoint:
    """One answer threshold at the chosen fusion and margin, measured on the dev split."""

    answer: float
    answered_correctly: float  # share of in-scope queries answered with the right entry
    wrong: float  # share of all queries answered with a wrong entry (out-of-scope included)
    oos_answered: float  # share of out-of-scope queries answered


# Bumped when the decision rule that calibration must see changes, so that existing
# builds are recalibrated: 1 = the head's "none of these" class holds back answers;
# 2 = the head backing its own first choice answers too (Thresholds.backed);
# 3 = the head reads the question's wording as well as its embedding.
DECISION_RULES = 3


def calibration_budgets() -> dict[str, float]:
    """The budgets and rules a calibration keeps, as recorded in the manifest."""
    return {
        "max_wrong_answer_rate": WRONG_ANSWER_BUDGET,
        "max_oos_answered_rate": OOS_ANSWERED_BUDGET,
        "confidence_z": BUDGET_CONFIDENCE_Z,
        "min_in_scope": MIN_CALIBRATION_IN_SCOPE,
        "min_out_of_scope": MIN_CALIBRATION_OUT_OF_SCOPE,
        "decision_rules": DECISION_RULES,
    }


def calibration_is_current(calibration: Mapping[str, object], dev_sha256: str) -> bool:
    """Whether a stored calibration was made on this dev file under today's budgets and
    rules (an upgrade that changes them recalibrates existing builds)."""
    return (
        calibration.get("sha256") == dev_sha256
        and calibration.get("budgets") == calibration_budgets()
        # Calibrated before the dev questions taught the head: teach it once.
        and "head_examples" in calibration
    )


@dataclass(frozen=True)
class Calibration:
    fusion: Fusion
    thresholds: Thresholds
    report: EvalReport
    source: str
    mode: str = "calibrated"  # or "defaults" when the dev split is too small
    reason: str = ""
    curve: tuple[CurvePoint, ...] = ()
    # The classifier head taught by the labelled questions too (stored with the build);
    # None when the KB has no head or the head learned nothing new.
    head: ClassifierHead | None = field(default=None, compare=False, repr=False)
    head_examples: int = 0  # labelled questions that taught the head

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "mode": self.mode,
            "reason": self.reason,
            "head_examples": self.head_examples,
            "budgets": calibration_budgets(),
            "dev": self.report.as_dict(),
            "curve": [asdict(point) for point in self.curve],
        }


@dataclass(frozen=True)
class _DevScores:
    """What the threshold search needs of one fused score matrix (queries × FAQs)."""

    best: np.ndarray
    margin: np.ndarray
    right: np.ndarray  # top FAQ is the expected one
    out_of_scope: np.ndarray
    paired: np.ndarray  # top two are a near-duplicate pair: always clarified
    doubted: np.ndarray  # the head doubts the top FAQ: never answered
    # What the head alone would answer (ComponentScores.head_choice): its probability
    # (0 where it would answer nothing), whether that is the expected FAQ, and whether
    # it and the FAQ ranked after it once it goes first are a near-duplicate pair.
    head_probability: np.ndarray
    head_right: np.ndarray
    head_paired: np.ndarray
    option_ruled_out: np.ndarray  # per query, whether the head rules out each of the top 3
    option_scores: np.ndarray  # scores of the top three, best first
    right_rank: np.ndarray  # rank of the expected FAQ among the top three, else 3
    top1: float
    gap: float

    @classmethod
    def of(
        cls,
        fused: np.ndarray,
        expected: Sequence[str | None],
        ids: Sequence[str],
        pairs: frozenset[frozenset[int]],
        components: Sequence[ComponentScores] = (),
    ) -> _DevScores:
        order = np.argsort(-fused, axis=1, kind="stable")[:, :3]
        position = {faq_id: i for i, faq_id in enumerate(ids)}
        truth = np.array([position.get(e, -1) if e is not None else -1 for e in expected])
        doubted = np.zeros(len(order), dtype=bool)
        head_probability = np.zeros(len(order), dtype=np.float64)
        head_right = np.zeros(len(order), dtype=bool)
        head_paired = np.zeros(len(order), dtype=bool)
        option_ruled_out = np.zeros(order.shape, dtype=bool)
        for query, component in enumerate(components):
            if order.shape[1] > 0:
                doubted[query] = component.doubts(int(order[query, 0]))
            choice = component.head_choice()
            if choice is not None:
                head_probability[query] = choice[1]
                head_right[query] = choice[0] == truth[query]
                after = next((int(p) for p in order[query] if int(p) != choice[0]), None)
                head_paired[query] = after is not None and frozenset((choice[0], after)) in pairs
            for place, faq in enumerate(order[query]):
                option_ruled_out[query, place] = component.rules_out(int(faq))
        top = np.take_along_axis(fused, order, axis=1)
        out_of_scope = truth < 0
        rank = np.full(len(expected), 3)
        for query, row in enumerate(order):
            hits = np.flatnonzero(row == truth[query])
            if len(hits):
                rank[query] = int(hits[0])
        runner_up = top[:, 1] if top.shape[1] > 1 else np.zeros(len(top))
        paired = np.array(
            [top.shape[1] > 1 and frozenset(row[:2].tolist()) in pairs for row in order],
            dtype=bool,
        )
        in_scope_best = top[~out_of_scope, 0]
        oos_best = top[out_of_scope, 0]
        gap = (
            float(np.median(in_scope_best) - np.median(oos_best))
            if len(in_scope_best) and len(oos_best)
            else 0.0
        )
        return cls(
            best=top[:, 0],
            margin=top[:, 0] - runner_up,
            right=rank == 0,
            out_of_scope=out_of_scope,
            paired=paired,
            doubted=doubted,
            head_probability=head_probability,
            head_right=head_right,
            head_paired=head_paired,
            option_ruled_out=option_ruled_out,
            option_scores=top,
            right_rank=rank,
            top1=float(np.mean(rank[~out_of_scope] == 0)) if (~out_of_scope).any() else 0.0,
            gap=gap,
        )

    def backed(self, backed: float | None) -> np.ndarray:
        """Which queries the head's own choice answers (Thresholds.backed)."""
        if backed is None:
            return np.zeros(len(self.best), dtype=bool)
        hit: np.ndarray = self.head_probability >= backed
        return hit

    def answered(
        self, threshold: np.ndarray | float, margin: float, backed: float | None = None
    ) -> np.ndarray:
        """Per answer threshold on the grid (rows), which queries get a direct answer
        (as kb.knowledge_base.choose decides)."""
        grid = np.atleast_1d(np.asarray(threshold, dtype=np.float64))
        passes = (
            (self.best[None, :] >= grid[:, None])
            & (self.margin >= margin)[None, :]
            & ~self.paired[None, :]
            & ~self.doubted[None, :]
        )
        answered: np.ndarray = np.where(
            self.backed(backed)[None, :], ~self.head_paired[None, :], passes
        )
        return answered

    def right_answer(self, backed: float | None = None) -> np.ndarray:
        """Whether the answer given, if any, is the expected FAQ: the head's choice where
        it answers, else the fused top."""
        right: np.ndarray = np.where(self.backed(backed), self.head_right, self.right)
        return right


def calibrate(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    source: str,
    *,
    fixed_fusion: Fusion | None = None,
    use_classifier: bool = True,
    teach_head: bool = True,
) -> Calibration:
    """Choose fusion weights and thresholds that answer the most dev questions correctly
    while wrong answers and answered out-of-scope questions stay within their budgets.

    1. every fusion on the grid (dense/BM25 weight × classifier-head weight), and for
       each the answer threshold and margin with the most correct direct answers within
       the budgets; the fusion with the most (ties: better top-1, then the wider gap
       between in-scope and out-of-scope top scores) wins;
    2. clarify threshold: offer choices when the right FAQ is likely among the plausible
       ones, counting choices offered for an out-of-scope question as doubly harmful.

    The labelled questions also teach the classifier head (``teach_head``; see
    ClassifierHead.cross_fitted): the search sees each question scored by a head that was
    not taught it, and the result carries the head taught by all of them. Questions
    marked ``teach_only`` teach the head and take no part in the search (LabelledQuery).

    ``fixed_fusion`` skips the fusion search (the benchmark uses it to measure one leg);
    ``use_classifier=False`` leaves the classifier head out (dense + BM25 only).
    A dev split with too few queries gets the encoder's defaults instead, and says so.
    """
    ids = [faq.id for faq in kb.faqs]
    components = [kb.component_scores(item.query) for item in queries]
    expected = [item.expected for item in queries]
    pairs = kb.duplicate_pairs
    marked = any(item.teach_only for item in queries)
    in_scope = sum(item.expected is not None and not item.teach_only for item in queries)
    oos = sum(item.expected is None and not item.teach_only for item in queries)
    has_head = use_classifier and bool(components) and components[0].classifier is not None

    enough = in_scope >= MIN_CALIBRATION_IN_SCOPE and oos >= MIN_CALIBRATION_OUT_OF_SCOPE
    head, taught = None, 0
    if has_head:
        # Always a fresh head, stored with the result: one a stale calibration taught
        # must neither score these questions (it may have memorised them) nor stay.
        learned = (
            _taught_head(kb, components, expected, ids, [q.teach_only for q in queries])
            if enough and teach_head
            else None
        )
        if learned is None:
            learned = _paraphrase_head(kb, components, ids)
        if learned is not None:
            head, components, taught = learned

    if marked:  # taught above; the thresholds are chosen on the rest alone
        scored = [index for index, item in enumerate(queries) if not item.teach_only]
        components = [components[index] for index in scored]
        expected = [expected[index] for index in scored]
    if not has_head:  # a head the KB kept from elsewhere must neither veto nor answer
        components = [replace(c, classifier=None, outside=0.0) for c in components]
    if not enough:
        fusion, thresholds = default_settings(kb.manifest.encoder)
        fusion = fixed_fusion or fusion
        reason = (
            f"开发集只有 {in_scope} 条范围内、{oos} 条超出范围的问题"
            f"（校准至少需要 {MIN_CALIBRATION_IN_SCOPE} 条和 {MIN_CALIBRATION_OUT_OF_SCOPE} 条），"
            "使用编码器的默认融合权重和阈值。"
        )
        outcomes = (
            _outcomes(
                np.stack([c.fused(fusion) for c in components]),
                expected,
                ids,
                thresholds,
                pairs,
                components=components,
            )
            if components  # a file of teach-only questions alone scores nothing
            else []
        )
        return Calibration(
            fusion, thresholds, summarize(outcomes), source, "defaults", reason, head=head
        )

    if fixed_fusion is not None:
        fusions = [fixed_fusion]
    else:
        head_weights = CLASSIFIER_WEIGHT_GRID if has_head else (0.0,)
        fusions = [Fusion(w, c) for w in DENSE_WEIGHT_GRID for c in head_weights]
    best: tuple[tuple[int, float, float], Fusion, Thresholds, _DevScores] | None = None
    for fusion in fusions:
        fused = np.stack([c.fused(fusion) for c in components])
        dev = _DevScores.of(fused, expected, ids, pairs, components)
        answer, margin, correct = _best_answer_rule(dev)
        key = (correct, dev.top1, dev.gap)
        if best is None or key > best[0]:
            thresholds = Thresholds(answer=answer, margin=margin, clarify=answer)
            best = (key, fusion, thresholds, dev)
    assert best is not None
    _, fusion, thresholds, dev = best
    thresholds = replace(thresholds, backed=_best_backing(dev, thresholds))
    thresholds = replace(thresholds, clarify=_best_clarify(dev, thresholds))
    fused = np.stack([c.fused(fusion) for c in components])
    outcomes = _outcomes(fused, expected, ids, thresholds, pairs, components=components)
    curve = _curve(dev, thresholds)
    return Calibration(
        fusion,
        thresholds,
        summarize(outcomes),
        source,
        curve=curve,
        head=head,
        head_examples=taught,
    )


def _taught_head(
    kb: KnowledgeBase,
    components: list[ComponentScores],
    expected: Sequence[str | None],
    ids: Sequence[str],
    teach_only: Sequence[bool],
) -> tuple[ClassifierHead, list[ComponentScores], int] | None:
    """The head taught by the labelled questions as well (out-of-scope ones as the head's
    "none of these" class), and the components with each question's held-out head
    probabilities; returns (head, components, questions taught)."""
    rows = kb.head_training_rows()
    examples = _examples(
        ids,
        expected,
        [(component.vector, component.text) for component in components],
        teach_only,
    )
    if rows is None or examples is None:
        return None
    labelled, taught = examples
    learned = ClassifierHead.cross_fitted(rows, len(ids), taught)
    if learned is None:
        return None
    head, held_out = learned
    updated = list(components)
    for index, probabilities in zip(labelled, held_out, strict=True):
        updated[index] = replace(
            components[index],
            classifier=probabilities,
            outside=outside_of(head, probabilities),
        )
    return head, updated, len(labelled)


def _paraphrase_head(
    kb: KnowledgeBase, components: list[ComponentScores], ids: Sequence[str]
) -> tuple[ClassifierHead, list[ComponentScores], int] | None:
    """The head of the index rows alone, and the components scored by it."""
    rows = kb.head_training_rows()
    head = ClassifierHead.train(rows, len(ids)) if rows is not None else None
    if head is None:
        return None
    updated = [
        replace(c, classifier=head.probabilities(c.vector, c.text), outside=0.0)
        if c.vector is not None
        else c
        for c in components
    ]
    return head, updated, 0


def head_taught_by(
    kb: KnowledgeBase, queries: Sequence[LabelledQuery], vectors: Sequence[np.ndarray]
) -> ClassifierHead | None:
    """The head a calibration on ``queries`` (embedded as ``vectors``, from their
    canonicalised text) would store for ``kb``, without calibrating: for a preview that
    borrows thresholds calibrated with a taught head (the workspace's draft). None when
    the KB has no head to teach."""
    rows = kb.head_training_rows()
    ids = [faq.id for faq in kb.faqs]
    examples = _examples(
        ids,
        [q.expected for q in queries],
        [(vector, canonicalize(q.query)) for q, vector in zip(queries, vectors, strict=True)],
        [q.teach_only for q in queries],
    )
    if rows is None or examples is None:
        return None
    return ClassifierHead.taught(rows, len(ids), examples[1])


def _examples(
    ids: Sequence[str],
    expected: Sequence[str | None],
    embedded: Sequence[tuple[np.ndarray | None, str]],
    teach_only: Sequence[bool],
) -> tuple[list[int], LabelledTexts] | None:
    """The labelled questions the head can learn from, as (their positions, the
    questions), where owner ``len(ids)`` is out of scope and ``len(ids) + 1`` a
    teach-only out-of-scope question (ClassifierHead); None without any in-scope one.
    ``embedded``: each question's embedding (None if it has none) and canonicalised text.
    """
    position = {faq_id: index for index, faq_id in enumerate(ids)}
    labelled: list[int] = []
    stacked: list[np.ndarray] = []
    texts: list[str] = []
    for index, (label, (vector, text)) in enumerate(zip(expected, embedded, strict=True)):
        if (label is None or label in position) and vector is not None:
            labelled.append(index)
            stacked.append(vector)
            texts.append(text)
    if not any(expected[index] is not None for index in labelled):
        return None
    owners = np.array(
        [
            position.get(str(expected[index]), len(ids) + int(teach_only[index]))
            for index in labelled
        ],
        dtype=np.int32,
    )
    return labelled, LabelledTexts(np.stack(stacked).astype(np.float32), texts, owners)


def _outcomes(
    fused: np.ndarray,
    expected: Sequence[str | None],
    ids: Sequence[str],
    thresholds: Thresholds,
    pairs: frozenset[frozenset[int]] = frozenset(),
    *,
    components: Sequence[ComponentScores] = (),
) -> list[Outcome]:
    outcomes = []
    for index, (row, label) in enumerate(zip(fused, expected, strict=True)):
        head = components[index] if components else None
        decision, order = choose(
            row,
            thresholds,
            pairs,
            doubted=head.doubts if head else None,
            ruled_out=head.rules_out if head else None,
            head_choice=head.head_choice() if head else None,
        )
        outcomes.append(Outcome(label, decision, tuple(ids[i] for i in order)))
    return outcomes


def _best_answer_rule(dev: _DevScores) -> tuple[float, float, int]:
    """(answer threshold, margin, correct answers) with the most correct direct answers
    within the budgets; between equals, the stricter rule."""
    grid = np.asarray(SCORE_GRID)
    chosen = (float(grid[-1]), float(MARGIN_GRID[-1]), -1)
    for margin in MARGIN_GRID:
        answered = dev.answered(grid, margin)
        correct = (answered & dev.right[None, :]).sum(axis=1)
        feasible = _keeps_budgets(dev, answered, dev.right)
        for index in np.flatnonzero(feasible):
            candidate = (float(grid[index]), float(margin), int(correct[index]))
            if (candidate[2], candidate[0], candidate[1]) > (chosen[2], chosen[0], chosen[1]):
                chosen = candidate
    return chosen[0], chosen[1], max(chosen[2], 0)


def _keeps_budgets(dev: _DevScores, answered: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per row of ``answered`` (rules × queries), whether its wrong answers and answered
    out-of-scope questions keep their budgets; ``right``: whether each answer is right."""
    wrong = (answered & ~right[None, :]).sum(axis=1)
    oos_answered = (answered & dev.out_of_scope[None, :]).sum(axis=1)
    oos_total = max(int(dev.out_of_scope.sum()), 1)
    kept: np.ndarray = within_budget(wrong, len(dev.best), WRONG_ANSWER_BUDGET) & within_budget(
        oos_answered, oos_total, OOS_ANSWERED_BUDGET
    )
    return kept


def _best_backing(dev: _DevScores, thresholds: Thresholds) -> float | None:
    """The head probability at which the head's own first choice is answered too
    (Thresholds.backed): the one that adds the most correct answers while the answers of
    both rules together keep the budgets (between equals, the stricter); None when no
    probability adds any.

    The dev questions are scored by heads that were not taught them (cross-fitting), so
    the head is as unsure of them as it will be of new questions. A sure choice that has
    a near-duplicate right after it is clarified between the two, not answered: it
    counts as neither a right nor a wrong answer here."""
    before = int((dev.answered(thresholds.answer, thresholds.margin)[0] & dev.right).sum())
    chosen, most = None, before
    for backed in sorted(BACKED_GRID, reverse=True):  # ties keep the stricter rule
        answered = dev.answered(thresholds.answer, thresholds.margin, backed)[0]
        right = dev.right_answer(backed)
        correct = int((answered & right).sum())
        if correct > most and bool(_keeps_budgets(dev, answered[None, :], right)[0]):
            chosen, most = backed, correct
    return chosen


def wilson_upper_bound(count: np.ndarray, total: int, z: float) -> np.ndarray:
    """One-sided Wilson upper bound of a rate observed as ``count`` out of ``total``."""
    if total <= 0:  # nothing observed, nothing to exceed
        return np.zeros_like(np.asarray(count, dtype=np.float64))
    n = total
    rate = np.asarray(count, dtype=np.float64) / n
    z2 = z * z
    centre = rate + z2 / (2 * n)
    spread = z * np.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))
    bound: np.ndarray = (centre + spread) / (1 + z2 / n)
    return bound


def within_budget(
    count: np.ndarray, total: int, budget: float, z: float = BUDGET_CONFIDENCE_Z
) -> np.ndarray:
    """Whether the rate keeps its budget on queries not seen yet, not just on the dev split.

    The rate at the chosen threshold is measured on the same queries that chose it, so it
    is optimistic; asking its upper confidence bound to keep the budget leaves the room
    that a small dev split needs and a large one does not.

    A clean record always passes: no dev split can show fewer than zero failures. A
    split too small for a clean record to mean the budget is kept (at z = 1 the bound
    at zero is 1 / (n + 1)) is refused before this (MIN_CALIBRATION_*).
    """
    counts = np.asarray(count)
    bound = wilson_upper_bound(counts, total, z)
    result: np.ndarray = (counts == 0) | (bound <= budget + 1e-12)
    return result


def _best_clarify(dev: _DevScores, thresholds: Thresholds) -> float:
    """The clarify threshold with the best balance: +1 when the right FAQ is among the
    plausible options offered, −1 when in scope but not offered, −2 for out-of-scope.

    As kb.knowledge_base.choose offers them: the top three that pass the threshold and
    that the head does not rule out, or exactly the top two of a near-duplicate pair."""
    not_answered = ~dev.answered(thresholds.answer, thresholds.margin, thresholds.backed)[0]
    # The head's sure choice and a near-duplicate of it are offered as exactly those two,
    # whatever this threshold: they take no part in choosing it.
    not_answered &= ~(dev.backed(thresholds.backed) & dev.head_paired)
    best_threshold, best_gain = thresholds.answer, 0
    slot = np.minimum(dev.right_rank, 2)[:, None]
    right_score = np.take_along_axis(dev.option_scores, slot, 1)[:, 0]
    right_ruled_out = np.take_along_axis(dev.option_ruled_out, slot, 1)[:, 0]
    right_in_pair = dev.paired & (dev.right_rank < 2)
    right_offerable = ~dev.paired & (dev.right_rank < 3) & ~right_ruled_out
    for threshold in SCORE_GRID:
        if threshold > thresholds.answer:
            break
        plausible = (dev.option_scores >= threshold) & ~dev.option_ruled_out
        clarified = not_answered & np.where(dev.paired, dev.best >= threshold, plausible.any(1))
        helped = clarified & (right_in_pair | (right_offerable & (right_score >= threshold)))
        missed = clarified & ~dev.out_of_scope & ~helped
        gain = int(helped.sum()) - int(missed.sum()) - 2 * int((clarified & dev.out_of_scope).sum())
        if gain > best_gain:
            best_threshold, best_gain = threshold, gain
    return float(best_threshold)


def _curve(dev: _DevScores, thresholds: Thresholds) -> tuple[CurvePoint, ...]:
    grid = np.asarray(SCORE_GRID)
    answered = dev.answered(grid, thresholds.margin, thresholds.backed)
    right = dev.right_answer(thresholds.backed)
    in_scope = max(int((~dev.out_of_scope).sum()), 1)
    oos = max(int(dev.out_of_scope.sum()), 1)
    points = [
        CurvePoint(
            answer=round(float(grid[i]), 3),
            answered_correctly=round(float((answered[i] & right).sum()) / in_scope, 4),
            wrong=round(float((answered[i] & ~right).sum()) / len(dev.best), 4),
            oos_answered=round(float((answered[i] & dev.out_of_scope).sum()) / oos, 4),
        )
        for i in range(len(grid))
    ]
    # Keep the informative stretch (where anything is answered) and thin it out.
    live = [p for p in points if p.answered_correctly > 0 or p.wrong > 0] or points
    step = max(len(live) // CURVE_POINTS, 1)
    kept = live[::step]
    chosen = min(points, key=lambda p: abs(p.answer - thresholds.answer))
    if chosen not in kept:
        kept = sorted([*kept, chosen], key=lambda p: p.answer)
    return tuple(kept)
