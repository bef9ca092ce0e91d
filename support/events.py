"""Live events (agent replies, state changes, new escalations) for SSE streams.

In one process an in-memory bus is enough; with KEFU_REDIS_URL several gateway
workers share events through Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as redis_asyncio

Event = dict[str, Any]


class EventBus(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """``async with bus.subscribe(ch) as events: async for event in events: ...``"""
        ...

    async def close(self) -> None: ...


class InMemoryEventBus:
    def __init__(self) -> None:
        self._queues: defaultdict[str, set[asyncio.Queue[Event]]] = defaultdict(set)

    async def publish(self, channel: str, event: Event) -> None:
        for queue in list(self._queues.get(channel, ())):
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues[channel].add(queue)

        async def events() -> AsyncIterator[Event]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            self._queues[channel].discard(queue)
            if not self._queues[channel]:
                del self._queues[channel]

    async def close(self) -> None:
        self._queues.clear()


class RedisEventBus:
    def __init__(self, url: str, prefix: str = "kefu:events:") -> None:
        self._redis = redis_asyncio.Redis.from_url(url)
        self._prefix = prefix

    async def publish(self, channel: str, event: Event) -> None:
        await self._redis.publish(self._prefix + channel, json.dumps(event, ensure_ascii=False))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._prefix + channel)

        async def events() -> AsyncIterator[Event]:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield json.loads(message["data"])

        try:
            yield events()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()

    async def close(self) -> None:
        await self._redis.aclose()


def event_bus(redis_url: str | None) -> EventBus:
    return RedisEventBus(redis_url) if redis_url else InMemoryEventBus()
