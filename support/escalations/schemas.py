"""What a handoff records, and an escalation as the rest of Kefu reads it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from support.escalations.models import EscalationStatus
from support.replies.vocabulary import REASON_LABELS, HandoffReason

# How much of what the user said an escalation keeps for the agent.
RECENT_MESSAGES = 5


@dataclass(frozen=True)
class EscalationRequest:
    """A conversation to queue for a person: whose, why, and what the user last said.

    Built the same way by the bot's handoff (from Rasa's tracker) and by the gateway's
    degraded mode (from the stored transcript). The service redacts the messages.
    """

    conversation_id: str
    channel: str
    reason: str
    last_messages: Sequence[str] = ()
    kb_candidates: Sequence[dict[str, Any]] = ()
    # Fraud, theft or money already gone: sorts first in the agent queue.
    urgent: bool = False

    @classmethod
    def from_user_texts(
        cls,
        *,
        conversation_id: str,
        channel: str,
        reason: str,
        user_texts: Iterable[str],
        kb_candidates: Iterable[dict[str, Any]] = (),
        urgent: bool = False,
    ) -> EscalationRequest:
        """Keeps the last RECENT_MESSAGES things the user said (blank ones skipped)."""
        said = [text for text in user_texts if text.strip()]
        return cls(
            conversation_id=conversation_id,
            channel=str(channel),
            reason=reason,
            last_messages=tuple(said[-RECENT_MESSAGES:]),
            kb_candidates=tuple(kb_candidates),
            urgent=urgent,
        )


@dataclass(frozen=True)
class EscalationView:
    id: int
    # The conversation's id, which is also Rasa's sender id.
    conversation_id: str
    channel: str
    reason: str
    status: EscalationStatus
    last_messages: list[str]
    kb_candidates: list[dict[str, Any]]
    redacted: bool
    created_at: datetime
    assigned_to: str | None = None
    resolved_at: datetime | None = None
    urgent: bool = False
    # Resolved because the user withdrew while waiting, not by an agent.
    withdrawn: bool = False

    @property
    def reason_label(self) -> str:
        """The reason in an agent's words (older escalations stored words already)."""
        return reason_label(self.reason)


def reason_label(reason: str) -> str:
    try:
        return REASON_LABELS[HandoffReason(reason)]
    except ValueError:
        return reason


@dataclass(frozen=True)
class Handoff:
    escalation: EscalationView
    queue_position: int
