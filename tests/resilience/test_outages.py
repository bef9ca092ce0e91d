"""PostgreSQL and Redis going away under a running gateway, through a TCP proxy.

The machine's PostgreSQL and Redis are shared and are never stopped here: the gateway
reaches them through tests.resilience.proxy.TcpProxy, which the test cuts (every
connection dropped, new ones refused, as in a server restart) and restores. The
gateway runs in-process with a scripted Rasa.

What the user sees during the outage: a 503 whose detail is a plain Chinese notice
(the widget puts the text back in the input box to resend) - never a 500, never a
silent loss. Once the server is back, the next message goes through with no restart.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.main import BACKEND_UNAVAILABLE, create_app
from kb.pipeline import BuildOutcome
from support.conversations.models import Role
from support.conversations.store import ConversationStore
from support.settings import Settings
from support.storage import session_factory
from tests.conftest import POSTGRES_URL, REDIS_URL, postgres_schema
from tests.resilience.proxy import TcpProxy
from tests.wechat.conftest import FakeDialogue

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Outcome:
    text: str
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _session(client: TestClient) -> tuple[str, dict[str, str]]:
    created = client.post("/api/chat/sessions")
    assert created.status_code == 201, created.text
    body = created.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


def _say(client: TestClient, session: tuple[str, dict[str, str]], text: str) -> Outcome:
    session_id, headers = session
    response: httpx2.Response = client.post(
        f"/api/chat/sessions/{session_id}/messages", json={"text": text}, headers=headers
    )
    return Outcome(text, response.status_code, response.json())


def _assert_answered_or_told(outcome: Outcome) -> None:
    if outcome.status == 200:
        assert outcome.body["replies"], outcome
        return
    assert outcome.status == 503, outcome
    assert outcome.body["detail"] == BACKEND_UNAVAILABLE
    assert CHINESE.search(outcome.body["detail"])


def _through(url: str, proxy: TcpProxy) -> str:
    parsed = make_url(url)
    return parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def _settings(built: BuildOutcome, **values: Any) -> Settings:
    return Settings(
        index_dir=built.directory.parent,
        rasa_url="http://127.0.0.1:9",  # never reached: the dialogue is scripted
        chat_rate_limit=1_000_000,
        **values,
    )


@pytest.fixture
def postgres_through_proxy() -> Iterator[tuple[str, TcpProxy]]:
    if not POSTGRES_URL:
        pytest.skip("KEFU_TEST_DATABASE_URL is not set")
    parsed = make_url(POSTGRES_URL)
    with (
        postgres_schema() as direct,
        TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy,
    ):
        yield direct, proxy


def test_postgresql_restart_under_load(
    built: BuildOutcome, postgres_through_proxy: tuple[str, TcpProxy]
) -> None:
    direct, proxy = postgres_through_proxy
    settings = _settings(built, database_url=_through(direct, proxy), redis_url=None)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop = threading.Event()
    with TestClient(create_app(settings, dialogue=FakeDialogue())) as client:
        sessions = [_session(client) for _ in range(4)]

        def user(number: int) -> None:
            turn = 0
            while not stop.is_set():
                turn += 1
                outcome = _say(client, sessions[number], f"用户{number}的第{turn}条消息")
                with lock:
                    outcomes.append(outcome)

        users = [threading.Thread(target=user, args=(n,)) for n in range(len(sessions))]
        for thread in users:
            thread.start()
        time.sleep(1.0)
        proxy.cut()  # PostgreSQL "restarts": every connection drops, new ones are refused
        time.sleep(1.5)
        proxy.restore()
        time.sleep(1.0)
        stop.set()
        for thread in users:
            thread.join(timeout=30)
        # Back on its own: one more message per user goes through.
        after = [_say(client, session, "恢复之后的消息") for session in sessions]

    assert all(outcome.status == 200 for outcome in after), after
    for outcome in outcomes:
        _assert_answered_or_told(outcome)
    told = [outcome for outcome in outcomes if outcome.status == 503]
    answered = [outcome for outcome in outcomes if outcome.status == 200]
    assert told and answered and proxy.refused, (len(told), len(answered), proxy.refused)
    # No message lost: everything answered is stored, with its answer.
    store = ConversationStore(session_factory(direct))
    stored = {
        message.text
        for session_id, _ in sessions
        for message in store.history(session_id)
        if message.role is Role.USER
    }
    assert {outcome.text for outcome in answered + after} <= stored


def test_redis_down_gives_a_notice_and_recovers(built: BuildOutcome, tmp_path: Any) -> None:
    """Rate limits, live events, WeChat de-duplication live in Redis: without it the
    gateway says so plainly (503) and carries on as soon as Redis answers again."""
    if not REDIS_URL:
        pytest.skip("KEFU_TEST_REDIS_URL is not set")
    parsed = make_url(REDIS_URL)
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 6379) as proxy:
        settings = _settings(
            built,
            database_url=f"sqlite:///{tmp_path / 'kefu.db'}",
            redis_url=_through(REDIS_URL, proxy),
        )
        with TestClient(create_app(settings, dialogue=FakeDialogue())) as client:
            session = _session(client)
            assert _say(client, session, "充值没到账").status == 200
            proxy.cut()
            during = [_say(client, session, f"Redis 断开时的第{n}条") for n in range(3)]
            health = client.get("/healthz").json()
            proxy.restore()
            # A pooled connection that died with Redis fails once more; then it is back.
            attempts = [_say(client, session, f"Redis 恢复之后的第{n}条") for n in range(2)]
            after = attempts[-1]
    for outcome in during:
        _assert_answered_or_told(outcome)
    assert any(outcome.status == 503 for outcome in during)
    assert health["status"] == "degraded"
    assert health["components"]["redis"]["up"] is False
    for outcome in attempts:
        _assert_answered_or_told(outcome)
    assert after.status == 200 and after.body["replies"]
