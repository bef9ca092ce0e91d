"""What the outbox hands to its delivery loop, and what a delivery attempt reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboxItem:
    id: int
    openid: str
    # The parts still to send, in order.
    remaining: tuple[str, ...]
    message_ids: tuple[int, ...]
    # This attempt's number (1 for the first); it also fences the claim: a sender whose
    # lease ran out and whose row someone else claimed since reports with an older one.
    attempts: int
    # How many parts had gone out when it was claimed (``remaining`` starts there).
    first_part: int = 0


@dataclass(frozen=True)
class SendResult:
    """How sending the remaining parts went: ``sent`` of them went out."""

    sent: int
    # None when every part went out; otherwise why the next one did not.
    errcode: int | None = None
    error: str | None = None
    # False for refusals that will not change by trying again (48-hour window, quota).
    retryable: bool = True
