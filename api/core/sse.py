"""Server-sent events from an event-bus channel, streamed by sse-starlette.

The wire format is what the widget and the console listen for: an opening comment, then
``event: <name>`` / ``data: <json without "type">`` frames, and a comment every
``KEEP_ALIVE_SECONDS`` so proxies keep the connection open. sse-starlette notices the
browser leaving and cancels the stream, which ends the bus subscription.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent

from support.events import Event, EventBus

KEEP_ALIVE_SECONDS = 15.0
# "\n" as before (sse-starlette's default is "\r\n"); both are valid SSE.
SEPARATOR = "\n"


def _event_type(event: Event) -> str:
    return str(event.get("type", "message"))


def event_stream(
    bus: EventBus,
    channel: str,
    *,
    name: Callable[[Event], str] = _event_type,
) -> EventSourceResponse:
    """Stream ``channel`` as ``event: <name>`` / ``data: <json without "type">`` frames."""

    async def frames() -> AsyncIterator[ServerSentEvent]:
        async with bus.subscribe(channel) as incoming:
            # Sent at once, so the browser's EventSource opens without waiting for an event.
            yield ServerSentEvent(comment="connected", sep=SEPARATOR)
            async for event in incoming:
                data = {key: value for key, value in event.items() if key != "type"}
                yield ServerSentEvent(
                    json.dumps(data, ensure_ascii=False), event=name(event), sep=SEPARATOR
                )

    return EventSourceResponse(
        frames(),
        ping=KEEP_ALIVE_SECONDS,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep=SEPARATOR),
        sep=SEPARATOR,
        headers={"Cache-Control": "no-cache"},
    )
