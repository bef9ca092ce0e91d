"""The whole handoff loop in real browsers, on the real stack (Rasa, actions, gateway).

A user in the widget asks for a person; an agent logged in to the console sees the case
arrive live, replies (the user sees it live), resolves, and the bot answers again.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from ops.stack import RunningStack
from support.accounts.service import AccountService
from support.storage import migrate, session_factory
from tests.conftest import ARTIFACTS

AGENT_PASSWORD = "loop-test-password"


def ask(page: Page, text: str) -> None:
    page.get_by_test_id("kefu-input").fill(text)
    page.get_by_test_id("kefu-send").click()


def widget_messages(page: Page, role: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="kefu-message"][data-role="{role}"]')


def log_in(page: Page, base: str) -> None:
    response = page.goto(base + "/agent")
    assert response is not None and response.status == 401  # no session: the login form
    page.fill('input[name="username"]', "xiaoli")
    page.fill('input[name="password"]', AGENT_PASSWORD)
    page.click('#kefu-login button[type="submit"]')
    expect(page.get_by_test_id("agent-name")).to_have_text("xiaoli")


def check_the_other_panels(console: Page, live_stack: RunningStack) -> None:
    """The other panels render in the same session: the analytics saw the bot's answer,
    and the knowledge panel shows the index in use."""
    console.get_by_test_id("tab-analytics").click()
    expect(console.get_by_test_id("kb-hit").filter(has_text="充值").first).to_be_visible()
    expect(console.get_by_test_id("analytics-handoff")).to_contain_text("转了人工")
    console.screenshot(path=str(ARTIFACTS / "console-analytics.png"))
    console.get_by_test_id("tab-tickets").click()
    expect(console.get_by_test_id("ticket-search")).to_be_visible()
    console.get_by_test_id("tab-knowledge").click()
    build = (live_stack.settings.index_dir / "CURRENT").read_text().strip()
    expect(console.get_by_test_id("kb-manifest")).to_contain_text(build)


def test_handoff_reply_resolve_and_the_bot_answers_again(
    live_stack: RunningStack, browser: Browser
) -> None:
    url = live_stack.settings.database_url
    migrate(url)
    AccountService(session_factory(url)).add("xiaoli", AGENT_PASSWORD)
    base = live_stack.gateway_url
    errors: list[str] = []

    console_context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    console = console_context.new_page()
    console.on("pageerror", lambda error: errors.append(f"console: {error}"))
    log_in(console, base)
    queue = console.get_by_test_id("queue-item")

    user_context = browser.new_context(viewport={"width": 420, "height": 760}, locale="zh-CN")
    user = user_context.new_page()
    user.on("pageerror", lambda error: errors.append(f"widget: {error}"))
    user.goto(base + "/")
    user.get_by_test_id("kefu-launcher").click()
    ask(user, "我要找人工客服")
    expect(user.get_by_test_id("kefu-state")).to_contain_text("人工", timeout=20_000)

    # The case arrives in the already-open console without a reload. (Counted by its own
    # text: other tests' cases may still be waiting, and the queue may not have loaded
    # when the console opened.)
    case_row = queue.filter(has_text="我要找人工客服")
    expect(case_row).to_have_count(1, timeout=10_000)
    expect(case_row).to_contain_text("等待接入")
    ARTIFACTS.mkdir(exist_ok=True)
    console.screenshot(path=str(ARTIFACTS / "console-queue.png"))

    case_row.click()
    transcript = console.get_by_test_id("transcript-message")
    expect(transcript.filter(has_text="我要找人工客服")).to_have_count(1)
    expect(console.get_by_test_id("case-resolve")).to_be_visible()

    # The user adds something while waiting: it appears in the open case live.
    ask(user, "我充值了 200 元一直没到账")
    expect(transcript.filter(has_text="200 元")).to_have_count(1, timeout=10_000)

    console.get_by_test_id("reply-input").fill("您好，我是客服小李，正在为您查询这笔充值。")
    console.get_by_test_id("reply-send").click()
    reply = widget_messages(user, "agent").filter(has_text="正在为您查询这笔充值")
    expect(reply).to_be_visible(timeout=10_000)
    expect(console.get_by_test_id("case-status")).to_have_text("处理中")
    console.screenshot(path=str(ARTIFACTS / "console-case.png"))

    console.get_by_test_id("case-resolve").click()
    expect(console.get_by_test_id("case-status")).to_have_text("已解决", timeout=10_000)
    expect(user.get_by_test_id("kefu-state")).to_be_hidden(timeout=10_000)

    ask(user, "充值一直没到账")
    answer = widget_messages(user, "bot").filter(has_text="交易记录")
    expect(answer.first).to_be_visible(timeout=20_000)
    user.screenshot(path=str(ARTIFACTS / "widget-after-handoff.png"))

    check_the_other_panels(console, live_stack)
    assert (ARTIFACTS / "console-case.png").stat().st_size > 20_000
    assert errors == []
    user_context.close()
    console_context.close()
