"""Escalations: recorded by the bot's handoff, worked by agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guard import REDACTED, redact
from support.escalations.models import Escalation, EscalationStatus
from support.storage import as_utc, transaction


class EscalationNotFoundError(LookupError):
    pass


class EscalationResolvedError(Exception):
    """The case is closed: no more replies, no re-assignment."""


@dataclass(frozen=True)
class EscalationView:
    id: int
    # The conversation's id, which is also Rasa's sender id.
    sender_id: str
    channel: str
    reason: str
    status: EscalationStatus
    last_messages: list[str]
    kb_candidates: list[dict[str, Any]]
    redacted: bool
    created_at: datetime
    assigned_to: str | None = None
    resolved_at: datetime | None = None


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

    def with_status(self, statuses: Sequence[EscalationStatus]) -> list[EscalationView]:
        """Escalations in these states, oldest first (the queue's order)."""
        with self._sessions() as session:
            found = session.scalars(
                select(Escalation)
                .where(Escalation.status.in_([status.value for status in statuses]))
                .order_by(Escalation.created_at, Escalation.id)
            )
            return [_view(escalation) for escalation in found]

    def get(self, escalation_id: int) -> EscalationView:
        with self._sessions() as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is None:
                raise EscalationNotFoundError(escalation_id)
            return _view(escalation)

    def assign(self, escalation_id: int, agent: str) -> EscalationView:
        """Give the case to ``agent`` (taking it over from another agent is allowed)."""
        with transaction(self._sessions) as session:
            escalation = self._open_for_update(session, escalation_id)
            escalation.status = EscalationStatus.ASSIGNED.value
            escalation.assigned_to = agent
            return _view(escalation)

    def resolve(self, escalation_id: int) -> EscalationView:
        with transaction(self._sessions) as session:
            escalation = self._open_for_update(session, escalation_id)
            escalation.status = EscalationStatus.RESOLVED.value
            escalation.resolved_at = datetime.now(UTC)
            return _view(escalation)

    @staticmethod
    def _open_for_update(session: Session, escalation_id: int) -> Escalation:
        escalation = session.scalar(
            select(Escalation).where(Escalation.id == escalation_id).with_for_update()
        )
        if escalation is None:
            raise EscalationNotFoundError(escalation_id)
        if escalation.status == EscalationStatus.RESOLVED.value:
            raise EscalationResolvedError(escalation_id)
        return escalation

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
        assigned_to=escalation.assigned_to,
        resolved_at=as_utc(escalation.resolved_at) if escalation.resolved_at else None,
    )
