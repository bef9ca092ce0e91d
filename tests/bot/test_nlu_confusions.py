"""Short questions are not pleasantries: held-out confusions between questions and
affirm / deny / thank / goodbye (tests/bot/data/nlu_short_questions.yml), on the live model."""

from __future__ import annotations

import asyncio

from ops.conversation_eval import SHORT_QUESTIONS, labelled_examples, nlu_confusions
from ops.stack import RunningStack
from tests.bot.test_rasa_project import TRAINING_NLU, examples

# Measured 15.7% (8 / 51) before the short-question training data; see README.
MAX_QUESTIONS_AS_FILLER = 0.06
MAX_FILLERS_AS_QUESTION = 0.10


def test_the_held_out_set_is_never_trained_on() -> None:
    training = {text for texts in examples(TRAINING_NLU).values() for text in texts}
    held_out = {text for text, _ in labelled_examples(SHORT_QUESTIONS)}
    assert len(held_out) >= 80
    assert not training & held_out


def test_questions_and_pleasantries_are_rarely_confused(live_stack: RunningStack) -> None:
    found = asyncio.run(nlu_confusions(live_stack.settings))
    assert found.question_to_filler_rate <= MAX_QUESTIONS_AS_FILLER, found.questions_as_filler
    assert found.filler_to_question_rate <= MAX_FILLERS_AS_QUESTION, found.fillers_as_question
