"""Request and response bodies of the agent API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    is_admin: bool
    csrf_token: str


class AgentReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=1000)


class KbCandidate(BaseModel):
    faq_id: str | None = None
    question: str | None = None
    score: float | None = None


class EscalationOut(BaseModel):
    id: int
    conversation_id: str
    channel: str
    reason: str
    status: str
    assigned_to: str | None
    redacted: bool
    created_at: datetime
    resolved_at: datetime | None
    waiting_seconds: float
    conversation_state: str
    last_user_message: str | None
    user_messages: int


class QueueOut(BaseModel):
    escalations: list[EscalationOut]


class TranscriptMessage(BaseModel):
    id: int
    role: str
    text: str
    author: str | None
    redacted: bool
    degraded: bool
    delivery: str | None
    feedback: str | None
    buttons: list[dict[str, str]]
    # For bot replies: the KB's decision, the FAQ it chose (or came nearest) and the score.
    kb: dict[str, Any] | None = None
    created_at: datetime


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
    transcript: list[TranscriptMessage]
    tickets: list[CaseTicket]


class ReplyOut(BaseModel):
    message: TranscriptMessage
