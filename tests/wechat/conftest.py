"""WeChat webhook tests: the real app and KB, a fake Rasa, and a fake WeChat API on loopback.

The fake Rasa replaces the conversation service's dialogue backend (deterministic, and
it can be held back to test the deadline). The fake WeChat API is a real HTTP server in
a background thread, so wechatpy's client is exercised end to end.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
import uvicorn
import xmltodict
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from api.main import create_app
from kb.pipeline import BuildOutcome
from support.channels import Channel
from support.conversations.flows import ConversationService
from support.conversations.schemas import MessageView
from support.dialogue import BotMessage
from support.settings import Settings
from tests.conftest import REDIS_URL

TOKEN = "kefu-wechat-test-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "kefu-wechat-test-secret"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
ACCESS_TOKEN = "fake-access-token"
ACCOUNT = "gh_kefu_test"


# The fake WeChat API


@dataclass(frozen=True)
class SentMessage:
    openid: str
    content: str
    errcode: int
    # When the fake API received it (time.monotonic), for the backoff tests.
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeWeChatAPI:
    base: str = ""
    errcode: int = 0
    # Seconds each 客服消息 takes to be answered (a slow WeChat API).
    delay: float = 0.0
    token_requests: int = 0
    sent: list[SentMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.errcode = 0
            self.delay = 0.0
            self.sent.clear()

    def attempts(self, openid: str) -> list[SentMessage]:
        with self.lock:
            return [message for message in self.sent if message.openid == openid]

    def wait_for(self, openid: str, count: int, timeout: float = 10.0) -> list[SentMessage]:
        """The first ``count`` 客服消息 attempts for ``openid``, waiting for them to arrive."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.attempts(openid)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} 客服消息 for {openid}, got {self.attempts(openid)}")


def _fake_api_app(state: FakeWeChatAPI) -> FastAPI:
    app = FastAPI()

    @app.get("/cgi-bin/token")
    def token(grant_type: str, appid: str, secret: str) -> dict[str, Any]:
        with state.lock:
            state.token_requests += 1
        if grant_type != "client_credential" or appid != APP_ID or secret != APP_SECRET:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        return {"access_token": ACCESS_TOKEN, "expires_in": 7200}

    @app.post("/cgi-bin/message/custom/send")
    async def send(request: Request, access_token: str) -> dict[str, Any]:
        if access_token != ACCESS_TOKEN:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        body = json.loads(await request.body())
        assert body["msgtype"] == "text"
        with state.lock:
            errcode = state.errcode
            state.sent.append(SentMessage(body["touser"], body["text"]["content"], errcode))
            delay = state.delay
        if delay:
            await asyncio.sleep(delay)
        if errcode:
            return {"errcode": errcode, "errmsg": "refused by the fake API"}
        return {"errcode": 0, "errmsg": "ok"}

    return app


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[FakeWeChatAPI]:
    state = FakeWeChatAPI()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(_fake_api_app(state), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    end = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < end, "the fake WeChat API did not start"
        time.sleep(0.02)
    state.base = f"http://127.0.0.1:{port}/cgi-bin/"
    yield state
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def wechat_api(fake_wechat_server: FakeWeChatAPI) -> Iterator[FakeWeChatAPI]:
    fake_wechat_server.reset()
    yield fake_wechat_server
    fake_wechat_server.reset()


# The fake Rasa


def echo(text: str) -> list[BotMessage]:
    return [BotMessage(f"收到：{text}", [])]


@dataclass
class FakeDialogue:
    """Stands in for support.dialogue.RasaClient: records what it is sent, answers from a script."""

    script: Callable[[str], list[BotMessage]] = echo
    calls: list[str] = field(default_factory=list)
    delay: float = 0.0
    # When set, every turn waits until the test releases it (for the deadline).
    gate: threading.Event | None = None

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        self.calls.append(text)
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 15)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.script(text)

    async def resume(self, conversation_id: str) -> None:
        """A person handed the conversation back: nothing to do for a scripted bot."""

    def hold(self) -> None:
        """From now on, turns wait until `release` (Rasa slower than the deadline)."""
        self.gate = threading.Event()

    def release(self) -> None:
        if self.gate is not None:
            self.gate.set()


# Building WeChat callbacks


def new_openid() -> str:
    return "o" + secrets.token_urlsafe(20)[:27]


def new_msg_id() -> int:
    return secrets.randbits(62)


def text_message(openid: str, content: str, msg_id: int | None = None) -> dict[str, str]:
    return {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": str(int(time.time())),
        "MsgType": "text",
        "Content": content,
        "MsgId": str(msg_id if msg_id is not None else new_msg_id()),
    }


def event_message(openid: str, event: str, create_time: int | None = None) -> dict[str, str]:
    return {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": str(create_time if create_time is not None else int(time.time())),
        "MsgType": "event",
        "Event": event,
    }


def to_xml(fields: dict[str, str]) -> str:
    return str(xmltodict.unparse({"xml": fields}, full_document=False))


def sign(*parts: str) -> str:
    """WeChat's signature, computed independently of the code under test."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_query(timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(8)
    return {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def crypto() -> Any:
    return WeChatCrypto(TOKEN, AES_KEY, APP_ID)


@dataclass
class WeChatHarness:
    client: TestClient
    app: FastAPI
    dialogue: FakeDialogue
    api: FakeWeChatAPI
    settings: Settings

    @property
    def conversations(self) -> ConversationService:
        service: ConversationService = self.app.state.conversations
        return service

    def post_xml(self, body: str | bytes, query: dict[str, str] | None = None) -> httpx2.Response:
        return self.client.post(
            "/wechat",
            params=query if query is not None else signed_query(),
            content=body.encode() if isinstance(body, str) else body,
            headers={"Content-Type": "text/xml"},
        )

    def post(self, fields: dict[str, str]) -> httpx2.Response:
        return self.post_xml(to_xml(fields))

    def reply_text(self, fields: dict[str, str]) -> str:
        """Post a plaintext callback and return the text of WeChat's passive reply."""
        response = self.post(fields)
        assert response.status_code == 200, response.text
        reply = parse_message(response.text)
        assert reply.type == "text", response.text
        assert reply.source == fields["ToUserName"]
        assert reply.target == fields["FromUserName"]
        return str(reply.content)

    def history(self, openid: str) -> list[MessageView]:
        conversation = self.conversations.for_external(Channel.WECHAT, openid)
        return self.conversations.history(conversation.id)

    def wait_for_delivery(self, openid: str, timeout: float = 10.0) -> list[MessageView]:
        """The conversation once every bot message has a delivery status."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            history = self.history(openid)
            bots = [m for m in history if m.role.value == "bot"]
            if bots and all(m.delivery is not None for m in bots):
                return history
            time.sleep(0.02)
        raise AssertionError(f"delivery never recorded: {self.history(openid)}")

    def drain(self) -> None:
        """Let the background answers and deliveries finish."""
        service = getattr(self.app.state, "wechat", None)
        if service is not None:
            assert self.client.portal is not None
            self.client.portal.call(service.drain)

    def close(self) -> None:
        """Finish the background work and close the inbox (Redis connections)."""
        service = getattr(self.app.state, "wechat", None)
        if service is not None:
            assert self.client.portal is not None
            self.client.portal.call(service.aclose)


MakeWeChat = Callable[..., WeChatHarness]


@pytest.fixture(params=["database", "redis"])
def inbox_backend(request: pytest.FixtureRequest) -> str:
    """Where de-duplication lives: the database, and Redis when the tests have one."""
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("KEFU_TEST_REDIS_URL is not set")
    return str(request.param)


@pytest.fixture
def make_wechat(
    built: BuildOutcome, database_url: str, wechat_api: FakeWeChatAPI
) -> Iterator[MakeWeChat]:
    with ExitStack() as stack:
        dialogues: list[FakeDialogue] = []

        def make(**overrides: Any) -> WeChatHarness:
            values: dict[str, Any] = {
                "index_dir": built.directory.parent,
                "database_url": database_url,
                # Never reached: the dialogue backend is the fake below.
                "rasa_url": "http://127.0.0.1:9",
                "redis_url": None,
                "wechat_token": TOKEN,
                "wechat_app_id": APP_ID,
                "wechat_app_secret": APP_SECRET,
                # Plaintext mode: with an AES key only encrypted callbacks are taken
                # (the `safe_mode` fixture).
                "wechat_aes_key": "",
                "wechat_api_base": wechat_api.base,
                "wechat_deadline": 3.0,
                **overrides,
            }
            settings = Settings(**values)
            dialogue = FakeDialogue()
            dialogues.append(dialogue)
            app = create_app(settings, dialogue=dialogue)
            client = stack.enter_context(TestClient(app))
            harness = WeChatHarness(client, app, dialogue, wechat_api, settings)
            stack.callback(harness.close)  # before the client (and its event loop) closes
            return harness

        try:
            yield make
        finally:
            for dialogue in dialogues:  # never leave a held-back turn behind
                dialogue.release()


@pytest.fixture
def wechat(make_wechat: MakeWeChat) -> WeChatHarness:
    return make_wechat()


@pytest.fixture
def safe_mode(make_wechat: MakeWeChat) -> WeChatHarness:
    """An account with an EncodingAESKey: WeChat's 安全模式."""
    return make_wechat(wechat_aes_key=AES_KEY)


def encrypted_request(
    plain_xml: str, timestamp: str | None = None, nonce: str | None = None
) -> tuple[dict[str, str], str]:
    """The query string and body of a safe-mode callback carrying ``plain_xml``."""
    timestamp, nonce = timestamp or str(int(time.time())), nonce or secrets.token_hex(8)
    envelope = crypto().encrypt_message(plain_xml, nonce, timestamp)
    msg_signature = xmltodict.parse(envelope)["xml"]["MsgSignature"]
    query = {
        **signed_query(timestamp, nonce),
        "encrypt_type": "aes",
        "msg_signature": msg_signature,
    }
    return query, str(envelope)
