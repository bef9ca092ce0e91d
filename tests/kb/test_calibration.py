"""Calibration: the most direct correct answers within the wrong-answer and out-of-scope
budgets, robust defaults for a dev split too small to calibrate on, and the curve."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from kb.content import FAQ, Category
from kb.evaluation import (
    MIN_CALIBRATION_OUT_OF_SCOPE,
    OOS_ANSWERED_BUDGET,
    WRONG_ANSWER_BUDGET,
    Calibration,
    EvalFileError,
    LabelledQuery,
    Outcome,
    calibrate,
    read_eval_file,
    summarize,
    unseen,
    within_budget,
)
from kb.index import Fusion, Thresholds, default_settings
from kb.knowledge_base import ComponentScores, Decision, choose

IDS = ("alpha", "beta", "gamma", "delta")


@dataclass
class _Manifest:
    encoder: str = "use"


@dataclass
class ScriptedKB:
    """Stands in for a KnowledgeBase: fixed per-query component scores."""

    scores: dict[str, ComponentScores]
    duplicate_pairs: frozenset[frozenset[int]] = frozenset()
    manifest: _Manifest = field(default_factory=_Manifest)

    @property
    def faqs(self) -> list[FAQ]:
        return [
            FAQ.model_construct(id=i, category=Category.OTHER, question=i, paraphrases=(), answer=i)
            for i in IDS
        ]

    def component_scores(self, text: str) -> ComponentScores:
        return self.scores[text]

    def head_training_rows(self) -> None:
        return None  # the scripted head probabilities stand as they are


def _scores(best: int | None, top: float, runner_up: float) -> ComponentScores:
    dense = np.full(len(IDS), 0.05, dtype=np.float32)
    position = best if best is not None else 0
    dense[position] = top
    dense[(position + 1) % len(IDS)] = runner_up
    return ComponentScores(dense, dense.copy(), None)


def _dev_split(rng: np.random.Generator, in_scope: int, oos: int) -> tuple[ScriptedKB, list]:
    """In-scope queries score high on their entry (a few are ranked wrong), out-of-scope
    ones lower, with overlap, so that no threshold is perfect."""
    scores: dict[str, ComponentScores] = {}
    queries = []
    for n in range(in_scope):
        right = n % len(IDS)
        top = float(rng.uniform(0.45, 0.95))
        wrong_rank = n % 9 == 0  # about 11 % of in-scope queries rank the wrong entry first
        best = (right + 2) % len(IDS) if wrong_rank else right
        scores[f"q{n}"] = _scores(best, top, top - float(rng.uniform(0.0, 0.3)))
        queries.append(LabelledQuery(f"q{n}", IDS[right]))
    for n in range(oos):
        top = float(rng.uniform(0.2, 0.7))
        scores[f"o{n}"] = _scores(n % len(IDS), top, top - float(rng.uniform(0.0, 0.2)))
        queries.append(LabelledQuery(f"o{n}", None))
    return ScriptedKB(scores), queries


def test_chosen_point_keeps_both_budgets_and_answers_the_most() -> None:
    kb, queries = _dev_split(np.random.default_rng(3), in_scope=120, oos=60)
    result = calibrate(kb, queries, "scripted")  # type: ignore[arg-type]
    assert result.mode == "calibrated"
    report = result.report
    oos = report.out_of_scope
    wrong = round(report.wrong_answer_rate * report.n)
    oos_answered = round((1 - report.oos_rejection) * oos)
    # The budgets hold with room to spare: their upper confidence bounds keep them.
    assert within_budget(np.array([wrong]), report.n, WRONG_ANSWER_BUDGET)[0]
    assert within_budget(np.array([oos_answered]), oos, OOS_ANSWERED_BUDGET)[0]
    assert report.direct_answer_rate >= 0.2  # not the most cautious point

    # No point of the curve at this margin that keeps the budgets answers more correctly.
    total = report.n
    for point in result.curve:
        within = (
            within_budget(np.array([round(point.wrong * total)]), total, WRONG_ANSWER_BUDGET)[0]
            and within_budget(
                np.array([round(point.oos_answered * oos)]), oos, OOS_ANSWERED_BUDGET
            )[0]
        )
        if within:
            assert point.answered_correctly <= report.direct_answer_rate + 1 / total
    chosen = [p for p in result.curve if abs(p.answer - result.thresholds.answer) < 1e-9]
    assert chosen, "the chosen point is on the reported curve"
    assert result.thresholds.clarify <= result.thresholds.answer
    assert result.as_dict()["mode"] == "calibrated"


def test_budgets_leave_more_room_on_a_small_dev_split() -> None:
    # The same observed rate (2 %) is safe to trust from 500 queries, not from 50.
    assert within_budget(np.array([10]), 500, OOS_ANSWERED_BUDGET)[0]
    assert not within_budget(np.array([1]), 50, 0.03)[0]
    # A clean small split is still usable: 0 of 18 out-of-scope answered keeps 5 %.
    assert within_budget(np.array([0]), 18, OOS_ANSWERED_BUDGET)[0]
    # And an observed rate over the budget never passes.
    assert not within_budget(np.array([6]), 100, OOS_ANSWERED_BUDGET)[0]
    # Nothing observed (a split without out-of-scope questions) cannot exceed anything.
    assert within_budget(np.array([0]), 0, OOS_ANSWERED_BUDGET)[0]


def test_budgets_are_checked_at_one_sigma_and_a_clean_record_passes() -> None:
    # 2 of 60 out-of-scope questions answered (3.3 %): within 5 % at z = 0.5, not at z = 1.
    assert within_budget(np.array([2]), 60, OOS_ANSWERED_BUDGET, z=0.5)[0]
    assert not within_budget(np.array([2]), 60, OOS_ANSWERED_BUDGET)[0]
    # None of 10: its bound (9.1 %) is over the budget, yet no split can show better.
    assert within_budget(np.array([0]), 10, OOS_ANSWERED_BUDGET)[0]


def test_curve_is_monotone_in_the_threshold() -> None:
    kb, queries = _dev_split(np.random.default_rng(5), in_scope=80, oos=40)
    curve = calibrate(kb, queries, "scripted").curve  # type: ignore[arg-type]
    assert len(curve) >= 5
    answered = [p.answered_correctly for p in curve]
    assert answered == sorted(answered, reverse=True)


def test_small_dev_split_uses_the_defaults_and_says_so() -> None:
    kb, queries = _dev_split(np.random.default_rng(7), in_scope=12, oos=4)
    result = calibrate(kb, queries, "tiny")  # type: ignore[arg-type]
    fusion, thresholds = default_settings("use")
    assert result.mode == "defaults"
    assert (result.fusion, result.thresholds) == (fusion, thresholds)
    assert "开发集只有 12 条范围内、4 条超出范围" in result.reason
    assert result.as_dict()["reason"] == result.reason


def test_a_split_with_too_few_out_of_scope_questions_to_certify_uses_the_defaults() -> None:
    # Even with no out-of-scope question answered, 18 cannot show that new ones stay
    # under 5 %: about 1 in 19 would still outscore all of them.
    assert MIN_CALIBRATION_OUT_OF_SCOPE == 19
    kb, queries = _dev_split(np.random.default_rng(7), in_scope=80, oos=18)
    result = calibrate(kb, queries, "small")  # type: ignore[arg-type]
    assert result.mode == "defaults"
    assert "18 条超出范围" in result.reason and "19 条" in result.reason
    kb, queries = _dev_split(np.random.default_rng(7), in_scope=80, oos=19)
    assert calibrate(kb, queries, "enough").mode == "calibrated"  # type: ignore[arg-type]


def test_teach_only_questions_take_no_part_in_choosing_the_thresholds() -> None:
    """Hard negatives collected on purpose teach the head; counted, they would skew the
    rates the budgets are about (here: out-of-scope questions that score like answers)."""
    kb, queries = _dev_split(np.random.default_rng(3), in_scope=120, oos=60)
    plain = calibrate(kb, queries, "plain")  # type: ignore[arg-type]
    for n in range(40):
        kb.scores[f"hard{n}"] = _scores(n % len(IDS), 0.9, 0.5)
    hard = [LabelledQuery(f"hard{n}", None, teach_only=True) for n in range(40)]
    taught = calibrate(kb, [*queries, *hard], "taught")  # type: ignore[arg-type]
    assert (taught.fusion, taught.thresholds) == (plain.fusion, plain.thresholds)
    assert taught.report == plain.report and taught.report.n == len(queries)
    # Counted as ordinary questions they would have pushed the answer threshold up.
    counted = [replace(item, teach_only=False) for item in hard]
    scored = calibrate(kb, [*queries, *counted], "counted")  # type: ignore[arg-type]
    assert scored.thresholds.answer > plain.thresholds.answer


def test_a_split_of_teach_only_questions_alone_uses_the_defaults() -> None:
    kb, queries = _dev_split(np.random.default_rng(7), in_scope=30, oos=30)
    only = [replace(item, teach_only=True) for item in queries]
    result = calibrate(kb, only, "only")  # type: ignore[arg-type]
    assert result.mode == "defaults" and result.report.n == 0
    assert "开发集只有 0 条范围内、0 条超出范围" in result.reason


def test_the_dev_file_marks_teach_only_questions(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(
        '{"query": "余额有利息吗", "expected": null, "teach_only": true}\n'
        '{"query": "怎么提现", "expected": "withdraw_how"}\n',
        "utf-8",
    )
    assert read_eval_file(path) == [
        LabelledQuery("余额有利息吗", None, teach_only=True),
        LabelledQuery("怎么提现", "withdraw_how"),
    ]
    path.write_text('{"query": "余额有利息吗", "expected": null, "teach_only": "yes"}\n', "utf-8")
    with pytest.raises(EvalFileError, match=r"dev\.jsonl:1: teach_only 只能是 true 或 false"):
        read_eval_file(path)


def _with_head(
    scores: ComponentScores, top: int, top_probability: float, outside: float
) -> ComponentScores:
    head = np.full(len(IDS), (1 - top_probability - outside) / (len(IDS) - 1), dtype=np.float32)
    head[top] = top_probability
    return replace(scores, classifier=head, outside=outside)


def test_the_head_doubting_the_top_entry_keeps_it_from_being_answered() -> None:
    dense = np.array([0.9, 0.5, 0.1, 0.05], dtype=np.float32)
    rule = Thresholds(answer=0.6, margin=0.05, clarify=0.4)
    sure = _with_head(ComponentScores(dense, dense.copy()), 0, 0.7, 0.1)
    doubtful = _with_head(ComponentScores(dense, dense.copy()), 0, 0.2, 0.6)
    assert not sure.doubts(0) and doubtful.doubts(0)

    def rule_of(scores: ComponentScores) -> tuple[Decision, list[int]]:
        return choose(dense, rule, doubted=scores.doubts, ruled_out=scores.rules_out)

    assert rule_of(sure) == (Decision.ANSWER, [0, 1, 2])
    # The head takes it for a question the FAQ does not cover: neither answered nor
    # offered, and with no other plausible choice, the honest fallback.
    assert rule_of(doubtful) == (Decision.FALLBACK, [0, 1, 2])
    # The head is sure of another entry: the best is not answered, but both stay on
    # offer (the question may be about either).
    torn = replace(
        doubtful, classifier=np.array([0.1, 0.5, 0.0, 0.0], dtype=np.float32), outside=0.4
    )
    assert torn.doubts(0) and not torn.rules_out(0)
    assert rule_of(torn) == (Decision.CLARIFY, [0, 1])
    # Nor when the query is word for word a wording the maintainer wrote for that entry.
    assert not replace(doubtful, written=frozenset({0})).doubts(0)
    assert replace(doubtful, written=frozenset({1})).doubts(0)
    # A head without an out-of-scope class (or no head at all) never doubts.
    assert not ComponentScores(dense, dense.copy(), dense.copy()).doubts(3)
    assert not ComponentScores(dense, dense.copy()).doubts(0)


def test_calibration_answers_more_when_the_head_doubts_the_look_alikes() -> None:
    """Out-of-scope questions that score like in-scope ones hold the threshold up; when
    the head recognises them, calibration no longer has to, and answers more."""
    kb, queries = _dev_split(np.random.default_rng(11), in_scope=120, oos=40)
    rng = np.random.default_rng(12)
    for query in queries:
        scores = kb.scores[query.query]
        top = int(np.argmax(scores.dense))
        if query.expected is None and rng.random() < 0.5:  # look-alikes: high scores
            lifted = scores.dense.copy()
            lifted[top] = float(rng.uniform(0.75, 0.95))
            scores = replace(scores, dense=lifted, lexical=lifted.copy())
        kb.scores[query.query] = scores
    blind = ScriptedKB(
        {q: _with_head(s, int(np.argmax(s.dense)), 0.6, 0.0) for q, s in kb.scores.items()}
    )
    seeing = ScriptedKB(
        {
            q.query: _with_head(
                kb.scores[q.query],
                int(np.argmax(kb.scores[q.query].dense)),
                0.6 if q.expected is not None else 0.15,
                0.1 if q.expected is not None else 0.7,
            )
            for q in queries
        }
    )
    without = calibrate(blind, queries, "blind", teach_head=False)  # type: ignore[arg-type]
    with_doubt = calibrate(seeing, queries, "seeing", teach_head=False)  # type: ignore[arg-type]
    assert with_doubt.report.direct_answer_rate > without.report.direct_answer_rate + 0.1
    assert with_doubt.report.oos_rejection >= 1 - OOS_ANSWERED_BUDGET
    outcomes = []
    for query in queries:  # what calibration counted is what the KB does
        scores = seeing.component_scores(query.query)
        fused = scores.fused(with_doubt.fusion)
        decision, shown = choose(
            fused, with_doubt.thresholds, doubted=scores.doubts, ruled_out=scores.rules_out
        )
        outcomes.append(Outcome(query.expected, decision, tuple(IDS[p] for p in shown)))
        if query.expected is None:
            assert decision is not Decision.ANSWER
            # The look-alikes the head rules out are not offered as choices either.
            assert not (decision is Decision.CLARIFY and scores.rules_out(shown[0]))
    assert summarize(outcomes) == with_doubt.report


def test_near_duplicate_top_two_are_never_answered_in_calibration() -> None:
    kb, queries = _dev_split(np.random.default_rng(9), in_scope=80, oos=40)
    kb.duplicate_pairs = frozenset({frozenset((0, 1))})
    result = calibrate(kb, queries, "scripted")  # type: ignore[arg-type]
    paired = 0
    for query in queries:
        fused = kb.component_scores(query.query).fused(result.fusion)
        decision, options = choose(fused, result.thresholds, kb.duplicate_pairs)
        if set(np.argsort(-fused)[:2].tolist()) == {0, 1}:
            paired += 1
            assert decision is not Decision.ANSWER
            if decision is Decision.CLARIFY:
                assert sorted(options) == [0, 1]
    assert paired >= 10


@pytest.mark.parametrize(
    ("scores", "decision", "options"),
    [
        ([0.9, 0.5, 0.1, 0.05], Decision.ANSWER, [0, 1, 2]),
        ([0.55, 0.5, 0.1, 0.05], Decision.CLARIFY, [0, 1]),  # 0.1 is not plausible
        ([0.3, 0.2, 0.1, 0.05], Decision.FALLBACK, [0, 1, 2]),
    ],
)
def test_clarify_offers_only_plausible_candidates(
    scores: list[float], decision: Decision, options: list[int]
) -> None:
    rule = Thresholds(answer=0.6, margin=0.05, clarify=0.4)
    got, shown = choose(np.array(scores, dtype=np.float32), rule)
    assert (got, shown) == (decision, options)


def test_fused_scores_stay_in_unit_range_with_the_head() -> None:
    dense = np.array([0.9, 0.2], dtype=np.float32)
    lexical = np.array([1.0, 0.0], dtype=np.float32)
    head = np.array([0.99, 0.01], dtype=np.float32)
    fused = ComponentScores(dense, lexical, head).fused(Fusion(0.5, 0.5))
    assert np.all((fused >= 0) & (fused <= 1))
    assert fused[0] == pytest.approx(0.5 * (0.5 * 0.9 + 0.5 * 1.0) + 0.5 * 0.99)


def test_unseen_leaves_out_test_questions_the_dev_split_already_has() -> None:
    dev = [LabelledQuery("怎么注销账号", "close_account"), LabelledQuery("你好", None)]
    test = [
        LabelledQuery("怎么註銷賬號", "close_account"),  # the same once canonicalised
        LabelledQuery("注销以后余额怎么办", "close_account"),
        LabelledQuery("你好", None),
        LabelledQuery("明天下雨吗", None),
    ]
    assert [q.query for q in unseen(test, dev)] == ["注销以后余额怎么办", "明天下雨吗"]


def test_tied_scores_go_to_the_lower_position_as_calibration_ranks_them() -> None:
    # decide() picks its top few by partition; ties must still come out in position
    # order, or the head's doubt would be asked of another entry than calibration's.
    rule = Thresholds(answer=0.5, margin=0.0, clarify=0.4)
    for size in (4, 12, 40):
        scores = np.full(size, 0.1, dtype=np.float32)
        scores[[size - 3, size - 2]] = 0.9
        decision, shown = choose(scores, rule)
        assert decision is Decision.ANSWER and shown[0] == size - 3
        assert shown[0] == int(np.argsort(-scores, kind="stable")[0])


def test_the_head_backing_its_own_first_choice_answers_it() -> None:
    # A long message dilutes both similarity legs: its best score stays under the
    # answer threshold even where the head, taught real users' questions, is sure.
    dense = np.array([0.3, 0.2, 0.1, 0.05], dtype=np.float32)
    rule = Thresholds(answer=0.6, margin=0.05, clarify=0.25, backed=0.7)
    sure = _with_head(ComponentScores(dense, dense.copy()), 0, 0.8, 0.05)
    unsure = _with_head(ComponentScores(dense, dense.copy()), 0, 0.6, 0.05)
    elsewhere = _with_head(ComponentScores(dense, dense.copy()), 1, 0.8, 0.05)
    nothing = _with_head(ComponentScores(dense, dense.copy()), 0, 0.4, 0.5)
    assert sure.head_choice() == (0, pytest.approx(0.8))
    assert elsewhere.head_choice() == (1, pytest.approx(0.8))
    assert nothing.head_choice() is None  # "none of these" is the head's likeliest class
    assert ComponentScores(dense, dense.copy()).head_choice() is None  # no head

    def rule_of(
        scores: ComponentScores, thresholds: Thresholds = rule, options: int = 3
    ) -> tuple[Decision, list[int]]:
        return choose(
            dense,
            thresholds,
            options=options,
            doubted=scores.doubts,
            ruled_out=scores.rules_out,
            head_choice=scores.head_choice(),
        )

    assert rule_of(sure) == (Decision.ANSWER, [0, 1, 2])
    assert rule_of(unsure)[0] is Decision.CLARIFY  # under the backing probability
    assert rule_of(nothing)[0] is not Decision.ANSWER
    assert rule_of(sure, replace(rule, backed=None))[0] is Decision.CLARIFY  # not calibrated
    # Where a sure head names another entry, that entry goes first and is answered,
    # the rest of the ranking following in order, however many options are asked for.
    assert rule_of(elsewhere) == (Decision.ANSWER, [1, 0, 2])
    assert rule_of(elsewhere, options=4) == (Decision.ANSWER, [1, 0, 2, 3])
    # A near-duplicate pair on top is still clarified between exactly those two.
    paired = choose(
        dense, rule, frozenset({frozenset({0, 1})}), head_choice=elsewhere.head_choice()
    )
    assert paired == (Decision.CLARIFY, [1, 0])


def _sure_head_split(seed: int) -> tuple[ScriptedKB, list[LabelledQuery]]:
    """Some in-scope questions score low on similarity, or rank the wrong entry first,
    but the (cross-fitted) head is sure of the right one; it is never sure of the
    out-of-scope ones."""
    kb, queries = _dev_split(np.random.default_rng(seed), in_scope=160, oos=40)
    rng = np.random.default_rng(seed + 1)
    for query in queries:
        scores = kb.scores[query.query]
        top = int(np.argmax(scores.dense))
        right = query.expected is not None and IDS[top] == query.expected
        if query.expected is not None and not right:  # ranked wrong, the head knows better
            kb.scores[query.query] = _with_head(scores, IDS.index(query.expected), 0.85, 0.02)
        elif right and rng.random() < 0.3:  # long messages: low similarity, a sure head
            lowered = scores.dense * np.float32(rng.uniform(0.25, 0.4) / scores.dense[top])
            scores = replace(scores, dense=lowered, lexical=lowered.copy())
            kb.scores[query.query] = _with_head(scores, top, float(rng.uniform(0.8, 0.95)), 0.02)
        else:
            kb.scores[query.query] = _with_head(scores, top, float(rng.uniform(0.3, 0.5)), 0.1)
    return kb, queries


def _counted_as_done(kb: ScriptedKB, queries: list[LabelledQuery], result: Calibration) -> None:
    """What the threshold search counted (the curve at the chosen point) and what the KB
    then does with every query (choose) agree."""
    outcomes = []
    for query in queries:
        scores = kb.component_scores(query.query)
        decision, shown = choose(
            scores.fused(result.fusion),
            result.thresholds,
            kb.duplicate_pairs,
            doubted=scores.doubts,
            ruled_out=scores.rules_out,
            head_choice=scores.head_choice(),
        )
        outcomes.append(Outcome(query.expected, decision, tuple(IDS[p] for p in shown)))
    done = summarize(outcomes)
    assert done == result.report
    (counted,) = [p for p in result.curve if p.answer == pytest.approx(result.thresholds.answer)]
    assert counted.answered_correctly == pytest.approx(done.direct_answer_rate, abs=1e-4)
    assert counted.wrong == pytest.approx(done.wrong_answer_rate, abs=1e-4)
    assert counted.oos_answered == pytest.approx(1 - done.oos_rejection, abs=1e-4)


def test_calibration_lets_a_sure_head_answer_what_the_scores_leave_unanswered() -> None:
    """Calibration sets a backing probability, answers more, puts the head's choice first
    where the scores ranked another entry, keeps both budgets, and counts what the KB
    does."""
    kb, queries = _sure_head_split(21)
    # As with every paraphrase on the real FAQ, the head takes no part in the fused score.
    fusion = Fusion(0.5, 0.0)
    backed = calibrate(kb, queries, "dev", fixed_fusion=fusion, teach_head=False)  # type: ignore[arg-type]
    assert backed.thresholds.backed is not None
    plain_kb = ScriptedKB({q: replace(s, classifier=None) for q, s in kb.scores.items()})
    plain = calibrate(plain_kb, queries, "dev", fixed_fusion=fusion, teach_head=False)  # type: ignore[arg-type]
    assert plain.thresholds.backed is None
    assert backed.report.direct_answer_rate > plain.report.direct_answer_rate + 0.1
    assert backed.report.top1 > plain.report.top1  # the sure head's choice goes first
    assert backed.report.wrong_answer_rate <= WRONG_ANSWER_BUDGET
    assert backed.report.oos_rejection >= 1 - OOS_ANSWERED_BUDGET
    _counted_as_done(kb, queries, backed)


def test_a_sure_choice_with_a_near_duplicate_after_it_is_counted_as_clarified() -> None:
    # alpha and beta compete: when the head's sure choice is one of them and the other
    # comes right after it, the KB asks between the two; calibration must count that.
    kb, queries = _sure_head_split(41)
    kb.duplicate_pairs = frozenset({frozenset({0, 1})})
    fusion = Fusion(0.5, 0.0)
    result = calibrate(kb, queries, "dev", fixed_fusion=fusion, teach_head=False)  # type: ignore[arg-type]
    assert result.thresholds.backed is not None
    clarified = 0
    for query in queries:
        scores = kb.component_scores(query.query)
        choice = scores.head_choice()
        if choice is None or choice[1] < result.thresholds.backed:
            continue
        decision, shown = choose(
            scores.fused(fusion),
            result.thresholds,
            kb.duplicate_pairs,
            head_choice=choice,
        )
        if set(shown) == {0, 1}:
            assert decision is Decision.CLARIFY
            clarified += 1
    assert clarified > 0  # the split does exercise the pair
    _counted_as_done(kb, queries, result)


def test_no_backing_when_it_would_answer_out_of_scope_questions() -> None:
    # The head is as sure of the out-of-scope questions as of the in-scope ones: backing
    # would break the out-of-scope budget, so calibration does not set it.
    kb, queries = _dev_split(np.random.default_rng(31), in_scope=120, oos=40)
    for query in queries:
        scores = kb.scores[query.query]
        lowered = scores.dense * np.float32(0.5)
        scores = replace(scores, dense=lowered, lexical=lowered.copy())
        kb.scores[query.query] = _with_head(scores, int(np.argmax(lowered)), 0.9, 0.0)
    calibration = calibrate(kb, queries, "dev", fixed_fusion=Fusion(0.5, 0.0), teach_head=False)  # type: ignore[arg-type]
    assert calibration.thresholds.backed is None
    assert calibration.report.oos_rejection >= 1 - OOS_ANSWERED_BUDGET
