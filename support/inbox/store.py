"""Where the WeChat inbox lives: the database, or Redis when one is configured.

Like wechatpy's session storage, the service only sees a small interface
(`InboxStore`), so the backend is a deployment choice. The first request for a key
claims it and processes the message; retries read the reply it stored.

A claim is a lease: the worker renews it while it works. If the worker dies (a crash,
``kill -9``, a restart), the lease runs out and any gateway takes the callback over
(`take_over_expired`) from the XML kept with the claim, so no message is left
"processing" forever. The XML is dropped as soon as the callback is done.
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
from sqlalchemy import delete, select, update
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


@dataclass(frozen=True)
class AbandonedClaim:
    """A callback whose worker stopped renewing its lease, now claimed by the caller."""

    key: str
    openid: str
    # The callback's XML, as it was claimed.
    payload: str


class InboxStore(Protocol):
    async def claim(self, key: str, openid: str, payload: str = "", lease: float = 30.0) -> bool:
        """Mark ``key`` as being processed for ``lease`` seconds; False if another request
        claimed it first. ``payload`` (the callback's XML) is kept until `finish`."""
        ...

    async def renew(self, key: str, lease: float) -> None:
        """Extend the claim on ``key`` (the worker is still on it)."""
        ...

    async def finish(self, key: str, reply: str | None) -> None:
        """Store the final passive reply for ``key`` (None: reply "success")."""
        ...

    async def take_over_expired(self, lease: float, limit: int = 20) -> list[AbandonedClaim]:
        """Claim, for ``lease`` seconds, callbacks still processing past their lease."""
        ...

    async def get(self, key: str) -> InboxEntry | None: ...

    async def close(self) -> None: ...


class DatabaseInboxStore:
    """The ``wechat_inbox`` table; the primary key makes the claim atomic."""

    def __init__(self, sessions: sessionmaker[Session], ttl: timedelta = INBOX_TTL) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._last_purge = 0.0

    async def claim(self, key: str, openid: str, payload: str = "", lease: float = 30.0) -> bool:
        return await asyncio.to_thread(self._claim, key, openid, payload, lease)

    async def renew(self, key: str, lease: float) -> None:
        await asyncio.to_thread(self._renew, key, lease)

    async def finish(self, key: str, reply: str | None) -> None:
        await asyncio.to_thread(self._finish, key, reply)

    async def take_over_expired(self, lease: float, limit: int = 20) -> list[AbandonedClaim]:
        return await asyncio.to_thread(self._take_over_expired, lease, limit)

    async def get(self, key: str) -> InboxEntry | None:
        return await asyncio.to_thread(self._get, key)

    async def close(self) -> None:
        return None

    def _claim(self, key: str, openid: str, payload: str, lease: float) -> bool:
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
                        lease_until=now + timedelta(seconds=lease),
                        payload=payload or None,
                        created_at=now,
                    )
                )
        except IntegrityError:  # a retry of a message another request already has
            return False
        return True

    def _renew(self, key: str, lease: float) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(WechatInbox)
                .where(WechatInbox.key == key, WechatInbox.status == InboxStatus.PROCESSING.value)
                .values(lease_until=datetime.now(UTC) + timedelta(seconds=lease))
            )

    def _finish(self, key: str, reply: str | None) -> None:
        with transaction(self._sessions) as session:
            row = session.get(WechatInbox, key)
            if row is not None:
                row.status = InboxStatus.DONE.value
                row.reply = reply
                row.payload = None  # the user's words live on in the (redacted) transcript
                row.lease_until = None

    def _take_over_expired(self, lease: float, limit: int) -> list[AbandonedClaim]:
        now = datetime.now(UTC)
        with self._sessions() as session:
            rows = session.execute(
                select(
                    WechatInbox.key,
                    WechatInbox.openid,
                    WechatInbox.payload,
                    WechatInbox.lease_until,
                )
                .where(
                    WechatInbox.status == InboxStatus.PROCESSING.value,
                    WechatInbox.lease_until < now,
                    WechatInbox.payload.is_not(None),
                )
                .order_by(WechatInbox.created_at)
                .limit(limit)
            ).all()
        taken: list[AbandonedClaim] = []
        for key, openid, payload, expired in rows:
            # Compare-and-set on the old lease: of two gateways, exactly one gets it.
            with transaction(self._sessions) as session:
                result = session.execute(
                    update(WechatInbox)
                    .where(
                        WechatInbox.key == key,
                        WechatInbox.status == InboxStatus.PROCESSING.value,
                        WechatInbox.lease_until == expired,
                    )
                    .values(lease_until=now + timedelta(seconds=lease))
                )
            if getattr(result, "rowcount", 0) == 1:
                taken.append(AbandonedClaim(key, openid, payload or ""))
        return taken

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


# Takes over a lease only if it is still the expired one the caller saw (atomic in Redis).
_TAKE_OVER = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


class RedisInboxStore:
    """One key per callback: SET NX claims it, and the TTL cleans up. The leases of the
    callbacks being processed are scores in one sorted set (key -> lease end)."""

    def __init__(
        self, url: str, ttl: timedelta = INBOX_TTL, prefix: str = "kefu:wechat:inbox:"
    ) -> None:
        self._redis = redis_asyncio.Redis.from_url(url)
        self._ttl = int(ttl.total_seconds())
        self._prefix = prefix
        self._leases = prefix + "leases"
        self._take_over = self._redis.register_script(_TAKE_OVER)

    async def claim(self, key: str, openid: str, payload: str = "", lease: float = 30.0) -> bool:
        value = {
            "openid": openid,
            "status": InboxStatus.PROCESSING.value,
            "reply": None,
            "payload": payload or None,
        }
        claimed = await self._redis.set(
            self._prefix + key, json.dumps(value, ensure_ascii=False), nx=True, ex=self._ttl
        )
        if claimed:
            await self._redis.zadd(self._leases, {key: time.time() + lease})
        return bool(claimed)

    async def renew(self, key: str, lease: float) -> None:
        await self._redis.zadd(self._leases, {key: time.time() + lease}, xx=True)

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
        await self._redis.zrem(self._leases, key)

    async def take_over_expired(self, lease: float, limit: int = 20) -> list[AbandonedClaim]:
        now = time.time()
        expired = await self._redis.zrangebyscore(self._leases, "-inf", now, start=0, num=limit)
        taken: list[AbandonedClaim] = []
        for raw_key in expired:
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            raw = await self._redis.get(self._prefix + key)
            if raw is None:  # expired with its TTL: nothing left to redo
                await self._redis.zrem(self._leases, key)
                continue
            value = json.loads(raw)
            if value.get("status") != InboxStatus.PROCESSING.value or not value.get("payload"):
                await self._redis.zrem(self._leases, key)
                continue
            if await self._take_over(keys=[self._leases], args=[key, now, now + lease]):
                taken.append(AbandonedClaim(key, str(value["openid"]), str(value["payload"])))
        return taken

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
