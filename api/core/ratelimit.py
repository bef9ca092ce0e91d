"""A sliding-window limit per user: at most ``limit`` messages in ``window`` seconds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict, deque
from typing import Protocol

import redis.asyncio as redis_asyncio


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool:
        """Count one event for ``key``; False if it is over the limit (then not counted)."""
        ...


class InMemoryRateLimiter:
    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = asyncio.Lock()

    async def allow(self, key: str) -> bool:
        now = time.monotonic()
        async with self._lock:
            events = self._events[key]
            while events and now - events[0] >= self._window:
                events.popleft()
            if len(events) >= self._limit:
                return False
            events.append(now)
            return True


# Trim, count and add in one atomic step, so concurrent workers cannot both slip under.
_SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""


class RedisRateLimiter:
    """The same window in a Redis sorted set, shared by every gateway worker."""

    def __init__(self, url: str, limit: int, window: float, prefix: str = "kefu:rate:") -> None:
        self._redis = redis_asyncio.Redis.from_url(url)
        self._script = self._redis.register_script(_SLIDING_WINDOW)
        self._limit = limit
        self._window = window
        self._prefix = prefix

    async def allow(self, key: str) -> bool:
        now = time.time()
        allowed = await self._script(
            keys=[self._prefix + key],
            args=[now, self._window, self._limit, f"{now}:{uuid.uuid4().hex[:8]}"],
        )
        return bool(allowed)


def rate_limiter(redis_url: str | None, limit: int, window: float) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis_url, limit, window)
    return InMemoryRateLimiter(limit, window)
