"""Conversations and messages as the rest of Kefu reads them.

A message is serialised one way, by ``MessageView``: agents get all of it, users the
``PublicMessageView`` part (never the agent's name or the KB's decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from support.channels import Channel
from support.conversations.models import ConversationState, Role
from support.replies.vocabulary import Button
from support.storage import as_utc

__all__ = [
    "Button",
    "ConversationSummary",
    "ConversationView",
    "MessageView",
    "OutgoingMessage",
    "PublicMessageView",
    "TurnResult",
]

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class PublicMessageView(BaseModel):
    """A message as its user may see it: the widget's history, replies and live events."""

    # from_attributes: built straight from a stored Message row.
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    role: Role
    text: str
    buttons: Annotated[list[Button], BeforeValidator(lambda value: value or [])] = []
    feedback: str | None = None
    created_at: UtcDatetime


class MessageView(PublicMessageView):
    """A stored message with what only agents see."""

    degraded: bool = False
    # WeChat: whether the 客服消息 delivery went through (sent / failed).
    delivery: str | None = None
    redacted: bool = False
    # The agent who wrote it (console replies).
    author: str | None = None
    # What the KB decided for a bot reply.
    kb: dict[str, Any] | None = None

    def for_user(self) -> dict[str, Any]:
        """The JSON a user may see (the PublicMessageView fields)."""
        return self.model_dump(mode="json", include=_PUBLIC_FIELDS)

    def for_agents(self) -> dict[str, Any]:
        """The JSON the console sees."""
        return self.model_dump(mode="json")


_PUBLIC_FIELDS: set[str] = set(PublicMessageView.model_fields)


@dataclass(frozen=True)
class ConversationView:
    id: str
    channel: Channel
    external_id: str | None
    state: ConversationState
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConversationSummary:
    """What a queue row shows of a conversation, without loading its transcript."""

    state: ConversationState
    user_messages: int
    last_user_message: str | None


@dataclass(frozen=True)
class TurnResult:
    replies: list[MessageView]
    state: ConversationState
    user_message_id: int
    degraded: bool = False


@dataclass(frozen=True)
class OutgoingMessage:
    """A message about to be stored."""

    text: str
    buttons: tuple[Button, ...] = ()
    role: Role = Role.BOT
    # What the KB decided for this reply (support.replies.answering.kb_metadata).
    kb: dict[str, Any] | None = None
    # The bot handed the conversation to a person with this reply.
    handoff: bool = False
    # The agent who wrote it, for messages from the console.
    author: str | None = None
