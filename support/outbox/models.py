"""One row per message (in parts) that must reach a WeChat user by 客服消息.

Written before anything is sent, so a crash or a refused call loses nothing: the
gateway's delivery loop (api.wechat.delivery.OutboxWorker) sends the parts in order,
retries with backoff, and records how it ended on the conversation's messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from support.storage import Base


class WechatOutbox(Base):
    __tablename__ = "wechat_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(128))
    # The texts to send, in order; ``sent_parts`` of them went out already.
    parts: Mapped[list[str]] = mapped_column(JSON)
    sent_parts: Mapped[int] = mapped_column(Integer, default=0)
    # The stored messages these parts carry (their delivery status follows the row's).
    message_ids: Mapped[list[Any]] = mapped_column(JSON)
    # pending (to send or retry), sent, or failed (given up, or refused for good).
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set while one gateway is sending it, so two replicas never send the same row.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # WeChat's last error code (None: a network error, or none at all).
    errcode: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
