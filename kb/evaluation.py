"""Measuring the KB on labelled queries, and calibrating its fusion and thresholds.

An eval file is JSON Lines: ``{"query": str, "expected": topic_id | null}``, where null
means the query is out of scope and the right behaviour is not to answer it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kb.index import Fusion, Thresholds
from kb.knowledge_base import ComponentScores, Decision, KnowledgeBase, decide

# Calibration aims below the targets (wrong answers ≤ 3 %, out-of-scope rejection
# ≥ 90 %) so that the thresholds keep them on queries they have not seen.
MAX_WRONG_ANSWER_RATE = 0.015
MIN_OOS_REJECTION = 0.95
DENSE_WEIGHT_GRID = tuple(round(w, 2) for w in np.arange(0.3, 1.001, 0.05))
MARGIN_GRID = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1)
SCORE_GRID = tuple(round(s, 3) for s in np.arange(0.2, 0.95, 0.005))


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    expected: str | None


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
        queries.append(LabelledQuery(query, expected))
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
    )


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
class Calibration:
    fusion: Fusion
    thresholds: Thresholds
    report: EvalReport
    source: str

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "dev": self.report.as_dict()}


def calibrate(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    source: str,
    *,
    fixed_fusion: Fusion | None = None,
) -> Calibration:
    """Pick the fusion weight, then the thresholds, that do best on ``queries``.

    1. dense weight: the best in-scope top-1 (ties → the wider gap between the top
       scores of in-scope and out-of-scope queries);
    2. answer threshold and margin: the most correct answers while wrong answers and
       answered out-of-scope queries stay under the calibration limits;
    3. clarify threshold: offer options when the right FAQ is likely among the top
       three, but not for most out-of-scope queries.

    ``fixed_fusion`` skips step 1 (the benchmark uses it to measure one leg alone).
    """
    ids = [faq.id for faq in kb.faqs]
    components = [kb.component_scores(item.query) for item in queries]
    expected = [item.expected for item in queries]
    fusion = fixed_fusion or _best_fusion(components, expected, ids)
    fused = np.stack([c.fused(fusion) for c in components])
    thresholds = _best_thresholds(fused, expected, ids)
    outcomes = _outcomes(fused, expected, ids, thresholds)
    return Calibration(fusion, thresholds, summarize(outcomes), source)


def _best_fusion(
    components: Sequence[ComponentScores], expected: Sequence[str | None], ids: Sequence[str]
) -> Fusion:
    in_scope = [i for i, e in enumerate(expected) if e is not None]
    oos = [i for i, e in enumerate(expected) if e is None]
    truth = np.array([ids.index(str(expected[i])) for i in in_scope])
    best: tuple[float, float, float] | None = None
    for weight in DENSE_WEIGHT_GRID:
        fused = np.stack([c.fused(Fusion(weight)) for c in components])
        top1 = float(np.mean(fused[in_scope].argmax(axis=1) == truth))
        gap = float(np.median(fused[in_scope].max(axis=1)) - np.median(fused[oos].max(axis=1)))
        if best is None or (top1, gap) > best[:2]:
            best = (top1, gap, weight)
    assert best is not None
    return Fusion(dense_weight=float(best[2]))


def _outcomes(
    fused: np.ndarray, expected: Sequence[str | None], ids: Sequence[str], thresholds: Thresholds
) -> list[Outcome]:
    outcomes = []
    for row, label in zip(fused, expected, strict=True):
        decision, order = decide(row, thresholds)
        outcomes.append(Outcome(label, decision, tuple(ids[i] for i in order)))
    return outcomes


def _best_thresholds(
    fused: np.ndarray, expected: Sequence[str | None], ids: Sequence[str]
) -> Thresholds:
    ordered = np.sort(fused, axis=1)
    best_score, runner_up = ordered[:, -1], ordered[:, -2]
    margins = best_score - runner_up
    top_is_right = np.array(
        [
            e is not None and ids[int(i)] == e
            for i, e in zip(fused.argmax(axis=1), expected, strict=True)
        ]
    )
    out_of_scope = np.array([e is None for e in expected])
    total, oos_total = len(expected), max(int(out_of_scope.sum()), 1)

    chosen = (SCORE_GRID[-1], MARGIN_GRID[-1])
    most_correct = -1
    for margin in MARGIN_GRID:
        for threshold in SCORE_GRID:
            answered = (best_score >= threshold) & (margins >= margin)
            wrong = int((answered & ~top_is_right).sum())
            oos_answered = int((answered & out_of_scope).sum())
            if (
                wrong / total > MAX_WRONG_ANSWER_RATE
                or 1 - oos_answered / oos_total < MIN_OOS_REJECTION
            ):
                continue
            correct = int((answered & top_is_right).sum())
            # Prefer more correct answers; between equals, the stricter setting.
            if correct > most_correct or (correct == most_correct and (threshold, margin) > chosen):
                most_correct, chosen = correct, (threshold, margin)
    answer_threshold, margin = chosen

    # Among queries that will not be answered: clarifying helps when the right FAQ is in
    # the top three, and is noise for an out-of-scope question.
    in_top3 = np.array(
        [
            e is not None and ids.index(e) in np.argsort(-row)[:3]
            for row, e in zip(fused, expected, strict=True)
        ]
    )
    not_answered = ~((best_score >= answer_threshold) & (margins >= margin))
    best_clarify, best_gain = answer_threshold, 0
    for threshold in SCORE_GRID:
        if threshold > answer_threshold:
            break
        clarified = not_answered & (best_score >= threshold)
        gain = int((clarified & in_top3).sum()) - int((clarified & out_of_scope).sum())
        if gain > best_gain:
            best_clarify, best_gain = threshold, gain
    return Thresholds(
        answer=float(answer_threshold), margin=float(margin), clarify=float(best_clarify)
    )
