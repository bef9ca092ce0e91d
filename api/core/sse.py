"""Server-sent events from an event-bus channel, streamed by sse-starlette.

The wire format is what the widget and the console listen for: an opening comment, then
``event: <name>`` / ``data: <json without "type">`` frames, and a comment every
``KEEP_ALIVE_SECONDS`` so proxies keep the connection open. sse-starlette notices the
browser leaving and cancels the stream, which ends the bus subscription.

A stream behind a credential that can end (a console login) passes ``still_allowed``:
it is asked before each event and every ``recheck_seconds`` while the channel is quiet,
and the stream ends as soon as it answers False, so a logout, an expired login or a
password reset cuts an open stream too, not only the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent

from support.events import Event, EventBus

KEEP_ALIVE_SECONDS = 15.0
# "\n" as before (sse-starlette's default is "\r\n"); both are valid SSE.
SEPARATOR = "\n"


def _event_type(event: Event) -> str:
    return str(event.get("type", "message"))


StillAllowed = Callable[[], Awaitable[bool]]


async def _while_allowed(
    incoming: AsyncIterator[Event], still_allowed: StillAllowed, recheck_seconds: float
) -> AsyncIterator[Event]:
    """``incoming`` until ``still_allowed`` says no: before each event, and on a timer."""
    iterator = aiter(incoming)
    # One pending read, kept across timer checks: cancelling it would end the subscription.
    pending: asyncio.Future[Event] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=recheck_seconds)
            # Asked when an event arrives, before it is delivered (nothing reaches a stream
            # whose credential ended), and after each quiet interval.
            if not await still_allowed():
                return
            if done:
                event, pending = pending.result(), None
                yield event
    except StopAsyncIteration:
        return
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending


def event_stream(
    bus: EventBus,
    channel: str,
    *,
    name: Callable[[Event], str] = _event_type,
    still_allowed: StillAllowed | None = None,
    recheck_seconds: float = 20.0,
) -> EventSourceResponse:
    """Stream ``channel`` as ``event: <name>`` / ``data: <json without "type">`` frames.

    With ``still_allowed``, the stream ends once it answers False (checked before each
    event and every ``recheck_seconds``).
    """

    async def frames() -> AsyncIterator[ServerSentEvent]:
        async with bus.subscribe(channel) as incoming:
            # Sent at once, so the browser's EventSource opens without waiting for an event.
            yield ServerSentEvent(comment="connected", sep=SEPARATOR)
            events = (
                incoming
                if still_allowed is None
                else _while_allowed(incoming, still_allowed, recheck_seconds)
            )
            async for event in events:
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
