"""Rate limits and login lock-outs, on the ``limits`` library's moving window.

In one process the counts live in memory; with KEFU_REDIS_URL they live in Redis
(through redis-py), so every gateway worker shares them. ``limits`` counts in whole
seconds: a fractional window is rounded up.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

KEY_PREFIX = "kefu"


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool:
        """Count one event for ``key``; False if it is over the limit (then not counted)."""
        ...

    async def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may have one more event (at least 1): Retry-After."""
        ...


class FailureCounter(Protocol):
    """Counts failures (wrong passwords) per key; a key over the limit is locked out."""

    async def locked(self, key: str) -> bool: ...

    async def fail(self, key: str) -> None: ...

    async def clear(self, key: str) -> None: ...


def _storage(redis_url: str | None) -> Storage:
    if redis_url:
        # redis-py, which the gateway uses anyway, rather than limits' default (coredis).
        return RedisStorage(
            f"async+{redis_url.removeprefix('async+')}",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
        )
    return MemoryStorage()


def _per_window(limit: int, window: float, namespace: str) -> RateLimitItem:
    return RateLimitItemPerSecond(limit, max(1, math.ceil(window)), namespace=namespace)


class MovingWindowLimiter:
    """At most ``limit`` events per key in any ``window`` seconds."""

    def __init__(self, storage: Storage, limit: int, window: float) -> None:
        self._strategy = MovingWindowRateLimiter(storage)
        self._item = _per_window(limit, window, "rate")

    async def allow(self, key: str) -> bool:
        return await self._strategy.hit(self._item, key)

    async def retry_after(self, key: str) -> int:
        stats = await self._strategy.get_window_stats(self._item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


class MovingWindowFailureCounter:
    """A key is locked once it has ``limit`` failures within ``window`` seconds."""

    def __init__(self, storage: Storage, limit: int, window: float) -> None:
        self._strategy = MovingWindowRateLimiter(storage)
        self._item = _per_window(limit, window, "fail")

    async def locked(self, key: str) -> bool:
        # test(): would one more failure still fit? No means the limit is reached.
        return not await self._strategy.test(self._item, key)

    async def fail(self, key: str) -> None:
        await self._strategy.hit(self._item, key)

    async def clear(self, key: str) -> None:
        await self._strategy.clear(self._item, key)


def rate_limiter(redis_url: str | None, limit: int, window: float) -> RateLimiter:
    return MovingWindowLimiter(_storage(redis_url), limit, window)


def failure_counter(redis_url: str | None, limit: int, window: float) -> FailureCounter:
    return MovingWindowFailureCounter(_storage(redis_url), limit, window)
