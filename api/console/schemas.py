"""Request and response bodies of the agent API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.core.params import NoNul
from support.conversations.schemas import MessageView


class AgentReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Annotated[str, NoNul] = Field(min_length=1, max_length=1000)


class EscalationOut(BaseModel):
    id: int
    conversation_id: str
    channel: str
    reason: str
    # The reason in words (the reason itself is a code such as "urgent_risk").
    reason_label: str
    status: str
    assigned_to: str | None
    redacted: bool
    # Fraud, theft, money already gone: first in the queue, with a 「紧急」 badge.
    urgent: bool
    # Closed by the user's 「不用人工了」 while waiting, not by an agent.
    withdrawn: bool = False
    created_at: datetime
    resolved_at: datetime | None
    waiting_seconds: float
    conversation_state: str
    last_user_message: str | None
    user_messages: int


class QueueOut(BaseModel):
    escalations: list[EscalationOut]


class CaseTicket(BaseModel):
    number: str
    category: str
    status: str
    status_label: str
    description: str
    created_at: datetime
    updated_at: datetime


class CaseConversation(BaseModel):
    id: str
    channel: str
    state: str
    # WeChat openid, shortened: enough to tell users apart, not to copy around.
    user: str | None
    created_at: datetime


class CaseOut(BaseModel):
    escalation: EscalationOut
    last_messages: list[str]
    kb_candidates: list[dict[str, Any]]
    conversation: CaseConversation
    # The one serialisation of a message, all of it: agents see the KB's decision too.
    transcript: list[MessageView]
    tickets: list[CaseTicket]


class ReplyOut(BaseModel):
    message: MessageView
