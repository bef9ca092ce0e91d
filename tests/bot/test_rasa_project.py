"""The Rasa project: data validation, held-out intent F1, and every dialogue flow."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.bot.conftest import RunRasa
from tests.conftest import PROJECT_ROOT

HELD_OUT_NLU = PROJECT_ROOT / "tests" / "bot" / "data" / "nlu_test.yml"
TEST_STORIES = PROJECT_ROOT / "tests" / "bot" / "data" / "test_stories.yml"
TRAINING_NLU = PROJECT_ROOT / "bot" / "data" / "nlu.yml"
REQUIRED_INTENTS = {
    "greet", "goodbye", "thank", "affirm", "deny", "ask_faq", "open_ticket",
    "request_human", "check_ticket_status", "cancel", "out_of_scope", "bot_challenge",
}  # fmt: skip


def examples(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for block in yaml.safe_load(path.read_text("utf-8"))["nlu"]:
        if "intent" in block:
            lines = block["examples"].splitlines()
            found[block["intent"]] = [line.strip()[2:] for line in lines if line.strip()]
    return found


def test_every_intent_has_enough_natural_examples() -> None:
    training = examples(TRAINING_NLU)
    assert set(training) >= REQUIRED_INTENTS
    for intent in REQUIRED_INTENTS:
        assert len(training[intent]) >= 15, intent


def test_held_out_nlu_never_appears_in_training() -> None:
    training = {text for texts in examples(TRAINING_NLU).values() for text in texts}
    held_out = {text for texts in examples(HELD_OUT_NLU).values() for text in texts}
    assert len(held_out) >= 150
    assert not training & held_out


def test_rasa_data_validate_is_clean(run_rasa: RunRasa) -> None:
    result = run_rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_intent_macro_f1_on_held_out_data(
    run_rasa: RunRasa, trained_model: str, tmp_path: Path
) -> None:
    result = run_rasa(
        "test", "nlu", "--nlu", str(HELD_OUT_NLU), "--model", trained_model, "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    assert report["macro avg"]["f1-score"] >= 0.90, report["macro avg"]
    for intent in REQUIRED_INTENTS:
        assert report[intent]["f1-score"] >= 0.75, (intent, report[intent])


def test_every_dialogue_flow(run_rasa: RunRasa, trained_model: str, tmp_path: Path) -> None:
    result = run_rasa(
        "test", "core",
        "--stories", str(TEST_STORIES),
        "--model", trained_model,
        "--out", str(tmp_path),
        "--fail-on-prediction-errors",
    )  # fmt: skip
    failed = (tmp_path / "failed_test_stories.yml").read_text("utf-8")
    assert result.returncode == 0, failed + result.stderr[-3000:]
    assert "None of the test stories failed" in failed
    report = json.loads((tmp_path / "story_report.json").read_text())
    stories = yaml.safe_load(TEST_STORIES.read_text("utf-8"))["stories"]
    assert report["conversation_accuracy"]["correct"] == len(stories) >= 11


def test_the_action_response_check_is_rasas_own_but_checks_its_schema_once() -> None:
    """bot/kefu_rasa/speedups.py keeps Rasa's validation of action-server responses."""
    script = """
import jsonschema
from rasa.core.actions.action import RemoteAction
import kefu_rasa.components  # installs the speed-up, as loading the model does
from kefu_rasa import speedups

action = RemoteAction("action_answer_faq", None)
assert RemoteAction._validate_action_result is speedups._validate_action_result
good = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
assert action._validate_action_result(good) is True
for bad in ({"events": "not a list"}, {"events": [{"event": "no_such_event"}]},
            {"responses": ["not an object"]}):
    try:
        action._validate_action_result(bad)
    except jsonschema.ValidationError as error:
        assert "Failed to validate Action server response" in error.message
    else:
        raise AssertionError(bad)
print("ok")
"""
    from ops.rasa import BOT_DIR, RASA_BIN, rasa_environment
    from support.settings import get_settings

    result = subprocess.run(
        [str(RASA_BIN.parent / "python"), "-c", script],
        cwd=BOT_DIR,
        env=rasa_environment(get_settings()),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]
