"""The same build-and-calibrate recipe on a different FAQ: a bank's, written the way a
maintainer would (8 paraphrases per entry), queried with held-out questions worded
differently from the paraphrases, with same-domain questions it does not cover.

Nothing in kb/ knows this FAQ; if the recipe only worked on our own content, this fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.encoders import Encoder
from kb.evaluation import EvalReport, evaluate, read_eval_file
from kb.knowledge_base import KnowledgeBase
from kb.pipeline import build_knowledge_base

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module", params=["calibrated", "defaults"])
def bank_report(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    default_encoder: Encoder,
    default_encoder_spec: str,
) -> EvalReport:
    """The shipped encoder, calibrated on the bank's dev split, or with no dev split at
    all (the encoder's defaults: what a maintainer who writes no test questions gets)."""
    calibrated = request.param == "calibrated"
    outcome = build_knowledge_base(
        DATA / "bank_faq.yml",
        tmp_path_factory.mktemp("bank-index"),
        encoder_spec=default_encoder_spec,
        calibration_file=DATA / "bank_dev.jsonl" if calibrated else None,
        encoder=default_encoder,
    )
    assert outcome.manifest.calibration["mode"] == request.param
    assert outcome.manifest.near_duplicates == []  # twelve distinct topics
    kb = KnowledgeBase.load(outcome.directory, encoder=default_encoder)
    queries = read_eval_file(DATA / "bank_test.jsonl", {faq.id for faq in kb.faqs})
    assert sum(q.expected is None for q in queries) >= 15
    return evaluate(kb, queries)


# Measured (e5-small int8, per-channel export, VNNI CPU): calibrated on the 80 dev
# questions (32 out of scope), top-1 91.7 %, wrong 0 %, out-of-scope rejected 100 %,
# answered directly 72.9 %; with the defaults 91.7 %, 0 %, 100 %, 81.2 % (on an AVX2-only
# CPU the defaults measured 95.8 %, 0 %, 100 %, 85.4 %). Each test question is 1.6
# points, and a dev split of 80 questions sets the calibrated threshold to within a
# question or two.
def test_other_faq_ranks_the_right_entry_first(bank_report: EvalReport) -> None:
    assert bank_report.top1 >= 0.88, bank_report


# Calibrated, 35 of the 48 in-scope questions on a VNNI CPU (72.9 %), 33 on an AVX2-only
# one (68.8 %) with texts encoded in batches, 32 there (66.7 %) with each text encoded
# alone: the int8 kernels and the encoding move a question or two, and one question moves
# the calibrated threshold. The bound sits two questions below the lowest measurement
# (the starting point was 40.9 % with USE, 55.0 % with e5-small).
def test_other_faq_answers_most_questions_directly(bank_report: EvalReport) -> None:
    assert bank_report.direct_answer_rate >= 0.62, bank_report


def test_other_faq_stays_safe(bank_report: EvalReport) -> None:
    assert bank_report.wrong_answer_rate <= 0.03, bank_report
    assert bank_report.oos_rejection >= 0.90, bank_report


def test_other_faq_offers_few_choices_for_what_it_does_not_cover(
    bank_report: EvalReport,
) -> None:
    # Same-domain questions the FAQ does not cover get an honest fallback, not a list.
    assert bank_report.oos_clarify_rate <= 0.25, bank_report
