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


@pytest.fixture(scope="module")
def bank_report(tmp_path_factory: pytest.TempPathFactory, use_encoder: Encoder) -> EvalReport:
    outcome = build_knowledge_base(
        DATA / "bank_faq.yml",
        tmp_path_factory.mktemp("bank-index"),
        encoder_spec="use",
        calibration_file=DATA / "bank_dev.jsonl",
        encoder=use_encoder,
    )
    assert outcome.manifest.calibration["mode"] == "calibrated"
    assert outcome.manifest.near_duplicates == []  # twelve distinct topics
    kb = KnowledgeBase.load(outcome.directory, encoder=use_encoder)
    queries = read_eval_file(DATA / "bank_test.jsonl", {faq.id for faq in kb.faqs})
    assert sum(q.expected is None for q in queries) >= 15
    return evaluate(kb, queries)


def test_other_faq_ranks_the_right_entry_first(bank_report: EvalReport) -> None:
    assert bank_report.top1 >= 0.88, bank_report


def test_other_faq_answers_most_questions_directly(bank_report: EvalReport) -> None:
    assert bank_report.direct_answer_rate >= 0.70, bank_report


def test_other_faq_stays_safe(bank_report: EvalReport) -> None:
    assert bank_report.wrong_answer_rate <= 0.03, bank_report
    assert bank_report.oos_rejection >= 0.90, bank_report
