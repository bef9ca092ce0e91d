"""Which signed WeChat callbacks have been seen: each timestamp and nonce is used once.

A callback's signature covers its timestamp and nonce. Remembered for as long as the
timestamp is accepted, they cannot be used again with another body: that is a replay
(in plaintext mode, the body is not signed at all). The same body again is WeChat
retrying, which the inbox answers with the stored reply, so it is let through.

In one process the nonces live in memory; with KEFU_REDIS_URL in Redis (SET NX EX),
so that a callback refused by one gateway replica is refused by every other.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as redis_asyncio


class NonceStore(Protocol):
    async def first_use(self, key: str, fingerprint: str, ttl: float) -> bool:
        """Remember ``key`` for ``ttl`` seconds; False if it was seen with another fingerprint."""
        ...

    async def close(self) -> None: ...


class MemoryNonceStore:
    """A dict in insertion order: the oldest entries expire first and are purged from the front."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def first_use(self, key: str, fingerprint: str, ttl: float) -> bool:
        # No await in here: in one event loop the check and the insert are atomic.
        now = self._clock()
        self._purge(now)
        seen = self._seen.get(key)
        if seen is not None and seen[1] > now:
            return seen[0] == fingerprint
        self._seen[key] = (fingerprint, now + ttl)
        self._seen.move_to_end(key)
        return True

    def _purge(self, now: float) -> None:
        while self._seen:
            _, (_, expires) = next(iter(self._seen.items()))
            if expires > now:
                return
            self._seen.popitem(last=False)

    async def close(self) -> None:
        return None


class RedisNonceStore:
    def __init__(self, url: str, prefix: str = "kefu:wechat:nonce:") -> None:
        self._redis = redis_asyncio.Redis.from_url(url)
        self._prefix = prefix

    async def first_use(self, key: str, fingerprint: str, ttl: float) -> bool:
        name = self._prefix + key
        if await self._redis.set(name, fingerprint, nx=True, ex=max(1, math.ceil(ttl))):
            return True
        seen = await self._redis.get(name)
        # None: it expired in between, so the timestamp is already out of the window.
        return seen is None or seen == fingerprint.encode()

    async def close(self) -> None:
        await self._redis.aclose()


def nonce_store(redis_url: str | None) -> NonceStore:
    if redis_url:
        return RedisNonceStore(redis_url)
    return MemoryNonceStore()
