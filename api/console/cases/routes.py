"""The agent API for escalations: the queue, a case, replies, assign, resolve, live events.

Thin: the work is in AgentDesk. Every route needs a console session (agent_router).
Its errors (no such case, already resolved, someone else's case, Rasa unreachable)
carry their status and Chinese message; api.core.errors answers them.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import Query, Request
from sse_starlette import EventSourceResponse

from api.console.cases.desk import Case, QueueItem
from api.console.deps import COOKIE_NAME, CurrentAgent, DeskDep, agent_router
from api.console.schemas import (
    AgentReplyIn,
    CaseConversation,
    CaseOut,
    CaseTicket,
    EscalationOut,
    QueueOut,
    ReplyOut,
)
from api.core.deps import AccountsDep, SettingsDep
from api.core.params import RowId
from api.core.sse import event_stream
from support.conversations.flows import AGENTS_CHANNEL
from support.escalations.models import EscalationStatus

router = agent_router(tags=["agent"])

STATUS_FILTERS: dict[str, tuple[EscalationStatus, ...]] = {
    "open": (EscalationStatus.WAITING, EscalationStatus.ASSIGNED),
    "waiting": (EscalationStatus.WAITING,),
    "assigned": (EscalationStatus.ASSIGNED,),
    "resolved": (EscalationStatus.RESOLVED,),
}


def _escalation_out(item: QueueItem) -> EscalationOut:
    escalation = item.escalation
    return EscalationOut(
        id=escalation.id,
        conversation_id=escalation.conversation_id,
        channel=escalation.channel,
        reason=escalation.reason,
        reason_label=escalation.reason_label,
        status=escalation.status.value,
        assigned_to=escalation.assigned_to,
        redacted=escalation.redacted,
        urgent=escalation.urgent,
        withdrawn=escalation.withdrawn,
        created_at=escalation.created_at,
        resolved_at=escalation.resolved_at,
        waiting_seconds=round(item.waiting_seconds, 1),
        conversation_state=item.conversation_state.value,
        last_user_message=item.last_user_message,
        user_messages=item.user_messages,
    )


def _case_out(case: Case) -> CaseOut:
    escalation, conversation = case.escalation, case.conversation
    user = conversation.external_id
    return CaseOut(
        escalation=_escalation_out(case.item),
        last_messages=escalation.last_messages,
        kb_candidates=escalation.kb_candidates,
        conversation=CaseConversation(
            id=conversation.id,
            channel=conversation.channel,
            state=conversation.state.value,
            user=f"{user[:6]}…{user[-4:]}" if user and len(user) > 12 else user,
            created_at=conversation.created_at,
        ),
        transcript=case.transcript,
        tickets=[
            CaseTicket(
                number=ticket.number,
                category=ticket.category,
                status=ticket.status.value,
                status_label=ticket.status.label,
                description=ticket.description,
                created_at=ticket.created_at,
                updated_at=ticket.updated_at,
            )
            for ticket in case.tickets
        ],
    )


@router.get("/escalations")
def queue(
    desk: DeskDep,
    status: Annotated[
        Literal["open", "waiting", "assigned", "resolved"],
        Query(description="open = 等待中和处理中"),
    ] = "open",
) -> QueueOut:
    return QueueOut(
        escalations=[_escalation_out(item) for item in desk.queue(STATUS_FILTERS[status])]
    )


@router.get("/escalations/{escalation_id}")
def case(escalation_id: RowId, desk: DeskDep) -> CaseOut:
    return _case_out(desk.case(escalation_id))


@router.post("/escalations/{escalation_id}/messages", status_code=201)
async def reply(
    escalation_id: RowId, body: AgentReplyIn, desk: DeskDep, agent: CurrentAgent
) -> ReplyOut:
    return ReplyOut(message=await desk.reply(escalation_id, agent.username, body.text))


@router.post("/escalations/{escalation_id}/assign")
async def assign(escalation_id: RowId, desk: DeskDep, agent: CurrentAgent) -> CaseOut:
    await desk.assign(escalation_id, agent.username)
    return _case_out(desk.case(escalation_id))


@router.post("/escalations/{escalation_id}/resolve")
async def resolve(escalation_id: RowId, desk: DeskDep) -> CaseOut:
    await desk.resolve(escalation_id)
    return _case_out(desk.case(escalation_id))


@router.get("/events")
async def events(
    request: Request, desk: DeskDep, accounts: AccountsDep, settings: SettingsDep
) -> EventSourceResponse:
    """Live console events: new escalations, user messages, assignments, resolutions.

    The stream carries users' messages in full, so it lasts only as long as the login
    that opened it: it ends after a logout, at expiry, or when the password is reset.
    """
    token = request.cookies[COOKIE_NAME]  # agent_router let the request in: it has one

    async def still_logged_in() -> bool:
        return await asyncio.to_thread(accounts.session, token) is not None

    return event_stream(
        desk.bus,
        AGENTS_CHANNEL,
        still_allowed=still_logged_in,
        recheck_seconds=settings.agent_stream_recheck,
    )
