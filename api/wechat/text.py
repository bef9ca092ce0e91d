"""WeChat shows plain text: buttons become numbered lines, long texts become several parts."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from support.replies.vocabulary import Button

# WeChat cuts a text message at 2048 bytes of UTF-8.
MAX_TEXT_BYTES = 2048
# The longest message a user may send, in characters: the web chat's cap
# (api.web.schemas.MAX_TEXT; the channels may not import each other, a test keeps them equal).
MAX_USER_TEXT = 1000
# A reply of "1" to "9" picks an option, so at most nine are numbered.
MAX_CHOICES = 9
CHOICE_HEADER = "回复数字选择："
SENTENCE_ENDS = frozenset("。！？!?\n")
CLAUSE_ENDS = frozenset("，,；;、")


def with_choices(text: str, buttons: Sequence[Button]) -> str:
    """``text`` followed by the buttons as numbered lines the user can answer with a digit."""
    shown = buttons[:MAX_CHOICES]
    if not shown:
        return text
    lines = "\n".join(f"{number}. {button.title}" for number, button in enumerate(shown, 1))
    choices = f"{CHOICE_HEADER}\n{lines}"
    return f"{text}\n\n{choices}" if text else choices


def parse_choice(text: str) -> int | None:
    """1-9 when the message is just that digit (full-width １ too), else None."""
    normalized = unicodedata.normalize("NFKC", text).strip()
    if len(normalized) == 1 and normalized in "123456789":
        return int(normalized)
    return None


def _last_boundary(text: str, boundaries: frozenset[str]) -> int:
    """The index just after the last boundary character in ``text``; 0 when none."""
    for index in range(len(text) - 1, -1, -1):
        if text[index] in boundaries:
            return index + 1
    return 0


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Parts of at most ``limit`` UTF-8 bytes, cut after a sentence if possible.

    Falls back to a clause (comma) boundary, then to the last whole character that fits,
    so a multi-byte character is never cut in half.
    """
    parts: list[str] = []
    rest = text.strip()
    while len(rest.encode()) > limit:
        # The longest prefix that fits; a partial character at the end is dropped.
        fitting = rest.encode()[:limit].decode("utf-8", errors="ignore")
        cut = (
            _last_boundary(fitting, SENTENCE_ENDS)
            or _last_boundary(fitting, CLAUSE_ENDS)
            or len(fitting)
        )
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts
