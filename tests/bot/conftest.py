"""Fixtures for the Rasa project: a trained model, and Rasa commands run from bot/."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from api.core.config import get_settings
from api.rasa import BOT_DIR, MODEL_PATH, RASA_BIN, rasa_environment, train

RunRasa = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def trained_model() -> str:
    """bot/models/kefu.tar.gz, trained now if the training data or config changed."""
    train(get_settings())
    return str(MODEL_PATH)


@pytest.fixture(scope="session")
def run_rasa() -> RunRasa:
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RASA_BIN), *arguments],
            cwd=BOT_DIR,
            env=rasa_environment(get_settings()),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    return run
