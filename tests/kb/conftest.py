from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write_faq(tmp_path: Path) -> Callable[[str], Path]:
    """Write a FAQ YAML file from text and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "faq.yml"
        path.write_text(text, "utf-8")
        return path

    return write
