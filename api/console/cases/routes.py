"""The agent API for escalations: the queue, a case, replies, assign, resolve, live events.

Thin: the work is in AgentDesk. Every route needs a console session (agent_router).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from api.console.cases.desk import (
    AgentDesk,
    Case,
    DialogueUnavailableError,
    NotYourCaseError,
    QueueItem,
)
from api.console.deps import CurrentAgent, agent_router
from api.console.schemas import (
    AgentReplyIn,
    CaseConversation,
    CaseOut,
    CaseTicket,
    EscalationOut,
    QueueOut,
    ReplyOut,
    TranscriptMessage,
)
from api.core.sse import event_stream
from support.conversations.service import AGENTS_CHANNEL, ConversationNotFoundError, MessageView
from support.escalations.models import EscalationStatus
from support.escalations.service import EscalationNotFoundError, EscalationResolvedError

router = agent_router(tags=["agent"])

STATUS_FILTERS: dict[str, tuple[EscalationStatus, ...]] = {
    "open": (EscalationStatus.WAITING, EscalationStatus.ASSIGNED),
    "waiting": (EscalationStatus.WAITING,),
    "assigned": (EscalationStatus.ASSIGNED,),
    "resolved": (EscalationStatus.RESOLVED,),
}
NOT_FOUND = "没有找到这个会话。"
ALREADY_RESOLVED = "这个会话已经解决并交还机器人了。"


def get_desk(request: Request) -> AgentDesk:
    desk: AgentDesk = request.app.state.desk
    return desk


Desk = Annotated[AgentDesk, Depends(get_desk)]


def _escalation_out(item: QueueItem) -> EscalationOut:
    escalation = item.escalation
    return EscalationOut(
        id=escalation.id,
        conversation_id=escalation.sender_id,
        channel=escalation.channel,
        reason=escalation.reason,
        status=escalation.status.value,
        assigned_to=escalation.assigned_to,
        redacted=escalation.redacted,
        created_at=escalation.created_at,
        resolved_at=escalation.resolved_at,
        waiting_seconds=round(item.waiting_seconds, 1),
        conversation_state=item.conversation_state.value,
        last_user_message=item.last_user_message,
        user_messages=item.user_messages,
    )


def _message_out(message: MessageView) -> TranscriptMessage:
    return TranscriptMessage(
        id=message.id,
        role=message.role.value,
        text=message.text,
        author=message.author,
        redacted=message.redacted,
        degraded=message.degraded,
        delivery=message.delivery,
        feedback=message.feedback,
        buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
        kb=message.kb,
        created_at=message.created_at,
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
        transcript=[_message_out(message) for message in case.transcript],
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
    desk: Desk,
    status: Annotated[
        Literal["open", "waiting", "assigned", "resolved"],
        Query(description="open = 等待中和处理中"),
    ] = "open",
) -> QueueOut:
    return QueueOut(
        escalations=[_escalation_out(item) for item in desk.queue(STATUS_FILTERS[status])]
    )


@router.get("/escalations/{escalation_id}")
def case(escalation_id: int, desk: Desk) -> CaseOut:
    try:
        return _case_out(desk.case(escalation_id))
    except (EscalationNotFoundError, ConversationNotFoundError) as exc:
        raise HTTPException(404, NOT_FOUND) from exc


@router.post("/escalations/{escalation_id}/messages", status_code=201)
async def reply(
    escalation_id: int, body: AgentReplyIn, desk: Desk, agent: CurrentAgent
) -> ReplyOut:
    try:
        message = await desk.reply(escalation_id, agent.username, body.text)
    except EscalationNotFoundError as exc:
        raise HTTPException(404, NOT_FOUND) from exc
    except EscalationResolvedError as exc:
        raise HTTPException(409, ALREADY_RESOLVED) from exc
    except NotYourCaseError as exc:
        raise HTTPException(
            409, f"这个会话正由 {exc.owner} 处理；如需接手，请先点「分配给我」。"
        ) from exc
    return ReplyOut(message=_message_out(message))


@router.post("/escalations/{escalation_id}/assign")
async def assign(escalation_id: int, desk: Desk, agent: CurrentAgent) -> CaseOut:
    try:
        await desk.assign(escalation_id, agent.username)
        return _case_out(desk.case(escalation_id))
    except EscalationNotFoundError as exc:
        raise HTTPException(404, NOT_FOUND) from exc
    except EscalationResolvedError as exc:
        raise HTTPException(409, ALREADY_RESOLVED) from exc


@router.post("/escalations/{escalation_id}/resolve")
async def resolve(escalation_id: int, desk: Desk) -> CaseOut:
    try:
        await desk.resolve(escalation_id)
        return _case_out(desk.case(escalation_id))
    except EscalationNotFoundError as exc:
        raise HTTPException(404, NOT_FOUND) from exc
    except EscalationResolvedError as exc:
        raise HTTPException(409, ALREADY_RESOLVED) from exc
    except DialogueUnavailableError as exc:
        raise HTTPException(
            503, "对话服务暂时不可用，还不能交还机器人。会话保持不变，请稍后再试。"
        ) from exc


@router.get("/events")
async def events(request: Request, desk: Desk) -> StreamingResponse:
    """Live console events: new escalations, user messages, assignments, resolutions."""
    return event_stream(request, desk.bus, AGENTS_CHANNEL)
