"""Web chat API. Thin: sessions and auth here, the conversation logic in the service.

Domain errors (rate limit, a stale button, an unknown message) carry their own status
and Chinese message; api.core.errors answers them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from sse_starlette import EventSourceResponse

from api.core.deps import get_conversations
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
    session_id: str,
    conversations: Conversations,
    authorization: Annotated[str | None, Header()] = None,
) -> ConversationView:
    scheme, _, token = (authorization or "").partition(" ")
    return _session(session_id, conversations, token if scheme.lower() == "bearer" else None)


Session = Annotated[ConversationView, Depends(authorized_session)]


@router.post("/sessions", status_code=201)
def create_session(conversations: Conversations) -> SessionCreated:
    conversation, token = conversations.start_web()
    return SessionCreated(session_id=conversation.id, token=token)


@router.post("/sessions/{session_id}/messages")
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


@router.get("/sessions/{session_id}/messages")
def history(session: Session, conversations: Conversations) -> HistoryOut:
    return HistoryOut(
        messages=list(conversations.history(session.id)),
        state=conversations.get(session.id).state.value,
    )


@router.post("/sessions/{session_id}/messages/{message_id}/feedback", status_code=204)
def feedback(
    message_id: int, body: Feedback, session: Session, conversations: Conversations
) -> Response:
    conversations.set_feedback(session.id, message_id, body.value)
    return Response(status_code=204)


@router.get("/sessions/{session_id}/events")
async def events(
    session_id: str,
    request: Request,
    conversations: Conversations,
    token: Annotated[str | None, Query(description="会话令牌（EventSource 不能带请求头）")] = None,
) -> EventSourceResponse:
    """Server-sent events: agent messages and state changes, as they happen."""
    session = _session(session_id, conversations, token)
    return event_stream(
        conversations.bus,
        conversation_channel(session.id),
        # The widget listens for "state" and treats everything else as a message.
        name=lambda event: "state" if event.get("type") == "state" else "message",
    )
