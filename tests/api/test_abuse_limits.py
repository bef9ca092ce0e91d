"""Abuse limits per client address on the public endpoints (issue 15, finding 7).

Session creation, the KB query and the web chat routes are counted per address (and the
reads of a session per session); over the limit they answer a Chinese 429 with
Retry-After and store nothing. With Redis the counts hold across gateway replicas.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from kb.pipeline import BuildOutcome
from support.conversations.models import Conversation
from support.settings import Settings
from support.storage import session_factory
from tests.conftest import REDIS_URL
from tests.web.conftest import FakeRasa


def _settings(built: BuildOutcome, database_url: str, **overrides: Any) -> Settings:
    return Settings(
        index_dir=built.directory.parent,
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
        **overrides,
    )


@contextmanager
def _client(settings: Settings, address: str = "203.0.113.7") -> Iterator[TestClient]:
    with TestClient(create_app(settings, dialogue=FakeRasa()), client=(address, 40000)) as client:
        yield client


def _conversations(settings: Settings) -> int:
    with session_factory(settings.database_url)() as session:
        return session.scalar(select(func.count()).select_from(Conversation)) or 0


def _assert_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert "太频繁" in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1


def test_300_sessions_from_one_address_are_refused_after_the_limit(
    built: BuildOutcome, database_url: str
) -> None:
    settings = _settings(built, database_url)  # the default limits
    limit = settings.address_session_limit
    assert limit < 300
    with _client(settings) as client:
        statuses = [client.post("/api/chat/sessions").status_code for _ in range(300)]
        assert statuses[:limit] == [201] * limit
        assert set(statuses[limit:]) == {429}
        refused = client.post("/api/chat/sessions")
        _assert_limited(refused)
        assert refused.json()["detail"] == "新建会话太频繁，请稍后再试。"
        assert _conversations(settings) == limit  # nothing stored when refused
    # Another address is not affected.
    with _client(settings, address="198.51.100.20") as other:
        assert other.post("/api/chat/sessions").status_code == 201


def test_the_kb_query_is_limited_per_address(built: BuildOutcome, database_url: str) -> None:
    settings = _settings(built, database_url, address_kb_query_limit=5)
    with _client(settings) as client:
        for _ in range(5):
            assert client.get("/api/kb/query", params={"q": "怎么提现"}).status_code == 200
        _assert_limited(client.get("/api/kb/query", params={"q": "怎么提现"}))
    with _client(settings, address="198.51.100.20") as other:
        assert other.get("/api/kb/query", params={"q": "怎么提现"}).status_code == 200


def test_chat_requests_are_limited_per_address_across_sessions(
    built: BuildOutcome, database_url: str
) -> None:
    """Many sessions from one address cannot multiply the per-conversation limit."""
    settings = _settings(built, database_url, address_chat_limit=6)
    with _client(settings) as client:
        sessions = [client.post("/api/chat/sessions").json() for _ in range(4)]
        statuses = []
        for body in sessions:
            headers = {"Authorization": f"Bearer {body['token']}"}
            url = f"/api/chat/sessions/{body['session_id']}/messages"
            statuses.append(client.post(url, json={"text": "你好"}, headers=headers).status_code)
            statuses.append(client.get(url, headers=headers).status_code)
        assert statuses == [200] * 6 + [429, 429]
        last = sessions[-1]
        history = client.get(
            f"/api/chat/sessions/{last['session_id']}/messages",
            headers={"Authorization": f"Bearer {last['token']}"},
        )
        _assert_limited(history)


def test_reads_are_limited_per_session(built: BuildOutcome, database_url: str) -> None:
    settings = _settings(built, database_url, session_read_limit=3)
    with _client(settings) as client:
        body = client.post("/api/chat/sessions").json()
        headers = {"Authorization": f"Bearer {body['token']}"}
        url = f"/api/chat/sessions/{body['session_id']}/messages"
        assert [client.get(url, headers=headers).status_code for _ in range(3)] == [200] * 3
        _assert_limited(client.get(url, headers=headers))
        # Sending still works: messages have their own per-conversation limit.
        assert client.post(url, json={"text": "你好"}, headers=headers).status_code == 200


def test_the_per_conversation_limit_says_when_to_retry(
    built: BuildOutcome, database_url: str
) -> None:
    settings = _settings(built, database_url, chat_rate_limit=2)
    with _client(settings) as client:
        body = client.post("/api/chat/sessions").json()
        headers = {"Authorization": f"Bearer {body['token']}"}
        url = f"/api/chat/sessions/{body['session_id']}/messages"
        for _ in range(2):
            assert client.post(url, json={"text": "你好"}, headers=headers).status_code == 200
        refused = client.post(url, json={"text": "你好"}, headers=headers)
        _assert_limited(refused)
        assert refused.json()["detail"] == "发送太频繁，请稍后再试。"


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    built: BuildOutcome, database_url: str
) -> None:
    untrusted = _settings(built, database_url, address_session_limit=2)
    with _client(untrusted, address="10.0.0.5") as client:
        # A client cannot pick a new address per request by writing the header itself.
        for n in range(2):
            forged = {"X-Forwarded-For": f"192.0.2.{n}"}
            assert client.post("/api/chat/sessions", headers=forged).status_code == 201
        _assert_limited(client.post("/api/chat/sessions", headers={"X-Forwarded-For": "192.0.2.9"}))

    proxied = _settings(
        built, database_url, address_session_limit=2, trusted_proxies="10.0.0.0/8, ::1"
    )
    with _client(proxied, address="10.0.0.5") as proxy:
        # nginx appends the peer it saw; whatever the client wrote is further left.
        for client_address in ("192.0.2.1", "192.0.2.2"):
            for _ in range(2):
                headers = {"X-Forwarded-For": f"6.6.6.6, {client_address}"}
                assert proxy.post("/api/chat/sessions", headers=headers).status_code == 201
            headers = {"X-Forwarded-For": f"7.7.7.7, {client_address}"}
            _assert_limited(proxy.post("/api/chat/sessions", headers=headers))


@pytest.mark.skipif(not REDIS_URL, reason="KEFU_TEST_REDIS_URL is not set")
def test_limits_hold_across_two_gateways_with_redis(built: BuildOutcome, database_url: str) -> None:
    settings = _settings(built, database_url, redis_url=REDIS_URL, address_session_limit=6)
    # An address of this test only: Redis keeps counts between runs.
    address = f"test-{uuid.uuid4().hex}"
    with _client(settings, address) as first, _client(settings, address) as second:
        statuses = [
            (first if n % 2 else second).post("/api/chat/sessions").status_code for n in range(8)
        ]
        assert statuses == [201] * 6 + [429, 429]
        _assert_limited(first.post("/api/chat/sessions"))
