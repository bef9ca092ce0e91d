"""Escalations: recorded by the bot's handoff, worked by agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from actions.guard import REDACTED, redact
from api.agent.models import Escalation, EscalationStatus
from api.db import as_utc, transaction


@dataclass(frozen=True)
class EscalationView:
    id: int
    sender_id: str
    channel: str
    reason: str
    status: EscalationStatus
    last_messages: list[str]
    kb_candidates: list[dict[str, Any]]
    redacted: bool
    created_at: datetime


@dataclass(frozen=True)
class Handoff:
    escalation: EscalationView
    queue_position: int


class EscalationService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def open(
        self,
        *,
        sender_id: str,
        channel: str,
        reason: str,
        last_messages: Sequence[str],
        kb_candidates: Sequence[dict[str, Any]],
    ) -> Handoff:
        """Queue the conversation for a person; one open escalation per conversation."""
        messages = [redact(message) for message in last_messages]
        with transaction(self._sessions) as session:
            escalation = session.scalar(
                select(Escalation).where(
                    Escalation.sender_id == sender_id,
                    Escalation.status != EscalationStatus.RESOLVED.value,
                )
            )
            if escalation is None:
                escalation = Escalation(
                    sender_id=sender_id,
                    channel=channel,
                    reason=reason,
                    status=EscalationStatus.WAITING.value,
                    last_messages=messages,
                    kb_candidates=list(kb_candidates),
                    redacted=any(REDACTED in message for message in messages),
                    created_at=datetime.now(UTC),
                )
                session.add(escalation)
                session.flush()
            position = session.scalar(
                select(func.count()).where(
                    Escalation.status == EscalationStatus.WAITING.value,
                    Escalation.id <= escalation.id,
                )
            )
            return Handoff(_view(escalation), max(int(position or 0), 1))

    def open_for_sender(self, sender_id: str) -> EscalationView | None:
        with self._sessions() as session:
            escalation = session.scalar(
                select(Escalation).where(
                    Escalation.sender_id == sender_id,
                    Escalation.status != EscalationStatus.RESOLVED.value,
                )
            )
            return _view(escalation) if escalation else None


def _view(escalation: Escalation) -> EscalationView:
    created = escalation.created_at
    return EscalationView(
        id=escalation.id,
        sender_id=escalation.sender_id,
        channel=escalation.channel,
        reason=escalation.reason,
        status=EscalationStatus(escalation.status),
        last_messages=list(escalation.last_messages),
        kb_candidates=list(escalation.kb_candidates),
        redacted=escalation.redacted,
        created_at=as_utc(created),
    )
