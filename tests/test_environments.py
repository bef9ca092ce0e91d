"""The two environments are what the README promises, and setup explains what is missing."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

from tests.conftest import PROJECT_ROOT

QUIET_RASA = {
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore",
}


def test_app_environment_has_cpu_torch_and_no_cuda_packages() -> None:
    import torch

    assert torch.__version__.startswith("2.13.0")
    assert not torch.cuda.is_available()
    names = {dist.metadata["Name"].lower() for dist in metadata.distributions()}
    assert not {name for name in names if name.startswith("nvidia-")}
    assert {"rasa-sdk", "sentence-transformers", "faiss-cpu", "fastapi", "wechatpy"} <= names


def test_kefu_console_script_exists() -> None:
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "kefu"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "kb" in result.stdout


def test_rasa_environment_runs_rasa_3_6_21() -> None:
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"), "--version"],
        capture_output=True,
        text=True,
        env=os.environ | QUIET_RASA,
        check=True,
    )
    assert "Rasa Version      :         3.6.21" in result.stdout
    assert "Python Version    :         3.10" in result.stdout
    # The Makefile's environment keeps Rasa's banners and warnings out of the way.
    assert "telemetry" not in (result.stdout + result.stderr).lower()
    assert "MovedIn20Warning" not in result.stderr


def test_setup_is_a_no_op_when_environments_are_current() -> None:
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "setup.sh"), "app"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".venv 已是最新" in result.stdout


def test_setup_names_the_missing_python(tmp_path: Path) -> None:
    # No pyenv, no python3.10 on PATH: only the system tools.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "none")}
    if Path("/usr/bin/python3.10").exists():  # pragma: no cover - not on this image
        return
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "setup.sh"), "rasa"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "找不到 Python 3.10" in result.stderr
    assert "pyenv install 3.10" in result.stderr
