"""Where the WeChat inbox lives: the database, or Redis when one is configured.

Like wechatpy's session storage, the service only sees a small interface
(`InboxStore`), so the backend is a deployment choice. The first request for a key
claims it and processes the message; retries read the reply it stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

import redis.asyncio as redis_asyncio
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from support.inbox.models import WechatInbox
from support.storage import transaction

# WeChat stops retrying after ~15 s; a day leaves room for clock skew and slow deliveries.
INBOX_TTL = timedelta(days=1)
PURGE_INTERVAL_SECONDS = 3600.0


class InboxStatus(StrEnum):
    PROCESSING = "processing"
    DONE = "done"


@dataclass(frozen=True)
class InboxEntry:
    openid: str
    status: InboxStatus
    # The passive reply's text; None means "success".
    reply: str | None


class InboxStore(Protocol):
    async def claim(self, key: str, openid: str) -> bool:
        """Mark ``key`` as being processed; False if another request claimed it first."""
        ...

    async def finish(self, key: str, reply: str | None) -> None:
        """Store the final passive reply for ``key`` (None: reply "success")."""
        ...

    async def get(self, key: str) -> InboxEntry | None: ...

    async def close(self) -> None: ...


class DatabaseInboxStore:
    """The ``wechat_inbox`` table; the primary key makes the claim atomic."""

    def __init__(self, sessions: sessionmaker[Session], ttl: timedelta = INBOX_TTL) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._last_purge = 0.0

    async def claim(self, key: str, openid: str) -> bool:
        return await asyncio.to_thread(self._claim, key, openid)

    async def finish(self, key: str, reply: str | None) -> None:
        await asyncio.to_thread(self._finish, key, reply)

    async def get(self, key: str) -> InboxEntry | None:
        return await asyncio.to_thread(self._get, key)

    async def close(self) -> None:
        return None

    def _claim(self, key: str, openid: str) -> bool:
        now = datetime.now(UTC)
        self._purge(now)
        try:
            with transaction(self._sessions) as session:
                session.add(
                    WechatInbox(
                        key=key,
                        openid=openid,
                        status=InboxStatus.PROCESSING.value,
                        reply=None,
                        created_at=now,
                    )
                )
        except IntegrityError:  # a retry of a message another request already has
            return False
        return True

    def _finish(self, key: str, reply: str | None) -> None:
        with transaction(self._sessions) as session:
            row = session.get(WechatInbox, key)
            if row is not None:
                row.status = InboxStatus.DONE.value
                row.reply = reply

    def _get(self, key: str) -> InboxEntry | None:
        with self._sessions() as session:
            row = session.scalar(select(WechatInbox).where(WechatInbox.key == key))
            if row is None:
                return None
            return InboxEntry(row.openid, InboxStatus(row.status), row.reply)

    def _purge(self, now: datetime) -> None:
        # At most hourly, so the table stays small without a separate job.
        if time.monotonic() - self._last_purge < PURGE_INTERVAL_SECONDS:
            return
        self._last_purge = time.monotonic()
        with transaction(self._sessions) as session:
            session.execute(delete(WechatInbox).where(WechatInbox.created_at < now - self._ttl))


class RedisInboxStore:
    """One key per callback: SET NX claims it, and the TTL cleans up."""

    def __init__(
        self, url: str, ttl: timedelta = INBOX_TTL, prefix: str = "kefu:wechat:inbox:"
    ) -> None:
        self._redis = redis_asyncio.Redis.from_url(url)
        self._ttl = int(ttl.total_seconds())
        self._prefix = prefix

    async def claim(self, key: str, openid: str) -> bool:
        value = {"openid": openid, "status": InboxStatus.PROCESSING.value, "reply": None}
        claimed = await self._redis.set(
            self._prefix + key, json.dumps(value, ensure_ascii=False), nx=True, ex=self._ttl
        )
        return bool(claimed)

    async def finish(self, key: str, reply: str | None) -> None:
        # Only the request that claimed the key writes it, so read-then-write is safe.
        entry = await self.get(key)
        value = {
            "openid": entry.openid if entry else "",
            "status": InboxStatus.DONE.value,
            "reply": reply,
        }
        await self._redis.set(
            self._prefix + key, json.dumps(value, ensure_ascii=False), ex=self._ttl
        )

    async def get(self, key: str) -> InboxEntry | None:
        raw = await self._redis.get(self._prefix + key)
        if raw is None:
            return None
        value = json.loads(raw)
        return InboxEntry(str(value["openid"]), InboxStatus(value["status"]), value["reply"])

    async def close(self) -> None:
        await self._redis.aclose()


def inbox_store(redis_url: str | None, sessions: sessionmaker[Session]) -> InboxStore:
    if redis_url:
        return RedisInboxStore(redis_url)
    return DatabaseInboxStore(sessions)
