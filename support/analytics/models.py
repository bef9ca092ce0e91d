"""Paraphrase suggestions: user queries an agent wants added to a FAQ's paraphrases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from support.storage import Base


class ParaphraseSuggestion(Base):
    __tablename__ = "paraphrase_suggestions"
    # The same query for the same FAQ is one suggestion, whoever adds it again.
    __table_args__ = (UniqueConstraint("query", "faq_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A redacted user query, as stored in the messages.
    query: Mapped[str] = mapped_column(String(200))
    faq_id: Mapped[str] = mapped_column(String(64), index=True)
    # The agent's username.
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
