"""Request and response bodies of the console's ticket API."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from support.tickets.models import TicketStatus
from support.tickets.service import (
    MAX_NOTE_LENGTH,
    TicketDetail,
    TicketEventView,
    TicketPage,
    TicketView,
)


class TicketOut(BaseModel):
    id: int
    number: str
    status: TicketStatus
    status_label: str  # as users see it in chat
    category: str
    channel: str
    sender_id: str
    description: str
    contact: str
    transaction_id: str | None
    created_at: datetime
    updated_at: datetime
    age_seconds: int

    @classmethod
    def of(cls, ticket: TicketView, now: datetime) -> TicketOut:
        return cls(
            id=ticket.id,
            number=ticket.number,
            status=ticket.status,
            status_label=ticket.status.label,
            category=ticket.category,
            channel=ticket.channel,
            sender_id=ticket.sender_id,
            description=ticket.description,
            contact=ticket.contact,
            transaction_id=ticket.transaction_id,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            age_seconds=max(0, int((now - ticket.created_at).total_seconds())),
        )


class TicketListOut(BaseModel):
    tickets: list[TicketOut]
    total: int
    counts: dict[TicketStatus, int]

    @classmethod
    def of(cls, page: TicketPage) -> TicketListOut:
        now = datetime.now(UTC)
        return cls(
            tickets=[TicketOut.of(ticket, now) for ticket in page.tickets],
            total=page.total,
            counts=page.counts,
        )


class TicketEventOut(BaseModel):
    kind: str
    status: TicketStatus | None
    status_label: str | None
    note: str | None
    author: str
    created_at: datetime

    @classmethod
    def of(cls, event: TicketEventView) -> TicketEventOut:
        return cls(
            kind=event.kind,
            status=event.status,
            status_label=event.status.label if event.status else None,
            note=event.note,
            author=event.author,
            created_at=event.created_at,
        )


class TicketDetailOut(TicketOut):
    events: list[TicketEventOut]
    allowed_statuses: list[TicketStatus]

    @classmethod
    def of_detail(cls, detail: TicketDetail) -> TicketDetailOut:
        summary = TicketOut.of(detail.ticket, datetime.now(UTC))
        return cls(
            **summary.model_dump(),
            events=[TicketEventOut.of(event) for event in detail.events],
            allowed_statuses=detail.allowed_statuses,
        )


class TicketPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)

    @model_validator(mode="after")
    def _something_to_change(self) -> TicketPatchIn:
        if self.status is None and self.note is None:
            raise ValueError("请填写新的状态或备注")
        if self.note is not None and not self.note.strip():
            raise ValueError("备注不能为空")
        return self
