"""Server-sent events from an event-bus channel, with keep-alives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from fastapi import Request
from fastapi.responses import StreamingResponse

from support.events import Event, EventBus

KEEP_ALIVE_SECONDS = 15.0


def event_stream(
    request: Request,
    bus: EventBus,
    channel: str,
    *,
    name: Callable[[Event], str] = lambda event: str(event.get("type", "message")),
) -> StreamingResponse:
    """Stream ``channel`` as ``event: <name>`` / ``data: <json without "type">`` frames."""

    async def frames() -> AsyncIterator[str]:
        async with bus.subscribe(channel) as incoming:
            yield ": connected\n\n"
            iterator = aiter(incoming)
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(anext(iterator), KEEP_ALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                data = {key: value for key, value in event.items() if key != "type"}
                yield f"event: {name(event)}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
