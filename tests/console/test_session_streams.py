"""Open event streams end with the login behind them (issue 15, finding 4).

A console's event stream carries users' messages in full. It used to check the session
only when it opened: after a logout, an expiry or a password reset it kept streaming.
Now it asks again before each event and every ``KEFU_AGENT_STREAM_RECHECK`` seconds.
These tests run a real server, so the client can hold a stream open while others act.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.console.deps import COOKIE_NAME, CSRF_HEADER
from api.core.sse import event_stream
from api.main import create_app
from kb.pipeline import BuildOutcome
from ops.stack import free_port
from support.accounts.service import AccountService
from support.dialogue import BotMessage
from support.escalations.schemas import EscalationRequest
from support.escalations.service import EscalationService
from support.events import InMemoryEventBus
from support.settings import Settings
from support.storage import session_factory
from tests.console.conftest import PASSWORD
from tests.web.conftest import FakeRasa

RECHECK = 0.5
# Generous on a loaded machine: the point is "within about the interval", not "never".
MARGIN = 5.0


class LiveServer:
    """A real uvicorn server in a thread, lifespan included."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                timeout_graceful_shutdown=2,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@dataclass
class StreamReader:
    """Holds an SSE stream open in a thread and records every line until it ends."""

    url: str
    headers: dict[str, str]
    lines: list[str] = field(default_factory=list)
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    ended_at: float | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=60) as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    self.lines.append(line)
        except httpx.HTTPError:
            pass
        finally:
            self.ended_at = time.monotonic()
            self.ended.set()

    def start(self) -> StreamReader:
        self._thread.start()
        self.wait_for(lambda: bool(self.lines), "the stream never opened")
        return self

    def wait_for(self, condition: Callable[[], bool], message: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"{message}: {self.lines}"
            time.sleep(0.02)

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Live:
    server: LiveServer
    rasa: FakeRasa
    settings: Settings

    @property
    def accounts(self) -> AccountService:
        return AccountService(session_factory(self.settings.database_url))

    def log_in(self, username: str) -> tuple[str, str]:
        response = httpx.post(
            f"{self.server.url}/api/agent/login",
            json={"username": username, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        return response.cookies[COOKIE_NAME], response.json()["csrf_token"]

    def agent_stream(self, cookie: str) -> StreamReader:
        return StreamReader(
            f"{self.server.url}/api/agent/events", {"Cookie": f"{COOKIE_NAME}={cookie}"}
        ).start()

    def handed_off_user(self) -> tuple[str, dict[str, str]]:
        """A web user whose conversation waits for a person: their messages go to agents."""
        created = httpx.post(f"{self.server.url}/api/chat/sessions").json()
        session_id, headers = created["session_id"], {"Authorization": f"Bearer {created['token']}"}
        escalations = EscalationService(session_factory(self.settings.database_url))

        def handoff(sender: str, said: str) -> list[BotMessage]:
            opened = escalations.open(
                EscalationRequest(conversation_id=sender, channel="web", reason="用户要求人工客服")
            )
            return [BotMessage("正在为您转接人工客服。", [], handoff=opened.escalation.id)]

        self.rasa.script = handoff
        turn = self.say(session_id, headers, "转人工")
        self.rasa.script = None
        assert turn.json()["state"] == "waiting_agent", turn.text
        return session_id, headers

    def say(self, session_id: str, headers: dict[str, str], text: str) -> httpx.Response:
        return httpx.post(
            f"{self.server.url}/api/chat/sessions/{session_id}/messages",
            json={"text": text},
            headers=headers,
        )


def _live(built: BuildOutcome, database_url: str, **overrides: float) -> Iterator[Live]:
    rasa = FakeRasa()
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
        agent_stream_recheck=RECHECK,
        **overrides,  # type: ignore[arg-type]
    )
    with LiveServer(create_app(settings, dialogue=rasa)) as server:
        yield Live(server, rasa, settings)


@pytest.fixture
def live(built: BuildOutcome, database_url: str) -> Iterator[Live]:
    yield from _live(built, database_url)


def test_logout_ends_an_open_agent_stream(live: Live) -> None:
    live.accounts.add("alice", PASSWORD)
    cookie, csrf = live.log_in("alice")
    user, headers = live.handed_off_user()
    stream = live.agent_stream(cookie)
    # While logged in, the stream shows what users write.
    assert live.say(user, headers, "我的充值还没到账").status_code == 200
    stream.wait_for(lambda: "我的充值还没到账" in stream.text(), "no user message arrived")

    logout = httpx.post(
        f"{live.server.url}/api/agent/logout",
        headers={"Cookie": f"{COOKIE_NAME}={cookie}", CSRF_HEADER: csrf},
    )
    assert logout.status_code == 204
    logged_out = time.monotonic()
    # The user writes again at once: nothing of it reaches the logged-out console.
    assert live.say(user, headers, "这是退出登录之后的消息").status_code == 200
    assert stream.ended.wait(RECHECK + MARGIN), "the stream outlived the logout"
    assert stream.ended_at is not None and stream.ended_at - logged_out < RECHECK + MARGIN
    assert "这是退出登录之后的消息" not in stream.text()


def test_a_password_reset_ends_an_open_agent_stream(live: Live) -> None:
    live.accounts.add("alice", PASSWORD)
    cookie, _ = live.log_in("alice")
    user, headers = live.handed_off_user()
    stream = live.agent_stream(cookie)
    time.sleep(2 * RECHECK)  # the stream survives its re-checks while the login holds
    assert not stream.ended.is_set()

    live.accounts.set_password("alice", "a brand new password")
    reset = time.monotonic()
    # Quiet channel: the timer alone notices, within about the interval.
    assert stream.ended.wait(RECHECK + MARGIN), "the stream outlived the password reset"
    assert stream.ended_at is not None and stream.ended_at - reset < RECHECK + MARGIN
    assert live.say(user, headers, "重设密码之后的消息").status_code == 200
    time.sleep(RECHECK)
    assert "重设密码之后的消息" not in stream.text()
    # And the old cookie opens no new stream.
    reopened = httpx.get(
        f"{live.server.url}/api/agent/events", headers={"Cookie": f"{COOKIE_NAME}={cookie}"}
    )
    assert reopened.status_code == 401


def test_an_expired_login_ends_an_open_agent_stream(built: BuildOutcome, database_url: str) -> None:
    lifetime = 3.0
    for live in _live(built, database_url, agent_session_hours=lifetime / 3600):
        live.accounts.add("alice", PASSWORD)
        cookie, _ = live.log_in("alice")
        logged_in = time.monotonic()
        stream = live.agent_stream(cookie)
        assert stream.ended.wait(lifetime + RECHECK + MARGIN), "the stream outlived the login"
        assert stream.ended_at is not None
        assert stream.ended_at - logged_in >= lifetime - 0.5  # not before the login expired


# The mechanism is the SSE helper's, for any stream whose credential can end.


def _app(bus: InMemoryEventBus, allowed: Callable[[], Awaitable[bool]]) -> FastAPI:
    app = FastAPI()

    @app.get("/events")
    async def events(request: Request) -> Response:
        return event_stream(bus, "test", still_allowed=allowed, recheck_seconds=RECHECK)

    @app.post("/publish", status_code=204)
    async def publish(event: dict[str, str]) -> None:
        await bus.publish("test", event)

    return app


def test_event_stream_ends_when_still_allowed_says_no() -> None:
    bus = InMemoryEventBus()
    permitted = threading.Event()
    permitted.set()
    checks: list[float] = []

    async def allowed() -> bool:
        checks.append(time.monotonic())
        return permitted.is_set()

    with LiveServer(_app(bus, allowed)) as server:
        stream = StreamReader(f"{server.url}/events", {}).start()
        httpx.post(f"{server.url}/publish", json={"type": "message", "text": "第一条"})
        stream.wait_for(lambda: "第一条" in stream.text(), "no event arrived")
        time.sleep(3 * RECHECK)
        assert len(checks) >= 3  # asked on the timer while the channel is quiet
        permitted.clear()
        assert stream.ended.wait(RECHECK + MARGIN)
        httpx.post(f"{server.url}/publish", json={"type": "message", "text": "第二条"})
        assert "第二条" not in stream.text()
        # The subscription ended with the stream.
        deadline = time.monotonic() + 5
        while bus._queues and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not bus._queues
