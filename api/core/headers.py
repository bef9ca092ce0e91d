"""Response headers that belong to whole areas of the gateway rather than to one route."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response under the given path prefixes.

    For the agent API (and the chat API): what it returns is people's conversations,
    tickets and contact details, which no browser cache or proxy should keep. A
    middleware rather than a dependency, so responses that routes build themselves
    (204s, event streams, errors) get it too.
    """

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, no_store)
