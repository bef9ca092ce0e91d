"""The layer contracts hold on the tree, and a forbidden import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kb", "guard", "support", "actions", "api", "ops")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'bot'}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The project's Python packages and contracts, without data, models or environments."""
    for package in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "resources", "*.txt"),
        )
    shutil.copytree(PROJECT_ROOT / "bot" / "kefu_rasa", tmp_path / "bot" / "kefu_rasa")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract(tree_copy: Path) -> None:
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        ("kb/index.py", "from support.settings import Settings", "kb imports nothing else"),
        ("support/tickets/service.py", "import actions.handoff", "Layers"),
        ("support/conversations/models.py", "from api.core import deps", "Layers"),
        ("api/web/routes.py", "from api.console import deps", "never import each other"),
        ("actions/faq.py", "import api.main", "Layers"),
        ("api/main.py", "from ops import cli", "Layers"),
        ("guard/scanner.py", "import kb", "guard stands alone"),
        ("bot/kefu_rasa/components.py", "import support.settings", "Rasa components"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tree_copy: Path, module: str, forbidden: str, contract: str
) -> None:
    path = tree_copy / module
    path.write_text(path.read_text() + f"\n{forbidden}  # noqa\n")
    result = _lint_imports(tree_copy)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
