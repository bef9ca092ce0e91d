"""The SSE stream (api.core.sse): its wire format, and a quiet end when the browser leaves."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.core import sse
from api.core.sse import event_stream
from ops.stack import free_port
from support.events import InMemoryEventBus

CHANNEL = "test"


def _app(bus: InMemoryEventBus) -> FastAPI:
    app = FastAPI()

    @app.get("/events")
    async def events(request: Request) -> Response:
        return event_stream(bus, CHANNEL)

    @app.post("/publish", status_code=204)
    async def publish(event: dict[str, str]) -> None:
        # On the server's event loop, where the bus and its subscribers live.
        await bus.publish(CHANNEL, event)

    return app


class _Server:
    """A real uvicorn server in a thread, so the client can hang up like a browser tab."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        # log_config=None: uvicorn's records reach the root logger, where caplog sees them.
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def bus() -> InMemoryEventBus:
    return InMemoryEventBus()


@pytest.fixture
def server(bus: InMemoryEventBus) -> Iterator[_Server]:
    with _Server(_app(bus)) as running:
        yield running


def test_events_arrive_as_event_and_data_lines(server: _Server) -> None:
    with (
        httpx.Client(base_url=server.url, timeout=5) as client,
        client.stream("GET", "/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith(":")  # the comment that opens the stream
        client.post("/publish", json={"type": "message", "text": "人工客服已接入"})
        frame = [line for line in (next(lines) for _ in range(4)) if line]
        assert frame == ["event: message", 'data: {"text": "人工客服已接入"}']


@pytest.fixture
def quick_keep_alive(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(sse, "KEEP_ALIVE_SECONDS", 0.1)
    return 0.1


def _comments(lines: Iterator[str], count: int) -> list[str]:
    """Read until ``count`` comment lines (keep-alives) have arrived."""
    comments: list[str] = []
    while len(comments) < count:
        line = next(lines)
        if line.startswith(":"):
            comments.append(line)
    return comments


def test_the_stream_outlives_its_keep_alives(server: _Server, quick_keep_alive: float) -> None:
    with (
        httpx.Client(base_url=server.url, timeout=5) as client,
        client.stream("GET", "/events") as response,
    ):
        lines = response.iter_lines()
        assert len(_comments(lines, 3)) == 3  # the opening comment, then keep-alives
        client.post("/publish", json={"type": "state", "state": "agent"})
        assert "event: state" in [next(lines) for _ in range(6)]


def test_a_closed_tab_logs_no_error(
    server: _Server,
    bus: InMemoryEventBus,
    quick_keep_alive: float,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        with (
            httpx.Client(base_url=server.url, timeout=5) as client,
            client.stream("GET", "/events") as response,
        ):
            lines = response.iter_lines()  # held: dropping it would close the stream at once
            assert next(lines).startswith(":")
            time.sleep(3 * quick_keep_alive)  # open across a few keep-alives, then hang up
    deadline = time.monotonic() + 5
    while bus._queues and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(5 * quick_keep_alive)
    assert not bus._queues, "a subscription outlived its connection"
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]
