"""The console's ticket API: list, detail, status changes and internal notes. Thin.

TicketService's errors (not found 404, a forbidden transition 409, a malformed update
422) reach the agent through the gateway's KefuError handler.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.console.deps import CurrentAgent, agent_router
from api.console.tickets.schemas import TicketDetailOut, TicketListOut, TicketPatchIn
from api.core.deps import TicketsDep
from api.core.params import NoNul, Offset, RowId
from support.errors import InvalidInputError
from support.tickets.models import TicketStatus
from support.tickets.service import TicketNotFoundError, TicketQuery

router = agent_router(tags=["agent"])


def _statuses(values: list[str]) -> list[TicketStatus]:
    """``status=new&status=resolved`` or ``status=new,resolved``."""
    statuses: list[TicketStatus] = []
    for value in (part.strip() for raw in values for part in raw.split(",")):
        if not value:
            continue
        try:
            statuses.append(TicketStatus(value))
        except ValueError:
            raise InvalidInputError(f"status：没有“{value}”这个工单状态") from None
    return statuses


@router.get("/tickets")
def list_tickets(
    tickets: TicketsDep,
    *,
    status: Annotated[
        list[Annotated[str, NoNul]] | None, Query(description="一个或多个状态")
    ] = None,
    channel: Annotated[str | None, Query(max_length=16), NoNul] = None,
    category: Annotated[str | None, Query(max_length=32), NoNul] = None,
    sender_id: Annotated[str | None, Query(max_length=128), NoNul] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="工单号、描述或联系方式"), NoNul
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> TicketListOut:
    query = TicketQuery(
        statuses=_statuses(status or []),
        channel=channel or None,
        category=category or None,
        sender_id=sender_id or None,
        text=q,
    )
    return TicketListOut.model_validate(tickets.search(query, limit=limit, offset=offset))


@router.get("/tickets/{ticket_id}")
def ticket_detail(ticket_id: RowId, tickets: TicketsDep) -> TicketDetailOut:
    detail = tickets.get(ticket_id)
    if detail is None:
        raise TicketNotFoundError(ticket_id)
    return TicketDetailOut.model_validate(detail)


@router.patch("/tickets/{ticket_id}")
def update_ticket(
    ticket_id: RowId, body: TicketPatchIn, tickets: TicketsDep, agent: CurrentAgent
) -> TicketDetailOut:
    detail = tickets.update(ticket_id, status=body.status, note=body.note, author=agent.username)
    return TicketDetailOut.model_validate(detail)
