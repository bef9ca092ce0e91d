"""The gateway's error handling: one handler answers the whole KefuError family."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.errors import install_error_handlers
from support.errors import KefuError, NotFoundError, RateLimitedError, UnavailableError
from support.knowledge.service import KnowledgeBusyError, KnowledgeUnavailableError
from support.tickets.models import TicketStatus
from support.tickets.service import (
    TicketNotFoundError,
    TicketTransitionError,
    TicketUpdateError,
)


def _client(error: Exception) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail")
    def fail() -> None:
        raise error

    return TestClient(app)


def _answer(error: Exception) -> tuple[int, object, dict[str, str]]:
    response = _client(error).get("/fail")
    return response.status_code, response.json(), dict(response.headers)


def test_a_kefu_error_is_answered_with_its_status_and_message() -> None:
    status, body, _ = _answer(NotFoundError("没有找到这条回答。"))
    assert (status, body) == (404, {"detail": "没有找到这条回答。"})


def test_the_default_message_is_used_when_none_is_given() -> None:
    status, body, _ = _answer(UnavailableError())
    assert (status, body) == (503, {"detail": UnavailableError.default_message})


def test_headers_travel_with_the_error() -> None:
    status, _, headers = _answer(RateLimitedError("太快了", headers={"Retry-After": "60"}))
    assert status == 429
    assert headers["retry-after"] == "60"


def test_ticket_errors_keep_their_statuses_and_wording() -> None:
    assert _answer(TicketNotFoundError(7))[:2] == (404, {"detail": "工单 7 不存在。"})
    status, body, _ = _answer(TicketTransitionError(TicketStatus.CLOSED, TicketStatus.NEW))
    assert status == 409
    assert body == {"detail": "工单状态不能从「已关闭」改为「新建」：已关闭的工单不能再修改状态。"}
    assert _answer(TicketUpdateError("备注不能为空。"))[:2] == (422, {"detail": "备注不能为空。"})


def test_knowledge_errors_keep_their_statuses_and_wording() -> None:
    unavailable = KnowledgeUnavailableError("知识库尚未加载")
    assert str(unavailable) == "知识库尚未加载"  # what the admin's KB panel shows
    assert _answer(unavailable)[:2] == (503, {"detail": "知识库暂不可用：知识库尚未加载"})
    busy = KnowledgeBusyError("知识库正在重建，请稍后")
    assert _answer(busy)[:2] == (409, {"detail": "知识库正在重建，请稍后"})


def test_other_exceptions_are_not_kefu_errors() -> None:
    assert not issubclass(ValueError, KefuError)
    response = TestClient(_client(ValueError("boom")).app, raise_server_exceptions=False).get(
        "/fail"
    )
    assert response.status_code == 500
