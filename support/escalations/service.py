"""Escalations: recorded by the bot's handoff, worked by agents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from guard import REDACTED, redact
from support import metrics
from support.escalations.errors import EscalationNotFoundError, EscalationResolvedError
from support.escalations.models import Escalation, EscalationStatus
from support.escalations.schemas import EscalationRequest, EscalationView, Handoff
from support.storage import as_utc, transaction

__all__ = [
    "EscalationNotFoundError",
    "EscalationRequest",
    "EscalationResolvedError",
    "EscalationService",
    "EscalationView",
    "Handoff",
]


class EscalationService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def open(self, request: EscalationRequest) -> Handoff:
        """Queue the conversation for a person; one open escalation per conversation.

        An urgent request makes the conversation's open escalation urgent too: a user
        already waiting who then reports a fraud moves to the front.
        """
        messages = [redact(message) for message in request.last_messages]
        with transaction(self._sessions) as session:
            escalation = session.scalar(_open_of(request.conversation_id))
            if escalation is None:
                escalation = Escalation(
                    conversation_id=request.conversation_id,
                    channel=request.channel,
                    reason=request.reason,
                    status=EscalationStatus.WAITING.value,
                    last_messages=messages,
                    kb_candidates=list(request.kb_candidates),
                    redacted=any(REDACTED in message for message in messages),
                    urgent=request.urgent,
                    created_at=datetime.now(UTC),
                )
                session.add(escalation)
                session.flush()
                metrics.handoffs_total.labels(metrics.handoff_reason_label(request.reason)).inc()
            elif request.urgent and not escalation.urgent:
                escalation.urgent = True
                session.flush()
            return Handoff(_view(escalation), _place_in_queue(session, escalation))

    def with_status(self, statuses: Sequence[EscalationStatus]) -> list[EscalationView]:
        """Escalations in these states in the queue's order: urgent first, then oldest first."""
        with self._sessions() as session:
            found = session.scalars(
                select(Escalation)
                .where(Escalation.status.in_([status.value for status in statuses]))
                .order_by(Escalation.urgent.desc(), Escalation.created_at, Escalation.id)
            )
            return [_view(escalation) for escalation in found]

    def counts_by_status(self) -> dict[EscalationStatus, int]:
        """How many escalations wait and are being handled (the queue's length)."""
        open_statuses = [EscalationStatus.WAITING.value, EscalationStatus.ASSIGNED.value]
        with self._sessions() as session:
            rows = session.execute(
                select(Escalation.status, func.count())
                .where(Escalation.status.in_(open_statuses))
                .group_by(Escalation.status)
            )
            counts = {EscalationStatus(status): 0 for status in open_statuses}
            counts.update({EscalationStatus(status): int(count) for status, count in rows})
            return counts

    def get(self, escalation_id: int) -> EscalationView:
        with self._sessions() as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is None:
                raise EscalationNotFoundError
            return _view(escalation)

    def assign(self, escalation_id: int, agent: str) -> EscalationView:
        """Give the case to ``agent`` (taking it over from another agent is allowed)."""
        with transaction(self._sessions) as session:
            escalation = self._open_for_update(session, escalation_id)
            if escalation.status == EscalationStatus.WAITING.value:
                # The wait a user had for a person: until an agent first takes the case.
                waited = datetime.now(UTC) - as_utc(escalation.created_at)
                metrics.queue_wait_seconds.observe(max(0.0, waited.total_seconds()))
            escalation.status = EscalationStatus.ASSIGNED.value
            escalation.assigned_to = agent
            return _view(escalation)

    def resolve(self, escalation_id: int) -> EscalationView:
        with transaction(self._sessions) as session:
            escalation = self._open_for_update(session, escalation_id)
            escalation.status = EscalationStatus.RESOLVED.value
            escalation.resolved_at = datetime.now(UTC)
            return _view(escalation)

    def withdraw(self, escalation_id: int) -> EscalationView | None:
        """The user no longer wants a person: close the case if no agent has taken it
        (None if one has, or it is closed already; the agent then answers as usual)."""
        with transaction(self._sessions) as session:
            escalation = session.scalar(
                select(Escalation).where(Escalation.id == escalation_id).with_for_update()
            )
            if escalation is None or escalation.status != EscalationStatus.WAITING.value:
                return None
            escalation.status = EscalationStatus.RESOLVED.value
            escalation.resolved_at = datetime.now(UTC)
            escalation.withdrawn = True
            return _view(escalation)

    def place_in_queue(self, escalation_id: int) -> int:
        """How many waiting cases are served before this one, itself included."""
        with self._sessions() as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is None:
                raise EscalationNotFoundError
            return _place_in_queue(session, escalation)

    @staticmethod
    def _open_for_update(session: Session, escalation_id: int) -> Escalation:
        escalation = session.scalar(
            select(Escalation).where(Escalation.id == escalation_id).with_for_update()
        )
        if escalation is None:
            raise EscalationNotFoundError
        if escalation.status == EscalationStatus.RESOLVED.value:
            raise EscalationResolvedError
        return escalation

    def open_for_conversation(self, conversation_id: str) -> EscalationView | None:
        """The conversation's escalation that is not resolved yet, if any."""
        with self._sessions() as session:
            escalation = session.scalar(_open_of(conversation_id))
            return _view(escalation) if escalation else None


def _place_in_queue(session: Session, escalation: Escalation) -> int:
    position = session.scalar(
        select(func.count()).where(
            Escalation.status == EscalationStatus.WAITING.value,
            _ahead_of_or_is(escalation),
        )
    )
    return max(int(position or 0), 1)


def _open_of(conversation_id: str) -> Select[Escalation]:
    return select(Escalation).where(
        Escalation.conversation_id == conversation_id,
        Escalation.status != EscalationStatus.RESOLVED.value,
    )


def _ahead_of_or_is(escalation: Escalation) -> ColumnElement[bool]:
    """Escalations the queue serves before ``escalation``, and itself (urgent first, then age)."""
    earlier = Escalation.id <= escalation.id
    if escalation.urgent:
        return and_(Escalation.urgent.is_(True), earlier)
    return or_(Escalation.urgent.is_(True), earlier)


def _view(escalation: Escalation) -> EscalationView:
    return EscalationView(
        id=escalation.id,
        conversation_id=escalation.conversation_id,
        channel=escalation.channel,
        reason=escalation.reason,
        status=EscalationStatus(escalation.status),
        last_messages=list(escalation.last_messages),
        kb_candidates=list(escalation.kb_candidates),
        redacted=escalation.redacted,
        created_at=as_utc(escalation.created_at),
        assigned_to=escalation.assigned_to,
        resolved_at=as_utc(escalation.resolved_at) if escalation.resolved_at else None,
        urgent=escalation.urgent,
        withdrawn=bool(escalation.withdrawn),
    )
