"""Every route of the gateway, walked from its route table (issue 15, finding 9).

Each one requires the right credential; with it, out-of-range ids, oversized bodies and
out-of-range paging are a 4xx (never a 500); and a refused request stores nothing.
A new route fails here until it is classified below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.console.deps import COOKIE_NAME, CSRF_HEADER
from api.core.limits import LARGE_BODY_PATHS, MAX_BODY_BYTES
from api.main import create_app
from kb.pipeline import BuildOutcome
from support.settings import Settings
from support.storage import Base, session_factory
from tests.console.conftest import PASSWORD, Console, accounts_for, log_in
from tests.console.test_auth import _flatten
from tests.web.conftest import FakeRasa, Gateway

OPEN, BEARER, AGENT, SIGNATURE = "open", "bearer", "agent", "signature"
# Prometheus' /metrics: loopback callers or KEFU_METRICS_TOKEN (tests/web/test_metrics.py);
# the test client is neither, so it is refused with 403.
SCRAPE = "scrape"
# The routes that need no credential. Everything else under /api/chat/sessions/{id}
# needs the session's token, everything under /agent and /api/agent a console login,
# and the WeChat webhook WeChat's signature.
OPEN_ROUTES = {
    ("GET", "/"),
    ("GET", "/widget.js"),
    ("GET", "/widget.css"),
    ("GET", "/healthz"),
    ("GET", "/api/kb/query"),
    ("GET", "/api/kb/manifest"),
    ("POST", "/api/chat/sessions"),
    ("POST", "/api/agent/login"),
    ("GET", "/agent/assets/{name}"),
}
DOCS = ("/docs", "/redoc", "/openapi.json")
# Live event streams: only refused requests are made (an accepted one never ends).
STREAMS = {("GET", "/api/chat/sessions/{session_id}/events"), ("GET", "/api/agent/events")}

OUT_OF_RANGE_IDS = ["0", "-1", str(2**31), str(2**63), "9" * 20, "1e3", "abc"]
# Paging and counts in the query string.
OUT_OF_RANGE_QUERIES = {
    ("GET", "/api/agent/tickets"): [
        {"offset": "9" * 20},
        {"offset": -1},
        {"limit": "9" * 20},
        {"limit": 0},
        # PostgreSQL refuses NUL in text, even in a comparison: it was a 500 there.
        {"q": "a\x00"},
        {"sender_id": "\x00"},
        {"status": "new\x00"},
    ],
    ("GET", "/api/agent/analytics"): [{"days": "9" * 20}, {"days": 0}],
    ("GET", "/api/kb/query"): [{"q": "充值", "top_k": "9" * 20}, {"q": "长" * 1001}],
}
OVERSIZED = b'{"text": "' + b"a" * (65 * 1024) + b'"}'


def credential(method: str, path: str) -> str:
    if (method, path) in OPEN_ROUTES or path.startswith(DOCS):
        return OPEN
    if path.startswith("/api/chat/sessions/{session_id}"):
        return BEARER
    if path == "/agent" or path.startswith(("/agent/", "/api/agent/")):
        return AGENT
    if path == "/wechat":
        return SIGNATURE
    if (method, path) == ("GET", "/metrics"):
        return SCRAPE
    raise AssertionError(f"classify {method} {path} in tests/api/test_route_inputs.py")


def routes(gateway: Gateway) -> Iterator[tuple[str, str, Any]]:
    for route in _flatten(gateway.client.app.routes):  # type: ignore[attr-defined]
        for method in sorted(set(route.methods) - {"HEAD"}):
            yield method, route.path, route


def int_path_params(route: Any) -> set[str]:
    dependant = getattr(route, "dependant", None)
    params = dependant.path_params if dependant is not None else []
    return {param.name for param in params if param.field_info.annotation is int}


def stored_rows(gateway: Gateway) -> dict[str, int]:
    with session_factory(gateway.settings.database_url)() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


class Caller:
    """Requests with or without the route's credential, on one gateway."""

    def __init__(self, gateway: Gateway, admin: Console) -> None:
        self.gateway = gateway
        self.admin = admin
        body = gateway.client.post("/api/chat/sessions").json()
        self.session_id = body["session_id"]
        self.bearer = {"Authorization": f"Bearer {body['token']}"}

    def concrete(self, path: str, **values: str) -> str:
        values = {"session_id": self.session_id, "name": "console.js", **values}
        return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "1"), path)

    def headers(self, kind: str) -> dict[str, str]:
        if kind == BEARER:
            return self.bearer
        if kind == AGENT:
            return {
                "Cookie": f"{COOKIE_NAME}={self.admin.cookie}",
                CSRF_HEADER: self.admin.csrf_token,
            }
        return {}

    def request(
        self, method: str, path: str, *, kind: str = OPEN, **options: Any
    ) -> httpx.Response:
        self.gateway.client.cookies.clear()
        headers = self.headers(kind) | options.pop("headers", {})
        options.setdefault("json", {})
        return self.gateway.client.request(method, path, headers=headers, **options)


@pytest.fixture
def gateway(built: BuildOutcome, database_url: str) -> Iterator[Gateway]:
    """The test gateway, with WeChat configured (its webhook then checks signatures)."""
    rasa = FakeRasa()
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
        wechat_token="walk-token",
    )
    with TestClient(create_app(settings, dialogue=rasa)) as client:
        yield Gateway(client, rasa, settings)


@pytest.fixture
def caller(gateway: Gateway) -> Caller:
    accounts_for(gateway).add("root", PASSWORD, admin=True)
    return Caller(gateway, log_in(gateway, "root"))


def refused(caller: Caller, response: httpx.Response, before: dict[str, int], what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what} → {response.status_code} {response.text}"
    assert stored_rows(caller.gateway) == before, f"{what} stored something"


def test_every_route_is_classified(gateway: Gateway) -> None:
    kinds = {credential(method, path) for method, path, _ in routes(gateway)}
    assert kinds == {OPEN, BEARER, AGENT, SIGNATURE, SCRAPE}


def test_every_route_requires_its_credential(caller: Caller) -> None:
    checked = 0
    for method, path, _ in routes(caller.gateway):
        kind = credential(method, path)
        if kind == OPEN:
            continue
        before = stored_rows(caller.gateway)
        url = caller.concrete(path)
        none = caller.request(method, url)
        refused(caller, none, before, f"{method} {path} without a credential")
        assert none.status_code == (403 if kind in (SIGNATURE, SCRAPE) else 401), f"{method} {path}"
        # The wrong kind of credential is no better: a chat token on the console, a
        # console login on a chat session.
        other = AGENT if kind == BEARER else BEARER
        wrong = caller.request(method, url, kind=other)
        refused(caller, wrong, before, f"{method} {path} with the wrong credential")
        checked += 1
    # Another session's token does not open this one.
    stranger = caller.gateway.client.post("/api/chat/sessions").json()
    before = stored_rows(caller.gateway)
    for method, path, _ in routes(caller.gateway):
        if credential(method, path) == BEARER:
            response = caller.request(
                method,
                caller.concrete(path, session_id=stranger["session_id"]),
                json={"text": "冒充", "value": "up"},
            )
            assert response.status_code == 401
            refused(caller, response, before, f"{method} {path} on another session")
    assert checked >= 20


def test_out_of_range_ids_are_4xx_and_store_nothing(caller: Caller) -> None:
    checked = 0
    for method, path, route in routes(caller.gateway):
        kind = credential(method, path)
        ids = int_path_params(route)
        if not ids or kind == OPEN:
            continue
        for value in OUT_OF_RANGE_IDS:
            before = stored_rows(caller.gateway)
            url = caller.concrete(path, **dict.fromkeys(ids, value))
            body = {"text": "你好", "value": "up", "status": "processing", "note": "备注"}
            response = caller.request(method, url, kind=kind, json=body)
            refused(caller, response, before, f"{method} {url}")
            assert response.status_code in (404, 422), f"{method} {url}"
            checked += 1
    assert checked >= 8 * len(OUT_OF_RANGE_IDS)


def test_session_ids_of_any_shape_are_refused(caller: Caller) -> None:
    before = stored_rows(caller.gateway)
    for method, path, _ in routes(caller.gateway):
        if credential(method, path) != BEARER:
            continue
        for session_id in ("x" * 100, "0", "%00", "%E4%BD%A0", "..%2F..%2Fapi"):
            url = caller.concrete(path, session_id=session_id)
            response = caller.request(method, url, kind=BEARER, json={"text": "你好"})
            refused(caller, response, before, f"{method} {url}")


def test_oversized_bodies_are_413_and_store_nothing(caller: Caller) -> None:
    checked = 0
    for method, path, _ in routes(caller.gateway):
        if method == "GET" or (method, path) in STREAMS:
            continue
        kind = credential(method, path)
        before = stored_rows(caller.gateway)
        # File imports take more, but not without end.
        limit = LARGE_BODY_PATHS.get(path, MAX_BODY_BYTES)
        oversized = OVERSIZED if limit == MAX_BODY_BYTES else b"a" * (limit + 1024)
        response = caller.request(
            method,
            caller.concrete(path),
            kind=kind,
            json=None,
            content=oversized,
            headers={"Content-Type": "application/json"},
        )
        refused(caller, response, before, f"{method} {path} with {len(oversized)} bytes")
        assert response.status_code == 413, f"{method} {path}"
        checked += 1
    assert checked >= 10


def test_out_of_range_paging_is_422(caller: Caller) -> None:
    for (method, path), queries in OUT_OF_RANGE_QUERIES.items():
        kind = credential(method, path)
        for params in queries:
            before = stored_rows(caller.gateway)
            response = caller.request(method, path, kind=kind, params=params, json=None)
            refused(caller, response, before, f"{method} {path} {params}")
            assert response.status_code == 422, f"{method} {path} {params}"


def test_a_20_digit_message_id_in_feedback_is_422_not_500(caller: Caller) -> None:
    """The reproduction of finding 9: this was an OverflowError, a 500."""
    url = f"/api/chat/sessions/{caller.session_id}/messages/{'9' * 20}/feedback"
    response = caller.request("POST", url, kind=BEARER, json={"value": "up"})
    assert response.status_code == 422
    # In range but no such message: 404.
    url = f"/api/chat/sessions/{caller.session_id}/messages/{2**31 - 1}/feedback"
    assert caller.request("POST", url, kind=BEARER, json={"value": "up"}).status_code == 404


def test_huge_ids_in_the_console_are_422_not_500(caller: Caller) -> None:
    # 2**31: past PostgreSQL's INTEGER ids; 2**64: past SQLite's.
    for huge in (2**31, 2**64):
        for method, path in (
            ("GET", f"/api/agent/tickets/{huge}"),
            ("PATCH", f"/api/agent/tickets/{huge}"),
            ("GET", f"/api/agent/escalations/{huge}"),
            ("POST", f"/api/agent/escalations/{huge}/assign"),
            ("DELETE", f"/api/agent/suggestions/{huge}"),
        ):
            response = caller.request(method, path, kind=AGENT, json={"status": "processing"})
            assert response.status_code == 422, f"{method} {path}"
    listed = caller.request("GET", "/api/agent/tickets", kind=AGENT, params={"offset": 2**64})
    assert listed.status_code == 422


def test_nul_in_console_text_is_422_and_stores_nothing(caller: Caller) -> None:
    before = stored_rows(caller.gateway)
    for method, path, body in (
        ("POST", "/api/agent/escalations/1/messages", {"text": "您好\x00"}),
        ("PATCH", "/api/agent/tickets/1", {"note": "\x00"}),
        ("POST", "/api/agent/suggestions", {"query": "怎么\x00提现", "faq_id": "fees"}),
    ):
        response = caller.request(method, path, kind=AGENT, json=body)
        refused(caller, response, before, f"{method} {path} with NUL")
        assert response.status_code == 422, f"{method} {path}"
