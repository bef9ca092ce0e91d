"""The console's ticket API: list, detail, status changes and internal notes. Thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query

from api.console.deps import CurrentAgent, agent_router
from api.console.tickets.schemas import TicketDetailOut, TicketListOut, TicketPatchIn
from api.core.deps import get_settings_dep
from support.settings import Settings
from support.storage import session_factory
from support.tickets.models import TicketStatus
from support.tickets.service import (
    TicketNotFoundError,
    TicketQuery,
    TicketService,
    TicketTransitionError,
    TicketUpdateError,
)

router = agent_router(tags=["agent"])


def get_tickets(settings: Annotated[Settings, Depends(get_settings_dep)]) -> TicketService:
    # Cheap: the engine behind session_factory is cached per URL.
    return TicketService(session_factory(settings.database_url), settings.timezone)


Tickets = Annotated[TicketService, Depends(get_tickets)]


def _statuses(values: list[str]) -> list[TicketStatus]:
    """``status=new&status=resolved`` or ``status=new,resolved``."""
    statuses: list[TicketStatus] = []
    for value in (part.strip() for raw in values for part in raw.split(",")):
        if not value:
            continue
        try:
            statuses.append(TicketStatus(value))
        except ValueError:
            raise HTTPException(422, f"status：没有“{value}”这个工单状态") from None
    return statuses


@router.get("/tickets")
def list_tickets(
    tickets: Tickets,
    *,
    status: Annotated[list[str] | None, Query(description="一个或多个状态")] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
    sender_id: Annotated[str | None, Query(max_length=128)] = None,
    q: Annotated[str | None, Query(max_length=100, description="工单号、描述或联系方式")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketListOut:
    query = TicketQuery(
        statuses=_statuses(status or []),
        channel=channel or None,
        category=category or None,
        sender_id=sender_id or None,
        text=q,
    )
    return TicketListOut.of(tickets.search(query, limit=limit, offset=offset))


@router.get("/tickets/{ticket_id}")
def ticket_detail(ticket_id: int, tickets: Tickets) -> TicketDetailOut:
    detail = tickets.get(ticket_id)
    if detail is None:
        raise HTTPException(404, f"工单 {ticket_id} 不存在。")
    return TicketDetailOut.of_detail(detail)


@router.patch("/tickets/{ticket_id}")
def update_ticket(
    ticket_id: int, body: TicketPatchIn, tickets: Tickets, agent: CurrentAgent
) -> TicketDetailOut:
    try:
        detail = tickets.update(
            ticket_id, status=body.status, note=body.note, author=agent.username
        )
    except TicketNotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    except TicketTransitionError as exc:
        raise HTTPException(409, str(exc)) from exc
    except TicketUpdateError as exc:
        raise HTTPException(422, str(exc)) from exc
    return TicketDetailOut.of_detail(detail)
