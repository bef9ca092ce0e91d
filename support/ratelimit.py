"""A sliding-window limit per user: at most ``limit`` messages in ``window`` seconds."""

from __future__ import annotations

import asyncio
import math
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


class FailureCounter(Protocol):
    """Counts failures (wrong passwords) per key; a key over the limit is locked out."""

    async def locked(self, key: str) -> bool: ...

    async def fail(self, key: str) -> None: ...

    async def clear(self, key: str) -> None: ...


class InMemoryFailureCounter:
    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        now = time.monotonic()
        failures = self._failures[key]
        while failures and now - failures[0] >= self._window:
            failures.popleft()
        return failures

    async def locked(self, key: str) -> bool:
        return len(self._recent(key)) >= self._limit

    async def fail(self, key: str) -> None:
        self._recent(key).append(time.monotonic())

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class RedisFailureCounter:
    """A fixed window per key in Redis, shared by every gateway worker."""

    def __init__(self, url: str, limit: int, window: float, prefix: str = "kefu:fail:") -> None:
        self._redis = redis_asyncio.Redis.from_url(url)
        self._limit = limit
        self._window = window
        self._prefix = prefix

    async def locked(self, key: str) -> bool:
        count = await self._redis.get(self._prefix + key)
        return count is not None and int(count) >= self._limit

    async def fail(self, key: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, math.ceil(self._window), nx=True)
            await pipe.execute()

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


def failure_counter(redis_url: str | None, limit: int, window: float) -> FailureCounter:
    if redis_url:
        return RedisFailureCounter(redis_url, limit, window)
    return InMemoryFailureCounter(limit, window)
