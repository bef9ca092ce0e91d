"""The 「紧急」 badge in a real browser: the console's queue and case view, web and WeChat.

The gateway runs in a thread on a SQLite file with a scripted Rasa; the escalations are
opened as the bot's handoff opens them. The ordering itself is tested on both databases
in test_escalations.py; this checks what an agent sees.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from api.main import create_app
from kb.pipeline import BuildOutcome
from ops.stack import free_port
from support.accounts.service import AccountService
from support.channels import Channel
from support.conversations.models import ConversationState
from support.conversations.store import ConversationStore
from support.escalations.schemas import EscalationRequest
from support.escalations.service import EscalationService
from support.replies.vocabulary import REASON_LABELS, HandoffReason
from support.settings import Settings
from support.storage import migrate, session_factory
from tests.servers import serving
from tests.web.conftest import FakeRasa

AGENT_PASSWORD = "correct horse battery"


@pytest.fixture
def console_url(built: BuildOutcome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('urgent') / 'kefu.db'}"
    migrate(database_url)
    AccountService(session_factory(database_url)).add("wang", AGENT_PASSWORD)
    sessions = session_factory(database_url)
    escalations, conversations = EscalationService(sessions), ConversationStore(sessions)
    # Oldest first: a calm web case, then urgent ones on WeChat and the web.
    for channel, urgent in ((Channel.WEB, False), (Channel.WECHAT, True), (Channel.WEB, True)):
        conversation = (
            conversations.start_web()[0]
            if channel is Channel.WEB
            else conversations.for_external(channel, f"o-urgent-{time.monotonic_ns()}")
        )
        conversations.set_state(conversation.id, ConversationState.WAITING_AGENT)
        escalations.open(
            EscalationRequest.from_user_texts(
                conversation_id=conversation.id,
                channel=channel,
                reason=(HandoffReason.URGENT if urgent else HandoffReason.USER_REQUEST).value,
                user_texts=["有人冒充客服骗走了 3000 元" if urgent else "转人工"],
                urgent=urgent,
            )
        )
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
    )
    with serving(create_app(settings, dialogue=FakeRasa()), free_port()) as url:
        yield url


def test_urgent_cases_show_first_with_a_badge(console_url: str, browser: Browser) -> None:
    page = browser.new_page(locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(console_url + "/agent")
    page.fill('input[name="username"]', "wang")
    page.fill('input[name="password"]', AGENT_PASSWORD)
    page.click('#kefu-login button[type="submit"]')

    rows = page.get_by_test_id("queue-item")
    expect(rows).to_have_count(3, timeout=15_000)
    # Urgent first (oldest of them first), each with the badge; the calm case last, without.
    for position, channel in ((0, "微信"), (1, "网页")):
        row = rows.nth(position)
        expect(row.get_by_test_id("queue-urgent")).to_have_text("紧急")
        expect(row).to_contain_text(channel)
        expect(row).to_contain_text(REASON_LABELS[HandoffReason.URGENT])
    expect(rows.nth(2).get_by_test_id("queue-urgent")).to_have_count(0)
    expect(rows.nth(2)).to_contain_text(REASON_LABELS[HandoffReason.USER_REQUEST])

    rows.nth(0).click()
    expect(page.get_by_test_id("case-urgent")).to_have_text("紧急")
    rows.nth(2).click()
    expect(page.get_by_test_id("case-status")).to_be_visible()
    expect(page.get_by_test_id("case-urgent")).to_have_count(0)
    assert errors == []
    page.close()
