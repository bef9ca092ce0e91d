"""Retrieval quality on the held-out test split, with the default configuration
(the shipped encoder, calibrated on the dev split as `kefu kb build` does).

The test split was written after the FAQ content, independently of it and of the dev
split that calibration uses; these are the targets the project promises.
"""

from __future__ import annotations

import random

import pytest

from kb.content import FAQ, FAQCollection
from kb.encoders import Encoder
from kb.evaluation import EvalReport, calibrate, evaluate, read_eval_file, unseen
from kb.index import build_index
from kb.knowledge_base import Decision, KnowledgeBase
from kb.pipeline import BuildOutcome
from tests.conftest import DEV_SPLIT, TEST_SPLIT, UNCOVERED_SPLIT


@pytest.fixture(scope="module")
def knowledge_base(default_build: BuildOutcome, default_encoder: Encoder) -> KnowledgeBase:
    return KnowledgeBase.load(default_build.directory, encoder=default_encoder)


@pytest.fixture(scope="module")
def report(knowledge_base: KnowledgeBase, faqs: FAQCollection) -> EvalReport:
    ids = {faq.id for faq in faqs}
    # The dev questions taught the head: measure only test questions it never saw.
    queries = unseen(read_eval_file(TEST_SPLIT, ids), read_eval_file(DEV_SPLIT, ids))
    assert len(queries) >= 150
    assert sum(q.expected is None for q in queries) >= 35
    return evaluate(knowledge_base, queries)


# Measured (e5-small int8, `make bench-kb`, the 356 test questions dev does not repeat,
# on a CPU with VNNI): top-1 97.5 %, out-of-scope rejected 95.8 %, wrong 1.1 %, answered
# directly 90.8 %. The floors leave room for int8 rounding on other CPUs (on an AVX2-only
# one, before the head could veto: 97.9 %, 95.8 %, 0.8 %, 89.1 %).
def test_in_scope_top1(report: EvalReport) -> None:
    assert report.top1 >= 0.96, report


def test_out_of_scope_rejection(report: EvalReport) -> None:
    assert report.oos_rejection >= 0.92, report


def test_wrong_answer_rate(report: EvalReport) -> None:
    assert report.wrong_answer_rate <= 0.025, report


def test_most_in_scope_questions_are_answered_not_deflected(report: EvalReport) -> None:
    # A KB that clarified everything would pass the three targets above; it must answer.
    assert report.answer_rate >= 0.55, report
    assert report.direct_answer_rate >= 0.85, report


def _assert_uncovered_questions_fall_back(kb: KnowledgeBase) -> None:
    """The same-domain questions the FAQ does not cover (余额的利息, 指纹支付, 发票...),
    written apart from the dev split's teach-only ones: hardly any answered, few offered
    choices; the rest get the honest fallback (a ticket or a person)."""
    ids = {faq.id for faq in kb.faqs}
    queries = unseen(read_eval_file(UNCOVERED_SPLIT, ids), read_eval_file(DEV_SPLIT, ids))
    assert len(queries) >= 60 and all(q.expected is None for q in queries)
    report = evaluate(kb, queries)
    assert report.oos_rejection >= 0.95, report
    assert report.oos_clarify_rate <= 0.2, report


def test_same_domain_questions_the_faq_does_not_cover_fall_back(
    knowledge_base: KnowledgeBase,
) -> None:
    # Measured (`make bench-kb`, all paraphrases): 1.2 % answered, 7.5 % offered choices;
    # 10 % answered and 39 % offered choices before the dev split taught such questions.
    _assert_uncovered_questions_fall_back(knowledge_base)


def test_clarify_options_are_all_plausible(knowledge_base: KnowledgeBase) -> None:
    """Choices offered must each pass the clarify threshold: no filler third option."""
    clarify = knowledge_base.manifest.thresholds.clarify
    queries = read_eval_file(TEST_SPLIT, {faq.id for faq in knowledge_base.faqs})
    offered = 0
    for item in queries:
        result = knowledge_base.query(item.query)
        if result.decision is Decision.CLARIFY:
            offered += 1
            assert all(c.score >= clarify - 1e-6 for c in result.candidates), result
            assert 1 <= len(result.candidates) <= 3
    assert offered > 0


@pytest.fixture(scope="module")
def sparse_kb(
    faqs: FAQCollection,
    default_encoder: Encoder,
    default_encoder_spec: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> KnowledgeBase:
    """Our FAQ trimmed to 8 paraphrases per entry (seeded), as maintainers would write it."""
    ids = {faq.id for faq in faqs}
    trimmed = FAQCollection(
        tuple(
            FAQ.model_construct(
                **{
                    **faq.__dict__,
                    "paraphrases": tuple(
                        random.Random(f"0:{faq.id}").sample(
                            list(faq.paraphrases), min(8, len(faq.paraphrases))
                        )
                    ),
                }
            )
            for faq in faqs
        ),
        f"{faqs.content_hash}-k8",
    )
    directory, _ = build_index(
        trimmed, default_encoder, default_encoder_spec, tmp_path_factory.mktemp("sparse")
    )
    kb = KnowledgeBase.load(directory, encoder=default_encoder)
    dev = read_eval_file(DEV_SPLIT, ids)
    calibration = calibrate(kb, dev, "dev")
    # Every dev question taught the head (the out-of-scope ones as its "none" class).
    assert calibration.head is not None and calibration.head.outside
    assert calibration.head_examples == len(dev)
    # The teach-only ones (same-domain questions the FAQ does not cover) set no threshold.
    assert calibration.report.n == sum(not q.teach_only for q in dev) < len(dev)
    kb.with_settings(calibration.fusion, calibration.thresholds, calibration.head)
    return kb


@pytest.fixture(scope="module")
def sparse_report(sparse_kb: KnowledgeBase) -> EvalReport:
    ids = {faq.id for faq in sparse_kb.faqs}
    dev = read_eval_file(DEV_SPLIT, ids)
    return evaluate(sparse_kb, unseen(read_eval_file(TEST_SPLIT, ids), dev))


def test_sparse_paraphrases_still_generalise(sparse_report: EvalReport) -> None:
    # Measured with 8 paraphrases and the head taught by the dev questions (mean of 3
    # seeds, per-channel int8 export, VNNI CPU): top-1 96.1 %, wrong 0.8 %, out-of-scope
    # rejected 100 %, answered directly 79.6 % (this seed: 77.5 % directly). With the
    # paraphrases alone it was 89.1 % top-1 and 66.5 % directly.
    assert sparse_report.top1 >= 0.93, sparse_report
    assert sparse_report.wrong_answer_rate <= 0.025, sparse_report
    assert sparse_report.oos_rejection >= 0.93, sparse_report
    assert sparse_report.direct_answer_rate >= 0.72, sparse_report
    # Questions the FAQ does not cover get an honest fallback, not a list of choices
    # the head doubts (measured 4.2 %, mean of 3 seeds; 14.4 % when doubted entries
    # were still offered).
    assert sparse_report.oos_clarify_rate <= 0.12, sparse_report


def test_with_sparse_paraphrases_uncovered_questions_still_fall_back(
    sparse_kb: KnowledgeBase,
) -> None:
    # Measured with 8 paraphrases (mean of 3 seeds): 2.5 % answered, 4.2 % offered choices;
    # 6 % answered and 70 % offered choices before the dev split taught such questions.
    _assert_uncovered_questions_fall_back(sparse_kb)
