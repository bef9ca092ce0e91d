"""support.ratelimit on the limits library: in memory, and in Redis when the tests have one."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from support.ratelimit import failure_counter, rate_limiter
from tests.conftest import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("KEFU_TEST_REDIS_URL is not set")
    return REDIS_URL if request.param == "redis" else None


def _key() -> str:
    # Unique per test: Redis keeps counts between runs.
    return f"test-{uuid.uuid4().hex}"


async def test_the_limit_holds_per_key_and_frees_up_after_the_window(
    redis_url: str | None,
) -> None:
    limiter = rate_limiter(redis_url, limit=3, window=1)
    key, other = _key(), _key()
    assert [await limiter.allow(key) for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow(other)  # keys are counted apart
    await asyncio.sleep(1.1)
    assert await limiter.allow(key)


async def test_a_refused_event_is_not_counted(redis_url: str | None) -> None:
    limiter = rate_limiter(redis_url, limit=2, window=1)
    key = _key()
    assert await limiter.allow(key)
    await asyncio.sleep(0.6)
    assert await limiter.allow(key)
    assert not await limiter.allow(key)
    # The first event has left the window; the refused one never entered it.
    await asyncio.sleep(0.5)
    assert await limiter.allow(key)


async def test_failures_lock_a_key_until_cleared(redis_url: str | None) -> None:
    failures = failure_counter(redis_url, limit=3, window=60)
    key, other = _key(), _key()
    for _ in range(2):
        await failures.fail(key)
    assert not await failures.locked(key)
    await failures.fail(key)
    assert await failures.locked(key)
    assert not await failures.locked(other)
    await failures.clear(key)
    assert not await failures.locked(key)


async def test_a_lock_out_ends_with_its_window(redis_url: str | None) -> None:
    failures = failure_counter(redis_url, limit=2, window=1)
    key = _key()
    await failures.fail(key)
    await failures.fail(key)
    assert await failures.locked(key)
    await asyncio.sleep(1.1)
    assert not await failures.locked(key)


async def test_retry_after_says_when_the_next_event_fits(redis_url: str | None) -> None:
    limiter = rate_limiter(redis_url, limit=1, window=30)
    key = _key()
    assert await limiter.allow(key)
    assert not await limiter.allow(key)
    assert 1 <= await limiter.retry_after(key) <= 30
