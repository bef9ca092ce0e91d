"""The widget in a real browser (Debian's chromium through Playwright) on the real stack."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from ops.stack import RunningStack
from tests.conftest import ARTIFACTS


def bot_messages(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="kefu-message"][data-role="bot"]')


def ask(page: Page, text: str) -> None:
    page.get_by_test_id("kefu-input").fill(text)
    page.get_by_test_id("kefu-send").click()


def test_widget_answers_clarifies_and_survives_a_reload(
    live_stack: RunningStack, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_stack.gateway_url + "/")
    expect(page).to_have_title("钱包帮助中心")

    page.get_by_test_id("kefu-launcher").click()
    expect(page.get_by_test_id("kefu-panel")).to_be_visible()

    ask(page, "充值一直没到账")
    answer = bot_messages(page).filter(has_text="交易记录")
    expect(answer.first).to_be_visible(timeout=20_000)
    expect(bot_messages(page).filter(has_text="这个回答解决您的问题了吗？")).to_have_count(1)

    ask(page, "密码")
    option = page.get_by_test_id("kefu-button").filter(has_text="支付密码")
    expect(option).to_be_visible(timeout=20_000)
    option.click()
    expect(bot_messages(page).filter(has_text="和登录密码分开设置").first).to_be_visible(
        timeout=20_000
    )
    users = page.locator('[data-testid="kefu-message"][data-role="user"]')
    asked = users.all_inner_texts()
    shown = page.get_by_test_id("kefu-message").count()

    page.reload()
    page.get_by_test_id("kefu-launcher").click()
    expect(users.first).to_contain_text("充值一直没到账")
    assert users.all_inner_texts() == asked
    # Everything stored comes back; only the local greeting (never stored) is not repeated.
    expect(page.get_by_test_id("kefu-message")).to_have_count(shown - 1)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-375px.png"))
    assert (ARTIFACTS / "widget-375px.png").stat().st_size > 10_000
    assert errors == []
    context.close()


def test_message_text_is_never_html(live_stack: RunningStack, browser: Browser) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_stack.gateway_url + "/")
    page.get_by_test_id("kefu-launcher").click()
    ask(page, "<img src=x onerror=alert(1)>你好")
    user = page.locator('[data-testid="kefu-message"][data-role="user"]').last
    expect(user).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator('[data-testid="kefu-messages"] img').count() == 0
    assert dialogs == []
    page.close()
