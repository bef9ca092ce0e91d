"""The WeChat inbox: which callbacks have been seen, and the reply each one got.

WeChat retries a callback it got no answer to, up to three times. A row per message
(``msg:<openid>:<MsgId>``) or event (``event:<openid>:<CreateTime>``) makes sure each is
processed once and every retry gets the same reply. The sender is part of both keys, so
one user's MsgId can never claim another user's message (at most 4 + 64 + 1 + 20
characters, see api.wechat.protocol). Rows written before keyed ``msg:<MsgId>`` expire
within a day.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from support.storage import Base


class WechatInbox(Base):
    __tablename__ = "wechat_inbox"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    openid: Mapped[str] = mapped_column(String(128))
    # processing (claimed by a worker) or done (the reply below is final).
    status: Mapped[str] = mapped_column(String(16))
    # The passive reply's text; NULL means the reply was "success" (nothing, or sent later).
    reply: Mapped[str | None] = mapped_column(Text)
    # Until when the worker that claimed it owns it (renewed while it works); a
    # processing row past its lease was left by a crash and is taken over.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The callback's XML, kept only while it is processing so a takeover can redo it.
    payload: Mapped[str | None] = mapped_column(Text)
    # Old rows are purged after a day, long after WeChat stopped retrying.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
