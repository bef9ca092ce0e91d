"""The gateway is killed while a WeChat answer is late: the answer still goes out, once.

The gateway runs as a process under ops.stack.Supervisor (as in `make demo`), with a
fake Rasa that holds the first turn (slower than WeChat's deadline) and a fake WeChat
API. WeChat gets "success" at the deadline; the gateway is killed with SIGKILL while
the answer is being prepared; the supervisor starts it again, its recovery loop takes
over the claim whose lease ran out, and the answer goes out by 客服消息 exactly once.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from kb.pipeline import BuildOutcome
from ops.stack import RestartPolicy, Supervisor, free_port, gateway_process, settings_environment
from support.channels import Channel
from support.conversations.store import ConversationStore
from support.settings import Settings
from support.storage import migrate, session_factory
from tests.wechat.conftest import (
    APP_ID,
    APP_SECRET,
    TOKEN,
    FakeWeChatAPI,
    _fake_api_app,
    new_openid,
    signed_query,
    text_message,
    to_xml,
)

LEASE_SECONDS = 2.0


@dataclass
class SlowRasa:
    """Rasa's REST channel: the first turn hangs until released, later ones answer."""

    url: str = ""
    calls: list[str] = field(default_factory=list)
    first_turn: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks/rest/webhook")
        async def webhook(request: Request) -> list[dict[str, Any]]:
            body = await request.json()
            self.calls.append(body["message"])
            if len(self.calls) == 1:
                self.first_turn.set()
                while not self.release.is_set():
                    await asyncio.sleep(0.05)
            return [{"text": f"收到：{body['message']}"}]

        return app


def _serve(app: FastAPI) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture
def fakes() -> Iterator[tuple[SlowRasa, FakeWeChatAPI]]:
    rasa, wechat = SlowRasa(), FakeWeChatAPI()
    rasa_url, rasa_server, rasa_thread = _serve(rasa.app())
    api_url, api_server, api_thread = _serve(_fake_api_app(wechat))
    wechat.base = f"{api_url}/cgi-bin/"
    rasa.url = rasa_url
    yield rasa, wechat
    rasa.release.set()
    for server, thread in ((rasa_server, rasa_thread), (api_server, api_thread)):
        server.should_exit = True
        thread.join(timeout=5)


def test_a_late_wechat_answer_goes_out_once_across_a_gateway_crash(
    built: BuildOutcome, tmp_path: Path, fakes: tuple[SlowRasa, FakeWeChatAPI]
) -> None:
    rasa, wechat = fakes
    settings = Settings(
        data_dir=tmp_path,
        index_dir=built.directory.parent,
        redis_url=None,
        rasa_url=rasa.url,
        api_port=free_port(),
        wechat_token=TOKEN,
        wechat_app_id=APP_ID,
        wechat_app_secret=APP_SECRET,
        wechat_api_base=wechat.base,
    )
    migrate(settings.database_url)
    environment = settings_environment(settings) | {
        "KEFU_WECHAT_DEADLINE": "0.5",
        "KEFU_WECHAT_CLAIM_LEASE": str(LEASE_SECONDS),
    }
    gateway = gateway_process(settings, environment)
    policy = RestartPolicy(initial=0.2, cap=1.0, healthy_after=60)
    openid = new_openid()
    with Supervisor([gateway], tmp_path / "logs", policy=policy) as supervisor:
        supervisor.wait_ready(120)
        response = httpx.post(
            f"http://127.0.0.1:{settings.api_port}/wechat",
            params=signed_query(),
            content=to_xml(text_message(openid, "提现到银行卡一直没到")).encode(),
            headers={"Content-Type": "text/xml"},
            timeout=10,
        )
        assert response.text == "success"  # the deadline passed: the answer comes later
        assert rasa.first_turn.wait(10)
        supervisor.kill("api")  # kill -9 while Rasa is still thinking
        rasa.release.set()
        supervisor.wait_restarted("api", 0, 120)
        sent = wechat.wait_for(openid, 1, timeout=30)
        time.sleep(2 * LEASE_SECONDS)  # long enough for a second takeover, if any
        sent = wechat.attempts(openid)
    assert [(m.content, m.errcode) for m in sent] == [("收到：提现到银行卡一直没到", 0)]
    store = ConversationStore(session_factory(settings.database_url))
    history = store.history(store.for_external(Channel.WECHAT, openid).id)
    bot = [m for m in history if m.role.value == "bot"]
    assert [(m.text, m.delivery) for m in bot][-1] == ("收到：提现到银行卡一直没到", "sent")
