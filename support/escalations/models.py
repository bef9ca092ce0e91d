"""Escalation table: a conversation handed to a person."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from support.storage import Base


class EscalationStatus(StrEnum):
    WAITING = "waiting"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Also Rasa's sender id. No foreign key: a handoff made straight through Rasa's REST
    # channel has no gateway conversation.
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.WAITING.value)
    # The last user messages (redacted) and what the KB retrieved for them.
    last_messages: Mapped[list[str]] = mapped_column(JSON)
    kb_candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Fraud, theft, money already gone: the queue puts these first (migration 0007).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Closed because the user no longer wanted a person while waiting (migration 0011).
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
