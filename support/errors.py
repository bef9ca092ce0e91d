"""One base error for everything a user or an agent can be told about.

Each carries the HTTP status the gateway answers with and a message in Chinese; the
gateway has a single exception handler for the whole family (api.core.errors), so
routes raise these and never translate exceptions themselves.
"""

from __future__ import annotations

from typing import ClassVar


class KefuError(Exception):
    status_code: ClassVar[int] = 400
    default_message: ClassVar[str] = "请求无法处理。"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)

    def payload(self) -> dict[str, object]:
        """The JSON body the gateway answers with; subclasses add what a client acts on."""
        return {"detail": self.message}


class InvalidInputError(KefuError):
    status_code = 422
    default_message = "输入的内容不正确。"


class NotFoundError(KefuError):
    status_code = 404
    default_message = "没有找到。"


class ConflictError(KefuError):
    status_code = 409
    default_message = "状态已变化，请刷新后重试。"


class RateLimitedError(KefuError):
    status_code = 429
    default_message = "操作太频繁，请稍后再试。"


class UnavailableError(KefuError):
    status_code = 503
    default_message = "服务暂时不可用，请稍后再试。"
