"""Conversation and message tables, shared by the web widget, WeChat and the console."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from support.storage import Base


class ConversationState(StrEnum):
    BOT = "bot"
    WAITING_AGENT = "waiting_agent"
    AGENT = "agent"


class Role(StrEnum):
    USER = "user"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    # Also the Rasa sender id.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The channel's own user id (a WeChat openid); web sessions have none.
    external_id: Mapped[str | None] = mapped_column(String(128))
    # sha256 of the web session token; the token itself is never stored.
    token_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.BOT.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(8))
    # Always the redacted text.
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The button payload a user pressed (the text is then the button's title).
    payload: Mapped[str | None] = mapped_column(String(256))
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    # 👍 / 👎 from the widget, for CSAT.
    feedback: Mapped[str | None] = mapped_column(String(8))
    # WeChat: whether an asynchronous (客服消息) delivery succeeded.
    delivery: Mapped[str | None] = mapped_column(String(16))
    # Set when the gateway answered from the KB itself (Rasa unreachable).
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    # The agent's username, for messages written in the console.
    author: Mapped[str | None] = mapped_column(String(64))
    # Bot replies: what the KB decided (decision, faq_id, score, query), for the analytics.
    # none_as_null: no decision is SQL NULL, not a JSON 'null' that JSON paths would see.
    kb: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # Indexed for the analytics, which read one period of messages.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
