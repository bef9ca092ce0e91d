"""Log lines that say which turn they belong to, optionally as JSON.

A turn's request id (the caller's ``X-Request-ID``, or one the gateway makes up) lives in
a context variable: the gateway sets it per request, passes it to Rasa in the REST
channel's metadata and header, Rasa hands the metadata to the action server in the
tracker, and the action server sets it again. Every log record created meanwhile carries
it as ``record.request_id`` (a log record factory, so records of every library get it,
whichever handler prints them).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
# What a request id carried into the logs may look like: no spaces, quotes or newlines.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# Outside any request (start-up, background work).
NO_REQUEST = "-"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_HANDLER_MARK = "_kefu_handler"

request_id_var: ContextVar[str] = ContextVar("kefu_request_id", default=NO_REQUEST)


def current_request_id() -> str | None:
    found = request_id_var.get()
    return None if found == NO_REQUEST else found


def accepted_request_id(candidate: object) -> str | None:
    """``candidate`` if it is a usable request id, else None (one is then generated)."""
    if isinstance(candidate, str) and _ACCEPTED_ID.fullmatch(candidate):
        return candidate
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def request_context(request_id: str) -> Iterator[str]:
    """Everything logged inside carries ``request_id``."""
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


def install_record_factory() -> None:
    """Give every log record a ``request_id`` attribute (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_kefu", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    factory._kefu = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, request id, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(json_logs: bool) -> logging.Formatter:
    return JsonFormatter() if json_logs else logging.Formatter(TEXT_FORMAT)


def configure_logging(*, json_logs: bool, level: str = "INFO") -> None:
    """A process's logging: one stderr handler on the root logger, text or JSON, each
    line with its request id. Called by the process entry points, not by libraries or
    tests; calling it again only changes the format."""
    install_record_factory()
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, _HANDLER_MARK, False)]
    handler = ours[0] if ours else logging.StreamHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(formatter(json_logs))
    if not ours:
        root.addHandler(handler)
    root.setLevel(level.upper())
