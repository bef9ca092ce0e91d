"""CORS for the chat API only: pages on the wallet's own sites (KEFU_WIDGET_ORIGINS)
embed the widget and call ``/api/chat/`` from the browser, event stream included.

Nothing else of the gateway answers other origins: the agent console, the WeChat webhook
and the KB routes stay same-origin. The widget authenticates with a bearer token in a
header (and in the event stream's query, which EventSource cannot give headers), never a
cookie, so credentials are not allowed: a browser then sends no cookie of the gateway's
along either. An origin that is not listed gets no CORS headers (the browser blocks the
response), and its preflight a 400.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from support.logs import REQUEST_ID_HEADER

CHAT_PREFIX = "/api/chat/"
# A day: browsers cap it lower anyway (Chromium at 2 hours).
PREFLIGHT_MAX_AGE = 86_400


class ChatCorsMiddleware:
    """Starlette's CORSMiddleware, applied to the chat API's paths and nothing else."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept", REQUEST_ID_HEADER],
            expose_headers=["Retry-After", REQUEST_ID_HEADER],
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE,
        )
        self.enabled = bool(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and str(scope["path"]).startswith(CHAT_PREFIX):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
