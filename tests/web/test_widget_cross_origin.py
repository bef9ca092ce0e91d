"""Issue 13: the widget embedded on another site (a second loopback origin), as the
README tells wallets to do it: one <script> tag pointing at the gateway.

The gateway (scripted Rasa) and two host sites run as real servers on their own ports:
one site is in KEFU_WIDGET_ORIGINS and chats, receiving an agent's reply live over the
event stream; the other is not, and the browser refuses it every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, expect

from api.console.deps import COOKIE_NAME, CSRF_HEADER
from api.main import create_app
from kb.pipeline import BuildOutcome
from ops.stack import free_port
from support.accounts.service import AccountService
from support.dialogue import BotMessage
from support.escalations.schemas import EscalationRequest
from support.escalations.service import EscalationService
from support.settings import Settings
from support.storage import migrate, session_factory
from tests.servers import serving
from tests.web.conftest import FakeRasa

AGENT_PASSWORD = "correct horse battery"
AGENT_REPLY = "您好，我是人工客服小王，已经看到您的问题了。"


def host_site(gateway_url: str) -> FastAPI:
    """A wallet's page that embeds the widget exactly as the README says."""
    app = FastAPI()
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>钱包官网</title>'
        "</head><body><h1>钱包官网</h1>"
        f'<script src="{gateway_url}/widget.js" data-title="在线客服" defer></script>'
        "</body></html>"
    )

    @app.get("/")
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    return app


@dataclass
class Sites:
    gateway: str
    allowed: str
    refused: str
    database_url: str


@pytest.fixture(scope="module")
def sites(built: BuildOutcome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('cross-origin') / 'kefu.db'}"
    migrate(database_url)
    escalations = EscalationService(session_factory(database_url))

    def bot(conversation_id: str, text: str) -> list[BotMessage]:
        if "人工" not in text:
            return [BotMessage(f"机器人收到：{text}", [])]
        handoff = escalations.open(
            EscalationRequest(
                conversation_id=conversation_id, channel="web", reason="用户要求转人工"
            )
        )
        return [BotMessage("正在为您转接人工客服", [], handoff=handoff.escalation.id)]

    gateway_port, allowed_port, refused_port = free_port(), free_port(), free_port()
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
        widget_origins=f"http://127.0.0.1:{allowed_port}",
    )
    AccountService(session_factory(database_url)).add("wang", AGENT_PASSWORD)
    gateway_app = create_app(settings, dialogue=FakeRasa(script=bot))
    with (
        serving(gateway_app, gateway_port) as gateway,
        serving(host_site(gateway), allowed_port) as allowed,
        serving(host_site(gateway), refused_port) as refused,
    ):
        yield Sites(gateway, allowed, refused, database_url)


def ask(page: Page, text: str) -> None:
    page.get_by_test_id("kefu-input").fill(text)
    page.get_by_test_id("kefu-send").click()


def agent_replies(gateway: str, escalation_id: int) -> None:
    """An agent logs in to the console (same origin as the gateway) and answers."""
    with httpx.Client(base_url=gateway, timeout=10) as client:
        login = client.post(
            "/api/agent/login", json={"username": "wang", "password": AGENT_PASSWORD}
        )
        assert login.status_code == 200, login.text
        headers = {
            "Cookie": f"{COOKIE_NAME}={login.cookies[COOKIE_NAME]}",
            CSRF_HEADER: login.json()["csrf_token"],
        }
        client.cookies.clear()
        sent = client.post(
            f"/api/agent/escalations/{escalation_id}/messages",
            json={"text": AGENT_REPLY},
            headers=headers,
        )
        assert sent.status_code == 201, sent.text


def test_an_allowed_site_chats_and_gets_the_agents_reply_live(
    sites: Sites, browser: Browser
) -> None:
    page = browser.new_page(locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sites.allowed + "/")
    page.get_by_test_id("kefu-launcher").click()

    ask(page, "提现多久到账")
    bot = page.locator('[data-testid="kefu-message"][data-role="bot"]')
    expect(bot.filter(has_text="机器人收到：提现多久到账")).to_be_visible(timeout=15_000)

    ask(page, "转人工")
    expect(bot.filter(has_text="正在为您转接人工客服")).to_be_visible(timeout=15_000)
    # The session lives in the host site's storage; the escalation is the bot's handoff.
    session_id = page.evaluate("JSON.parse(localStorage.getItem('kefu.session')).session_id")
    escalation = EscalationService(session_factory(sites.database_url)).open_for_conversation(
        session_id
    )
    assert escalation is not None

    agent_replies(sites.gateway, escalation.id)
    agent = page.locator('[data-testid="kefu-message"][data-role="agent"]')
    # Only the event stream brings it: the page sent nothing since.
    expect(agent.filter(has_text=AGENT_REPLY)).to_be_visible(timeout=15_000)
    expect(page.get_by_text("网络异常，请稍后重试")).to_have_count(0)
    assert errors == []
    page.close()


def test_a_site_that_is_not_allowed_is_refused(sites: Sites, browser: Browser) -> None:
    page = browser.new_page(locale="zh-CN")
    refused_requests: list[str] = []
    page.on("requestfailed", lambda request: refused_requests.append(request.url))
    page.goto(sites.refused + "/")
    page.get_by_test_id("kefu-launcher").click()
    ask(page, "提现多久到账")
    expect(page.get_by_text("网络异常，请稍后重试").first).to_be_visible(timeout=15_000)
    assert any("/api/chat/sessions" in url for url in refused_requests)
    # And from script on that page: the browser hides every answer of the chat API.
    outcome = page.evaluate(
        """async (gateway) => {
             try { await fetch(gateway + '/api/chat/sessions', {method: 'POST'}); return 'read'; }
             catch (e) { return 'blocked'; }
           }""",
        sites.gateway,
    )
    assert outcome == "blocked"
    page.close()


def test_only_the_chat_api_answers_cors(sites: Sites) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    chat = f"{sites.gateway}/api/chat/sessions"
    allowed = httpx.options(chat, headers={"Origin": sites.allowed, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == sites.allowed
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    # The widget authenticates with a header, never a cookie: no credentials allowed.
    assert "access-control-allow-credentials" not in allowed.headers

    refused = httpx.options(chat, headers={"Origin": sites.refused, **preflight})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = httpx.post(chat, headers={"Origin": sites.refused})
    assert "access-control-allow-origin" not in simple.headers

    # The console's login is no business of other sites, even an allowed one.
    console = httpx.options(
        f"{sites.gateway}/api/agent/login", headers={"Origin": sites.allowed, **preflight}
    )
    assert "access-control-allow-origin" not in console.headers
