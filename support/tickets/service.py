"""The one implementation of tickets, used by the action server and the gateway alike.

Agents move tickets through this workflow in the console; users see the status label
when they check a ticket in chat (it is read from the database on every check)::

    from \\ to      in_progress  waiting_user  resolved  closed
    new               ✓            ✓             ✓         ✓
    in_progress       ·            ✓             ✓         ✓
    waiting_user      ✓ 用户已回复  ·             ✓         ✓
    resolved          ✓ 重新打开    ·             ·         ✓
    closed            — final —

- Forward along new → in_progress → waiting_user → resolved → closed, skipping steps:
  a question settled at first touch goes straight to resolved, spam or a duplicate is
  closed at once.
- Back only to in_progress: when the user answers a waiting_user ticket, or to reopen
  a resolved one. Nothing leads back to new (someone has touched it).
- closed is final: a new problem gets a new ticket, so the history stays readable.
- Setting the status a ticket already has changes nothing (two agents clicking at once).
- Internal notes may be added in any status, closed included; users never see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from guard import redact
from support.errors import ConflictError, InvalidInputError, KefuError, NotFoundError
from support.storage import as_utc, transaction
from support.tickets.models import Ticket, TicketCounter, TicketEvent, TicketStatus

TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {
            TicketStatus.IN_PROGRESS,
            TicketStatus.WAITING_USER,
            TicketStatus.RESOLVED,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.WAITING_USER, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.WAITING_USER: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}
# How agents call the statuses; TicketStatus.label is worded for users ("等待您补充信息").
AGENT_LABELS = {
    TicketStatus.NEW: "新建",
    TicketStatus.IN_PROGRESS: "处理中",
    TicketStatus.WAITING_USER: "等待用户回复",
    TicketStatus.RESOLVED: "已解决",
    TicketStatus.CLOSED: "已关闭",
}
MAX_NOTE_LENGTH = 2000


def allowed_next(status: TicketStatus) -> list[TicketStatus]:
    """The statuses a ticket in ``status`` may move to, in workflow order."""
    return [target for target in TicketStatus if target in TRANSITIONS[status]]


class TicketError(KefuError):
    """A ticket change that cannot be made; the message is for agents."""


class TicketNotFoundError(TicketError, NotFoundError):
    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"工单 {ticket_id} 不存在。")
        self.ticket_id = ticket_id


class TicketTransitionError(TicketError, ConflictError):
    def __init__(self, current: TicketStatus, target: TicketStatus) -> None:
        closed = current is TicketStatus.CLOSED
        reason = "已关闭的工单不能再修改状态" if closed else "不允许这样流转"
        super().__init__(
            f"工单状态不能从「{AGENT_LABELS[current]}」改为「{AGENT_LABELS[target]}」：{reason}。"
        )
        self.current = current
        self.target = target


class TicketUpdateError(TicketError, InvalidInputError):
    """The update itself is malformed: nothing to change, or an unusable note."""


# SQLite hands back naive datetimes; everything Kefu writes is UTC.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class TicketView(BaseModel):
    """A ticket read from its row (``TicketView.model_validate(row)``), usable after the session."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    number: str
    sender_id: str
    channel: str
    category: str
    description: str
    contact: str
    transaction_id: str | None
    status: TicketStatus
    created_at: UtcDatetime
    updated_at: UtcDatetime


class TicketEventView(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    kind: str  # created | status | note
    status: TicketStatus | None
    note: str | None
    author: str
    created_at: UtcDatetime


class TicketDetail(TicketView):
    """The ticket with its history, read from the row and its ``events`` relationship."""

    events: list[TicketEventView]

    @property
    def allowed_statuses(self) -> list[TicketStatus]:
        return allowed_next(self.status)


@dataclass(frozen=True)
class TicketQuery:
    """Console filters; every one given must match. ``text`` searches number/description/contact."""

    statuses: Sequence[TicketStatus] = ()
    channel: str | None = None
    category: str | None = None
    sender_id: str | None = None
    text: str | None = None

    def conditions(self, *, with_status: bool = True) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if with_status and self.statuses:
            conditions.append(Ticket.status.in_([status.value for status in self.statuses]))
        if self.channel:
            conditions.append(Ticket.channel == self.channel)
        if self.category:
            conditions.append(Ticket.category == self.category)
        if self.sender_id:
            conditions.append(Ticket.sender_id == self.sender_id)
        needle = (self.text or "").strip()
        if needle:
            # autoescape: a % or _ typed by the agent is matched literally.
            conditions.append(
                or_(
                    Ticket.number.icontains(needle, autoescape=True),
                    Ticket.description.icontains(needle, autoescape=True),
                    Ticket.contact.icontains(needle, autoescape=True),
                )
            )
        return conditions


@dataclass(frozen=True)
class TicketPage:
    tickets: list[TicketView]
    total: int  # all tickets matching the filters, not just this page
    # Per status under the other filters, so the status chips show what a click would give.
    counts: dict[TicketStatus, int] = field(default_factory=dict)


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
            return TicketView.model_validate(ticket)

    def find_for_sender(self, number: str, sender_id: str) -> TicketView | None:
        """The ticket, only if ``sender_id`` opened it: users never see others' tickets."""
        with self._sessions() as session:
            ticket = session.scalar(
                select(Ticket).where(Ticket.number == number.upper(), Ticket.sender_id == sender_id)
            )
            return TicketView.model_validate(ticket) if ticket else None

    def latest_for_sender(self, sender_id: str) -> TicketView | None:
        with self._sessions() as session:
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.sender_id == sender_id)
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            return TicketView.model_validate(ticket) if ticket else None

    def for_sender(self, sender_id: str) -> list[TicketView]:
        with self._sessions() as session:
            tickets = session.scalars(
                select(Ticket).where(Ticket.sender_id == sender_id).order_by(Ticket.id.desc())
            )
            return [TicketView.model_validate(ticket) for ticket in tickets]

    def search(
        self, query: TicketQuery | None = None, *, limit: int = 50, offset: int = 0
    ) -> TicketPage:
        """One page of matching tickets, newest first, with the total and per-status counts."""
        query = query or TicketQuery()
        with self._sessions() as session:
            counted = session.execute(
                select(Ticket.status, func.count())
                .where(*query.conditions(with_status=False))
                .group_by(Ticket.status)
            )
            counts = dict.fromkeys(TicketStatus, 0)
            for status, count in counted:
                counts[TicketStatus(status)] = int(count)
            wanted = set(query.statuses) or set(TicketStatus)
            tickets = session.scalars(
                select(Ticket)
                .where(*query.conditions())
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return TicketPage(
                tickets=[TicketView.model_validate(ticket) for ticket in tickets],
                total=sum(counts[status] for status in wanted),
                counts=counts,
            )

    def get(self, ticket_id: int) -> TicketDetail | None:
        with self._sessions() as session:
            ticket = session.get(Ticket, ticket_id)
            return TicketDetail.model_validate(ticket) if ticket else None

    def update(
        self,
        ticket_id: int,
        *,
        status: TicketStatus | None = None,
        note: str | None = None,
        author: str,
    ) -> TicketDetail:
        """Change the status and/or add an internal note, as one event in one transaction.

        A status change with a note is one ``status`` event carrying the note (the note
        says why); a note alone is a ``note`` event. Raises TicketNotFoundError,
        TicketTransitionError (see the workflow above) or TicketUpdateError; in every
        case nothing is stored.
        """
        if status is None and note is None:
            raise TicketUpdateError("请填写新的状态或备注。")
        cleaned: str | None = None
        if note is not None:
            cleaned = note.strip()
            if not cleaned:
                raise TicketUpdateError("备注不能为空。")
            if len(cleaned) > MAX_NOTE_LENGTH:
                raise TicketUpdateError(f"备注不能超过 {MAX_NOTE_LENGTH} 个字。")
            # Agents paste what users sent them, card numbers included.
            cleaned = redact(cleaned)
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            # Row lock on PostgreSQL: two agents cannot both move the ticket from one status.
            ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
            if ticket is None:
                raise TicketNotFoundError(ticket_id)
            current = TicketStatus(ticket.status)
            target = status if status is not current else None
            if target is not None and target not in TRANSITIONS[current]:
                raise TicketTransitionError(current, target)
            if target is not None or cleaned:
                ticket.events.append(
                    TicketEvent(
                        kind="note" if target is None else "status",
                        status=None if target is None else target.value,
                        note=cleaned,
                        author=author,
                        created_at=now,
                    )
                )
                if target is not None:
                    ticket.status = target.value
                ticket.updated_at = now
            session.flush()
            return TicketDetail.model_validate(ticket)

    def local_time(self, moment: datetime) -> str:
        return f"{moment.astimezone(self._zone):%Y-%m-%d %H:%M}"
