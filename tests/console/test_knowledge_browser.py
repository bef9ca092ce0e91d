"""The knowledge workspace in real browsers, against the gateway running as a process.

An editor finds an entry, adds a paraphrase the published KB does not know (an admin
editing the same entry meanwhile gets the conflict and sees what changed), runs 命中测试
on the draft and the published version, and publishes; the widget then answers that
question with the entry. The admin rolls back, and the widget behaves as before.
Screenshots go to artifacts/knowledge/.

Rasa is not started: the widget's questions are answered by the gateway from the KB (its
degraded mode, which answers with the same module as the action server, and follows
CURRENT the same way). What this test is about is the KB every process follows; the
whole Rasa stack takes minutes to start on a busy machine.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, expect

from kb.content import FAQ, FAQCollection
from kb.index import set_current
from kb.pipeline import BuildOutcome
from ops.stack import RunningStack, Supervisor, free_port, gateway_process, settings_environment
from support.accounts.service import AccountService
from support.settings import Settings
from support.storage import migrate, session_factory
from tests.conftest import ARTIFACTS

PASSWORD = "workspace-test-password"
ENTRY_ID = "check_balance"
# A nickname users might give their balance; the published KB falls back on it.
NEW_PARAPHRASE = "小金猪里还剩多少"
SHOTS = ARTIFACTS / "knowledge"
WIDGET_WAIT_S = 40  # every process follows CURRENT within about a second; a busy box is slower


@pytest.fixture(scope="module")
def workspace_stack(
    built: BuildOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """The gateway alone, on an index root of its own (publishing moves its CURRENT) and a
    fresh database (seeded from data/faq_zh.yml at start); Rasa's port has no one."""
    data = tmp_path_factory.mktemp("workspace")
    index_root = data / "index"
    shutil.copytree(built.directory, index_root / built.directory.name)
    set_current(index_root, index_root / built.directory.name)
    settings = Settings(
        data_dir=data,
        index_dir=index_root,
        encoder="use",  # the session build's encoder
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_port=free_port(),
        api_port=free_port(),
    )
    environment = settings_environment(settings) | {"PYTHONUNBUFFERED": "1"}
    supervisor = Supervisor([gateway_process(settings, environment)], data / "logs")
    supervisor.start()
    try:
        supervisor.wait_ready(180)
        yield RunningStack(settings, 0.0, data / "logs", supervisor)
    finally:
        supervisor.stop()


def open_entry(page: Page, search: str, entry_id: str) -> None:
    page.get_by_test_id("kbw-search").fill(search)
    row = page.locator(f'[data-testid="kbw-entry"][data-id="{entry_id}"]')
    expect(row).to_be_visible()
    row.get_by_role("button").click()


def log_in(page: Page, base: str, username: str) -> None:
    response = page.goto(base + "/agent#knowledge")
    assert response is not None and response.status == 401
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('#kefu-login button[type="submit"]')
    expect(page.get_by_test_id("agent-name")).to_contain_text(username)
    page.get_by_test_id("tab-knowledge").click()


def widget_reply(
    browser: Browser, base: str, question: str, errors: list[str], *, shot: str
) -> str:
    """The bot's first reply to ``question`` in a new widget conversation."""
    context = browser.new_context(viewport={"width": 420, "height": 760}, locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"widget: {error}"))
    page.goto(base + "/")
    page.get_by_test_id("kefu-launcher").click()
    page.get_by_test_id("kefu-input").fill(question)
    page.get_by_test_id("kefu-send").click()
    reply = page.locator(
        '.kefu-row--bot:not(.kefu-row--greeting) [data-testid="kefu-message"][data-role="bot"]'
    ).first
    expect(reply).to_be_visible(timeout=20_000)
    text = reply.inner_text()
    page.screenshot(path=str(SHOTS / f"widget-{shot}.png"))
    context.close()
    return text


def reply_becomes(
    browser: Browser, base: str, question: str, wanted: str, errors: list[str], *, shot: str
) -> str:
    """Ask in fresh conversations until the reply contains ``wanted`` (the processes
    switch to the new build on their own, within seconds)."""
    deadline = time.monotonic() + WIDGET_WAIT_S
    while True:
        reply = widget_reply(browser, base, question, errors, shot=shot)
        if wanted in reply or time.monotonic() > deadline:
            return reply
        time.sleep(1)


def console_page(browser: Browser, base: str, username: str, errors: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
    log_in(page, base, username)
    return page


def add_paraphrase(editor: Page, entry: FAQ) -> None:
    """Inline validation, then the new paraphrase saved into the draft."""
    answer = editor.get_by_test_id("kbw-field-answer")
    answer.fill(entry.answer + "\n如需帮助，请提供验证码。")
    answer_issues = editor.get_by_test_id("kbw-field-issues-answer")
    expect(answer_issues.get_by_test_id("kbw-field-error")).to_contain_text("验证码")
    expect(answer).to_have_attribute("aria-invalid", "true")
    editor.screenshot(path=str(SHOTS / "inline-validation.png"))
    answer.fill(entry.answer)
    expect(answer_issues.get_by_test_id("kbw-field-error")).to_have_count(0)

    paraphrases = editor.get_by_test_id("kbw-paraphrase")
    expect(paraphrases).to_have_count(len(entry.paraphrases))
    editor.get_by_test_id("kbw-paraphrase-new").fill(NEW_PARAPHRASE)
    editor.get_by_test_id("kbw-paraphrase-add").click()
    expect(paraphrases).to_have_count(len(entry.paraphrases) + 1)
    editor.get_by_test_id("kbw-save").click()
    expect(editor.get_by_test_id("kbw-editor-changed")).to_be_visible()
    expect(editor.get_by_test_id("kbw-draft-count")).to_have_attribute("data-count", "1")
    editor.screenshot(path=str(SHOTS / "editor.png"))


def save_stale(admin: Page, entry: FAQ) -> None:
    """A save on the revision opened before the editor's: 409, and what changed."""
    admin.get_by_test_id("kbw-field-owner").fill("guanli")
    admin.get_by_test_id("kbw-save").click()
    conflict = admin.get_by_test_id("kbw-conflict")
    expect(conflict).to_contain_text("bianji")
    changed = conflict.locator('[data-testid="kbw-change"][data-field="paraphrases"]')
    expect(changed).to_contain_text(NEW_PARAPHRASE)
    conflict.scroll_into_view_if_needed()
    admin.screenshot(path=str(SHOTS / "conflict.png"))
    admin.get_by_test_id("kbw-conflict-reload").click()
    expect(admin.get_by_test_id("kbw-paraphrase")).to_have_count(len(entry.paraphrases) + 1)


def hit_test(editor: Page, entry: FAQ) -> None:
    """命中测试 from the editor: the draft answers with the entry, the published
    version does not."""
    editor.get_by_test_id("kbw-try").click()
    expect(editor.get_by_test_id("kbw-hit-query")).to_have_value(NEW_PARAPHRASE)
    draft_side = editor.get_by_test_id("kbw-hit-draft")
    published_side = editor.get_by_test_id("kbw-hit-published")
    expect(draft_side).to_have_attribute("data-decision", "answer", timeout=90_000)
    expect(draft_side).to_have_attribute("data-top", ENTRY_ID)
    expect(published_side).not_to_have_attribute("data-decision", "answer")
    expect(editor.get_by_test_id("kbw-hit-same")).to_have_attribute("data-same", "false")
    expect(draft_side.get_by_test_id("kbw-hit-candidate").first).to_contain_text(entry.question)
    expect(draft_side.get_by_test_id("kbw-hit-thresholds")).to_contain_text("阈值")
    expect(draft_side.get_by_test_id("kbw-hit-held-back")).to_have_count(0)
    editor.screenshot(path=str(SHOTS / "hit-test.png"))
    # A look-alike the FAQ does not cover (it borrows 被盗): the head, taught the dev
    # split's out-of-scope questions, holds it back, and the maintainer is told why.
    editor.get_by_test_id("kbw-hit-query").fill("QQ号被盗了怎么办")
    editor.get_by_test_id("kbw-hit-run").click()
    expect(published_side.get_by_test_id("kbw-hit-held-back")).to_contain_text("都不是")
    expect(published_side).not_to_have_attribute("data-decision", "answer")
    expect(draft_side.get_by_test_id("kbw-hit-held-back")).to_contain_text("都不是")


def publish(editor: Page) -> None:
    """「发布」: the eval gate runs, the index is built, every process follows."""
    editor.get_by_test_id("kbw-publish").click()
    editor.get_by_test_id("kbw-publish-note").fill("「小金猪」是用户对余额的叫法")
    editor.screenshot(path=str(SHOTS / "publish-dialog.png"))
    editor.get_by_test_id("kbw-publish-confirm").click()
    expect(editor.get_by_test_id("kbw-live-number")).to_have_text("v2", timeout=240_000)
    expect(editor.get_by_test_id("kbw-draft-count")).to_have_attribute("data-count", "0")


def roll_back(admin: Page) -> None:
    """「回滚」: a new version with the previous content."""
    admin.reload()
    admin.get_by_test_id("tab-knowledge").click()
    expect(admin.get_by_test_id("kbw-live-number")).to_have_text("v2")
    admin.get_by_test_id("kbw-rollback").click()
    admin.get_by_test_id("kbw-rollback-note").fill("先撤回，再观察一下")
    admin.get_by_test_id("kbw-rollback-confirm").click()
    expect(admin.get_by_test_id("kbw-live-number")).to_have_text("v3", timeout=240_000)


def check_history(admin: Page) -> None:
    """The versions and the audit log show who did what."""
    admin.get_by_test_id("kbw-view-history").click()
    expect(admin.get_by_test_id("kbw-version")).to_have_count(3)
    audit = admin.get_by_test_id("kbw-audit-row")
    published = audit.filter(has_text="bianji").locator('[class*="kbw-action-publish"]')
    expect(published).to_have_count(1)
    rolled_back = audit.filter(has_text="guanli").locator('[class*="kbw-action-rollback"]')
    expect(rolled_back).to_have_count(1)
    expect(audit.filter(has_text="bianji").locator('[class*="kbw-action-entry"]')).to_have_count(1)
    admin.screenshot(path=str(SHOTS / "history.png"))


def test_editor_publishes_a_paraphrase_and_an_admin_rolls_it_back(
    workspace_stack: RunningStack, browser: Browser, faqs: FAQCollection
) -> None:
    url = workspace_stack.settings.database_url
    migrate(url)
    accounts = AccountService(session_factory(url))
    accounts.add("bianji", PASSWORD, role="editor")
    accounts.add("guanli", PASSWORD, role="admin")
    base = workspace_stack.gateway_url
    entry = next(faq for faq in faqs.faqs if faq.id == ENTRY_ID)
    answer_start = entry.answer.strip().splitlines()[0][:12]
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    before = widget_reply(browser, base, NEW_PARAPHRASE, errors, shot="before")
    assert answer_start not in before  # the published KB does not know the nickname

    editor = console_page(browser, base, "bianji", errors)
    expect(editor.get_by_test_id("kbw-role")).to_have_text("编辑")
    expect(editor.get_by_test_id("kbw-publish")).to_be_visible()
    expect(editor.get_by_test_id("kbw-rollback")).to_be_hidden()  # admins only
    expect(editor.get_by_test_id("kbw-live-number")).to_have_text("v1")
    open_entry(editor, "余额", ENTRY_ID)
    expect(editor.get_by_test_id("kbw-editor-title")).to_have_text(entry.question)
    admin = console_page(browser, base, "guanli", errors)
    expect(admin.get_by_test_id("kbw-role")).to_have_text("管理员")
    open_entry(admin, ENTRY_ID, ENTRY_ID)

    add_paraphrase(editor, entry)
    save_stale(admin, entry)
    hit_test(editor, entry)
    publish(editor)
    after_publish = reply_becomes(
        browser, base, NEW_PARAPHRASE, answer_start, errors, shot="published"
    )
    assert answer_start in after_publish

    roll_back(admin)
    after_rollback = reply_becomes(
        browser, base, NEW_PARAPHRASE, before, errors, shot="rolled-back"
    )
    assert after_rollback == before
    check_history(admin)

    assert (SHOTS / "hit-test.png").stat().st_size > 20_000
    assert errors == []
    admin.context.close()
    editor.context.close()


def ensure_account(url: str, username: str, role: Literal["admin", "editor", "agent"]) -> None:
    accounts = AccountService(session_factory(url))
    if accounts.get(username) is None:
        accounts.add(username, PASSWORD, role=role)


def check_funnel(page: Page, entry: FAQ) -> None:
    """The funnel counts the answer the widget just gave; any column sorts."""
    page.get_by_test_id("kbw-view-funnel").click()
    page.get_by_test_id("kbw-funnel-period-7").click()
    row = page.locator(f'[data-testid="kbw-funnel-row"][data-id="{entry.id}"]')
    expect(row.locator("td").nth(1)).to_have_text("1")
    header = page.get_by_test_id("kbw-funnel-sort-answered")
    header.click()
    expect(page.locator("th", has=header)).to_have_attribute("aria-sort", "descending")
    answered = page.locator('[data-testid="kbw-funnel-row"] td:nth-child(2)').all_inner_texts()
    counts = [int(text) for text in answered]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 1
    header.click()
    expect(page.locator("th", has=header)).to_have_attribute("aria-sort", "ascending")
    page.screenshot(path=str(SHOTS / "funnel.png"))


def check_transfer(page: Page, bad_file: Path) -> None:
    """Export downloads a file; a file with a bad row imports nothing and names the row."""
    page.get_by_test_id("kbw-view-transfer").click()
    with page.expect_download() as download:
        page.get_by_test_id("kbw-export-csv").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert exported.splitlines()[0].startswith("id,category,question,paraphrases,answer")
    page.get_by_test_id("kbw-import-file").set_input_files(str(bad_file))
    page.get_by_test_id("kbw-import-check").click()
    bad_row = page.get_by_test_id("kbw-import-error").filter(has_text="回答")
    expect(bad_row).to_contain_text("3")
    expect(page.get_by_test_id("kbw-import-report")).to_contain_text("没有导入")
    page.screenshot(path=str(SHOTS / "import-errors.png"))


def test_agent_suggests_an_editor_accepts_and_an_import_reports_its_rows(
    workspace_stack: RunningStack, browser: Browser, faqs: FAQCollection, tmp_path: Path
) -> None:
    url = workspace_stack.settings.database_url
    ensure_account(url, "zuoxi", "agent")
    ensure_account(url, "shenhe", "editor")
    base = workspace_stack.gateway_url
    entry = next(faq for faq in faqs.faqs if faq.id == "fees")
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    # An agent reads, and suggests a paraphrase; nothing to edit or publish.
    agent = console_page(browser, base, "zuoxi", errors)
    expect(agent.get_by_test_id("kbw-role")).to_have_text("坐席")
    expect(agent.get_by_test_id("kbw-publish")).to_be_hidden()
    expect(agent.get_by_test_id("kbw-new")).to_be_hidden()
    open_entry(agent, entry.id, entry.id)
    expect(agent.get_by_test_id("kbw-field-question")).not_to_be_editable()
    expect(agent.get_by_test_id("kbw-save")).to_have_count(0)
    suggestion = "扣的手续费对不上"
    agent.get_by_test_id("kbw-suggest-input").fill(suggestion)
    agent.get_by_test_id("kbw-suggest").click()
    expect(agent.get_by_test_id("kbw-editor")).to_contain_text("已提交")

    # An editor accepts it in bulk: it becomes the entry's paraphrase in the draft.
    editor = console_page(browser, base, "shenhe", errors)
    editor.get_by_test_id("kbw-view-candidates").click()
    expect(editor.get_by_test_id("kbw-candidate").filter(has_text=suggestion)).to_be_visible()
    editor.get_by_test_id("kbw-candidates-all").check()
    editor.screenshot(path=str(SHOTS / "candidates.png"))
    editor.get_by_test_id("kbw-candidates-accept").click()
    expect(editor.get_by_test_id("kbw-candidates-result")).to_contain_text("已接受")
    editor.get_by_test_id("kbw-view-entries").click()
    open_entry(editor, entry.id, entry.id)
    expect(editor.get_by_test_id("kbw-paraphrase").last).to_have_value(suggestion)
    expect(editor.get_by_test_id("kbw-editor-changed")).to_be_visible()

    bad_file = tmp_path / "faq.csv"
    bad_file.write_text(
        "id,category,question,paraphrases,answer\n"
        "gift_card,其他,礼品卡怎么用？,礼品卡在哪里用,在 App 的礼品卡页面按提示兑换。\n"
        "bad_answer,其他,怎么找回钱？,钱被扣了怎么找回,请提供您的登录密码以便核实。\n",
        encoding="utf-8",
    )
    check_transfer(editor, bad_file)
    assert errors == []
    agent.context.close()
    editor.context.close()


def test_the_funnel_counts_the_widgets_answer_and_sorts(
    workspace_stack: RunningStack, browser: Browser, faqs: FAQCollection
) -> None:
    url = workspace_stack.settings.database_url
    ensure_account(url, "shenhe", "editor")
    base = workspace_stack.gateway_url
    entry = next(faq for faq in faqs.faqs if faq.id == "two_factor")
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    answered = widget_reply(browser, base, entry.question, errors, shot="funnel-traffic")
    assert entry.answer.strip().splitlines()[0][:12] in answered
    editor = console_page(browser, base, "shenhe", errors)
    check_funnel(editor, entry)
    assert errors == []
    editor.context.close()
