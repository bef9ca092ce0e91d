"""The REST channel: only the gateway may post, and secrets are redacted on the way in.

Registered under the name "rest", so the webhook stays /webhooks/rest/webhook. Every
request must carry ``Authorization: Bearer <KEFU_RASA_TOKEN>`` (credentials.yml), which
the gateway's RasaClient sends: any other local process could otherwise speak in any
user's name. The gateway redacts too; this, and kefu_rasa.redaction for every other
way in, keep the tracker store free of secrets for any client of Rasa.

The gateway sends each turn's request id (``X-Request-ID``, and ``request_id`` in the
metadata, which reaches the action server in the tracker): every line Rasa logs while
it processes the turn starts with it, so one turn can be followed through every log.
"""

from __future__ import annotations

import hmac
import logging
import re
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from guard import scan
from kefu_rasa import redaction

redaction.install()

REFUSED = "Rasa 的 REST 通道只接受 Kefu 网关的请求：缺少或错误的令牌（KEFU_RASA_TOKEN）。"
REQUEST_ID_HEADER = "X-Request-ID"
# As the gateway accepts them (support.logs): nothing that could forge a log line.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# The id of the turn this task is processing.
turn_request_id: ContextVar[Optional[str]] = ContextVar("kefu_turn_request_id", default=None)
logger = logging.getLogger(__name__)


def _install_request_id_logging() -> None:
    """Start every log record created during a turn with the turn's id (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_kefu", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        current = turn_request_id.get()
        record.request_id = current or "-"
        if current:
            record.msg = f"[{current}] {record.msg}"
        return record

    factory._kefu = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_request_id_logging()


def is_authorised(header: Optional[Text], token: Text) -> bool:
    """Whether ``header`` is ``Bearer <token>``, compared in constant time."""
    return hmac.compare_digest((header or "").encode(), f"Bearer {token}".encode())


class RedactingRestInput(RestInput):
    def __init__(self, token: Text) -> None:
        if not token:
            raise ValueError("REST 通道需要令牌：请设置 KEFU_RASA_TOKEN。")
        self.token = token

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RedactingRestInput":
        return cls(str((credentials or {}).get("token") or ""))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        # Runs before every route of this blueprint (the health check and the webhook).
        @webhook.middleware("request")
        async def require_gateway(request: Request) -> Optional[HTTPResponse]:
            if is_authorised(request.headers.get("authorization"), self.token):
                given = request.headers.get(REQUEST_ID_HEADER) or ""
                # Set in the request's task: Rasa processes the message inside it.
                turn_request_id.set(given if _ACCEPTED_ID.fullmatch(given) else None)
                if request.method == "POST":
                    logger.info("收到网关的一轮对话")
                return None
            return response.json(
                {"error": REFUSED}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )

        return webhook

    def _extract_message(self, req: Request) -> Optional[Text]:
        text = super()._extract_message(req)
        return scan(text).text if isinstance(text, str) else text

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        body = request.json or {}
        metadata = dict(body.get("metadata") or {})
        text = body.get("message")
        if isinstance(text, str):
            found = scan(text)
            if found.found:
                metadata["redacted"] = list(found.kinds)
        return metadata or None
