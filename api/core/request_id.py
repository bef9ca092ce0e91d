"""Every request gets an id: the caller's ``X-Request-ID`` when it is usable, or a new
one. It is in the response's header and in every log line written while the request is
handled (support.logs), and goes on to Rasa and the action server with a chat turn
(support.dialogue), so one turn can be followed through every process's logs.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from support.logs import (
    REQUEST_ID_HEADER,
    accepted_request_id,
    install_record_factory,
    new_request_id,
    request_context,
)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        install_record_factory()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = accepted_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        request_id = given or new_request_id()

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with request_context(request_id):
            await self.app(scope, receive, with_id)
