"""The one implementation of tickets, used by the action server and the gateway alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from actions.guard import redact
from api.db import as_utc, transaction
from api.tickets.models import Ticket, TicketCounter, TicketEvent, TicketStatus


@dataclass(frozen=True)
class TicketView:
    number: str
    sender_id: str
    channel: str
    category: str
    description: str
    contact: str
    transaction_id: str | None
    status: TicketStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, ticket: Ticket) -> TicketView:
        return cls(
            number=ticket.number,
            sender_id=ticket.sender_id,
            channel=ticket.channel,
            category=ticket.category,
            description=ticket.description,
            contact=ticket.contact,
            transaction_id=ticket.transaction_id,
            status=TicketStatus(ticket.status),
            created_at=as_utc(ticket.created_at),
            updated_at=as_utc(ticket.updated_at),
        )


def _next_in_day(session: Session, day: str) -> int:
    """Atomically take the day's next number: one upsert, safe across processes.

    PostgreSQL holds the counter row locked until the ticket's transaction commits;
    SQLite serialises writers. Either way no two tickets share a number.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(TicketCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.day], set_={"last": TicketCounter.last + 1}
        )
        .returning(TicketCounter.last)
    )
    return int(session.execute(statement).scalar_one())


class TicketService:
    def __init__(self, sessions: sessionmaker[Session], timezone: str = "Asia/Shanghai") -> None:
        self._sessions = sessions
        self._zone = ZoneInfo(timezone)

    def open(
        self,
        *,
        sender_id: str,
        channel: str,
        category: str,
        description: str,
        contact: str,
        transaction_id: str | None = None,
    ) -> TicketView:
        """File a ticket and give it the next number of the day, e.g. T20261121-0042."""
        now = datetime.now(UTC)
        day = f"{now.astimezone(self._zone):%Y%m%d}"
        with transaction(self._sessions) as session:
            ticket = Ticket(
                number=f"T{day}-{_next_in_day(session, day):04d}",
                sender_id=sender_id,
                channel=channel,
                category=category,
                description=redact(description),
                contact=contact,
                transaction_id=redact(transaction_id) if transaction_id else None,
                status=TicketStatus.NEW.value,
                created_at=now,
                updated_at=now,
            )
            ticket.events.append(
                TicketEvent(
                    kind="created", status=TicketStatus.NEW.value, author="user", created_at=now
                )
            )
            session.add(ticket)
            session.flush()
            return TicketView.of(ticket)

    def find_for_sender(self, number: str, sender_id: str) -> TicketView | None:
        """The ticket, only if ``sender_id`` opened it: users never see others' tickets."""
        with self._sessions() as session:
            ticket = session.scalar(
                select(Ticket).where(Ticket.number == number.upper(), Ticket.sender_id == sender_id)
            )
            return TicketView.of(ticket) if ticket else None

    def latest_for_sender(self, sender_id: str) -> TicketView | None:
        with self._sessions() as session:
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.sender_id == sender_id)
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            return TicketView.of(ticket) if ticket else None

    def for_sender(self, sender_id: str) -> list[TicketView]:
        with self._sessions() as session:
            tickets = session.scalars(
                select(Ticket).where(Ticket.sender_id == sender_id).order_by(Ticket.id.desc())
            )
            return [TicketView.of(ticket) for ticket in tickets]

    def local_time(self, moment: datetime) -> str:
        return f"{moment.astimezone(self._zone):%Y-%m-%d %H:%M}"
