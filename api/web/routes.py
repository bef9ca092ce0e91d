"""Web chat API. Thin: sessions and auth here, the conversation logic in the service.

Domain errors (rate limit, a stale button, an unknown message) carry their own status
and Chinese message; api.core.errors answers them. Every route is limited per client
address before anything else runs (api.core.abuse), and the reads of a session per
session once its token is checked; messages are limited per conversation by the service.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from sse_starlette import EventSourceResponse

from api.core.abuse import (
    ChatLimit,
    SessionCreationLimit,
    limit_session_reads,
)
from api.core.deps import get_conversations
from api.core.params import RowId, SessionId
from api.core.sse import event_stream
from api.web.schemas import Feedback, HistoryOut, SessionCreated, TurnOut, UserMessage
from support.conversations.flows import ConversationService, conversation_channel
from support.conversations.schemas import ConversationView

router = APIRouter(prefix="/api/chat", tags=["chat"])

Conversations = Annotated[ConversationService, Depends(get_conversations)]
UNAUTHORIZED = "会话无效或已过期，请刷新页面重新开始。"


def _session(
    session_id: str, conversations: ConversationService, token: str | None
) -> ConversationView:
    conversation = conversations.authenticate(session_id, token) if token else None
    if conversation is None:
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return conversation


def authorized_session(
    session_id: SessionId,
    conversations: Conversations,
    authorization: Annotated[str | None, Header()] = None,
) -> ConversationView:
    scheme, _, token = (authorization or "").partition(" ")
    return _session(session_id, conversations, token if scheme.lower() == "bearer" else None)


Session = Annotated[ConversationView, Depends(authorized_session)]


async def reading_session(request: Request, session: Session) -> ConversationView:
    await limit_session_reads(request, session.id)
    return session


def _event_session(
    session_id: SessionId,
    conversations: Conversations,
    token: Annotated[
        str | None, Query(max_length=256, description="会话令牌（EventSource 不能带请求头）")
    ] = None,
) -> ConversationView:
    return _session(session_id, conversations, token)


async def reading_event_session(
    request: Request, session: Annotated[ConversationView, Depends(_event_session)]
) -> ConversationView:
    await limit_session_reads(request, session.id)
    return session


ReadingSession = Annotated[ConversationView, Depends(reading_session)]


@router.post("/sessions", status_code=201, dependencies=[SessionCreationLimit])
def create_session(conversations: Conversations) -> SessionCreated:
    conversation, token = conversations.start_web()
    return SessionCreated(session_id=conversation.id, token=token)


@router.post("/sessions/{session_id}/messages", dependencies=[ChatLimit])
async def post_message(
    body: UserMessage, session: Session, conversations: Conversations
) -> TurnOut:
    turn = await conversations.handle(
        session.id, text=body.text, payload=body.payload, conversation=session
    )
    return TurnOut(
        replies=list(turn.replies),
        state=turn.state.value,
        user_message_id=turn.user_message_id,
        degraded=turn.degraded,
    )


@router.get("/sessions/{session_id}/messages", dependencies=[ChatLimit])
def history(session: ReadingSession, conversations: Conversations) -> HistoryOut:
    return HistoryOut(
        messages=list(conversations.history(session.id)),
        state=conversations.get(session.id).state.value,
    )


@router.post(
    "/sessions/{session_id}/messages/{message_id}/feedback",
    status_code=204,
    dependencies=[ChatLimit],
)
def feedback(
    message_id: RowId, body: Feedback, session: ReadingSession, conversations: Conversations
) -> Response:
    conversations.set_feedback(session.id, message_id, body.value)
    return Response(status_code=204)


@router.get("/sessions/{session_id}/events", dependencies=[ChatLimit])
async def events(
    session: Annotated[ConversationView, Depends(reading_event_session)],
    conversations: Conversations,
) -> EventSourceResponse:
    """Server-sent events: agent messages and state changes, as they happen."""
    return event_stream(
        conversations.bus,
        conversation_channel(session.id),
        # The widget listens for "state" and treats everything else as a message.
        name=lambda event: "state" if event.get("type") == "state" else "message",
    )
