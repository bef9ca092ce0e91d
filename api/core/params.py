"""Bounded path and query parameters, so that no input reaches the database out of range.

A 20-digit id overflows SQLite's 64-bit integers, and anything past 2**31 - 1 the
INTEGER id columns of PostgreSQL: both were a 500. Bounded here, they are a 422 before
any work is done. Session ids are checked for shape (PostgreSQL refuses NUL in text).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

# The row ids are INTEGER columns: 32-bit signed on PostgreSQL.
MAX_ROW_ID = 2**31 - 1
# Far beyond any list the console pages through, and well inside SQL's OFFSET.
MAX_OFFSET = 1_000_000
# Web session ids are 32 hex characters (uuid4().hex); allow any such token shape.
MAX_SESSION_ID = 64
SESSION_ID_PATTERN = r"^[0-9A-Za-z_-]+$"

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="编号")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="跳过多少条")]
SessionId = Annotated[
    str,
    Path(
        min_length=1, max_length=MAX_SESSION_ID, pattern=SESSION_ID_PATTERN, description="会话编号"
    ),
]


def _no_nul(value: str | None) -> str | None:
    # PostgreSQL refuses NUL in text: stored or compared, it would be a 500.
    if value is not None and "\x00" in value:
        raise ValueError("不能包含空字符（\\x00）")
    return value


# Free text from a request that reaches the database: `Annotated[str | None, ..., NoNul]`.
NoNul = AfterValidator(_no_nul)
