"""Derive an encoder's default fusion and thresholds (kb/index.py ``default_settings``).

A KB whose dev split is too small to calibrate on gets fixed defaults. They must hold on
FAQs nobody calibrated on, so they are chosen across several dev splits at once: ours
with every paraphrase, ours with 8 per entry (two seeds), and the bank FAQ in
tests/kb/data. Among the settings that keep the wrong-answer and out-of-scope budgets on
every split, the one that answers the most of the worst split directly wins (ties: the
mean). The clarify threshold is then the median of each split's best.

Holding the budgets on four splits at once is itself the margin against dev-split luck,
so each split is checked at a looser confidence (z = 0.5) than a single-split
calibration (z = 1); at z = 1 on all four the defaults answered 4 points fewer of the
bank FAQ and of k = 8, and the held-out splits kept their budgets at z = 0.5 anyway.

The shipped e5-small-int8 defaults were chosen with the bank dev split's first 66
questions on an earlier export. Rerun with all 80 (14 hard out-of-scope questions added)
it picks dense-only at 0.525, and with the 66 on today's export 0.4 at 0.31; both answer
fewer questions directly on every held-out test split without rejecting more out-of-scope
ones (README, 「校准」), so the shipped settings stayed. Check a rerun's pick there first.

    .venv/bin/python bench/kb_defaults.py e5-small-int8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.kb_sparse import ALL, CachedEncoder, sparse_collection  # noqa: E402
from kb.content import load_faqs  # noqa: E402
from kb.evaluation import (  # noqa: E402
    CLASSIFIER_WEIGHT_GRID,
    DENSE_WEIGHT_GRID,
    MARGIN_GRID,
    OOS_ANSWERED_BUDGET,
    SCORE_GRID,
    WRONG_ANSWER_BUDGET,
    _best_clarify,
    _DevScores,
    read_eval_file,
    within_budget,
)
from kb.index import Fusion, Thresholds, build_index  # noqa: E402
from kb.knowledge_base import ComponentScores, KnowledgeBase  # noqa: E402

Split = tuple[str, KnowledgeBase, list[ComponentScores], list[str | None]]
DEFAULTS_CONFIDENCE_Z = 0.5


def splits(spec: str, scratch: Path) -> list[Split]:
    encoder = CachedEncoder(spec)
    ours = load_faqs(ROOT / "data" / "faq_zh.yml")
    dev = read_eval_file(ROOT / "data" / "eval" / "dev.jsonl")
    bank = load_faqs(ROOT / "tests" / "kb" / "data" / "bank_faq.yml")
    bank_dev = read_eval_file(ROOT / "tests" / "kb" / "data" / "bank_dev.jsonl")
    chosen = [
        ("全部释义", sparse_collection(ours, ALL, 0), dev),
        ("k=8 种子 0", sparse_collection(ours, 8, 0), dev),
        ("k=8 种子 1", sparse_collection(ours, 8, 1), dev),
        ("银行 FAQ", bank, bank_dev),
    ]
    result = []
    for number, (name, collection, queries) in enumerate(chosen):
        directory, _ = build_index(collection, encoder, spec, scratch / str(number))
        kb = KnowledgeBase.load(directory, encoder=encoder)
        components = [kb.component_scores(query.query) for query in queries]
        result.append((name, kb, components, [query.expected for query in queries]))
    encoder.save()
    return result


def _dev_scores(split: Split, fusion: Fusion) -> _DevScores:
    _, kb, components, expected = split
    fused = np.stack([component.fused(fusion) for component in components])
    return _DevScores.of(fused, expected, [faq.id for faq in kb.faqs], kb.duplicate_pairs)


def robust_defaults(all_splits: list[Split]) -> tuple[Fusion, Thresholds, list[float]]:
    grid = np.asarray(SCORE_GRID)
    best: tuple[float, Fusion, float, float, list[float]] | None = None
    for dense_weight in DENSE_WEIGHT_GRID:
        for head_weight in CLASSIFIER_WEIGHT_GRID:
            fusion = Fusion(dense_weight, head_weight)
            devs = [_dev_scores(split, fusion) for split in all_splits]
            for margin in MARGIN_GRID:
                feasible = np.ones(len(grid), dtype=bool)
                direct = []
                for dev in devs:
                    answered = dev.answered(grid, margin)
                    in_scope = max(int((~dev.out_of_scope).sum()), 1)
                    oos = int(dev.out_of_scope.sum())
                    wrong = (answered & ~dev.right[None, :]).sum(axis=1)
                    oos_answered = (answered & dev.out_of_scope[None, :]).sum(axis=1)
                    feasible &= within_budget(
                        wrong, len(dev.best), WRONG_ANSWER_BUDGET, DEFAULTS_CONFIDENCE_Z
                    )
                    feasible &= within_budget(
                        oos_answered, oos, OOS_ANSWERED_BUDGET, DEFAULTS_CONFIDENCE_Z
                    )
                    direct.append((answered & dev.right[None, :]).sum(axis=1) / in_scope)
                rates = np.array(direct)
                score = np.where(feasible, rates.min(axis=0) + 0.1 * rates.mean(axis=0), -1.0)
                index = int(score.argmax())
                if best is None or score[index] > best[0]:
                    best = (
                        float(score[index]),
                        fusion,
                        float(margin),
                        float(grid[index]),
                        [float(rate) for rate in rates[:, index]],
                    )
    assert best is not None
    _, fusion, margin, answer, chosen_rates = best
    thresholds = Thresholds(answer=answer, margin=margin, clarify=answer)
    clarify = float(
        np.median([_best_clarify(_dev_scores(s, fusion), thresholds) for s in all_splits])
    )
    return fusion, Thresholds(answer=answer, margin=margin, clarify=clarify), chosen_rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("encoder")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        all_splits = splits(arguments.encoder, Path(scratch))
        fusion, thresholds, rates = robust_defaults(all_splits)
    print(f"{arguments.encoder}: {fusion}, {thresholds}")
    for (name, *_), rate in zip(all_splits, rates, strict=True):
        print(f"  {name}: 直接答对 {rate:.1%}")


if __name__ == "__main__":
    main()
