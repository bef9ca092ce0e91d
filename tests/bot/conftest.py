"""Rasa commands run from bot/ with the project's environment."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from support.settings import get_settings
from ops.rasa import BOT_DIR, RASA_BIN, rasa_environment

RunRasa = Callable[..., subprocess.CompletedProcess[str]]


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
