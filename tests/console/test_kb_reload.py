"""Publishing and hot-reloading the KB: the knowledge workspace's publish and rollback
over HTTP with roles, 409s and the eval gate; the console's rebuild button; and the
`kefu kb` commands alone (a running gateway follows CURRENT, with no call to it)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from kb.index import current_index_dir, set_current
from kb.pipeline import BuildOutcome
from ops.cli import app as cli
from ops.stack import free_port
from support.knowledge import flows as knowledge_flows
from support.settings import Settings, get_settings
from tests.conftest import DEV_SPLIT
from tests.console.conftest import PASSWORD, Console, FakeRasa, Gateway, accounts_for, log_in
from tests.faq_changes import BROKEN_FAQS, NEW_FAQ, NEW_FAQ_ID, NEW_FAQ_QUESTION, append, copy_faq
from tests.servers import serving

# Publishing runs calibration and the eval gate: on a slice of the dev split here, so a
# publish takes seconds; the full sets are the bench's and `kefu kb eval`'s.
EVAL_SLICE = 130  # 20 of them out of scope: enough to calibrate (MIN_CALIBRATION_*)
NEW_ENTRY = {
    "id": NEW_FAQ_ID,
    "category": "其他",
    "question": "可以绑定数字人民币钱包吗？",
    "paraphrases": ["支持绑定数字人民币钱包吗", "数字人民币能绑定吗", "e-CNY 可以用吗"],
    "answer": "目前暂不支持绑定数字人民币钱包，上线后会在 App 公告中通知。",
}


def kb_settings(tmp_path: Path, built: BuildOutcome, database_url: str) -> Settings:
    """An index root and FAQ file of the test's own, starting from the session's build."""
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    set_current(index_dir, Path(shutil.copytree(built.directory, index_dir / built.directory.name)))
    evaluation = tmp_path / "eval" / "dev.jsonl"
    evaluation.parent.mkdir()
    lines = DEV_SPLIT.read_text("utf-8").splitlines(keepends=True)
    evaluation.write_text("".join(lines[:EVAL_SLICE]), "utf-8")
    return Settings(
        data_dir=tmp_path,
        index_dir=index_dir,
        faq_path=copy_faq(tmp_path / "data"),
        calibration_path=evaluation,
        database_url=database_url,
        encoder="use",  # the session build's encoder, as `kefu` below is told
        rasa_url="http://127.0.0.1:9",
        # One address queries as fast as it can for as long as a rebuild takes.
        address_kb_query_limit=10**9,
        action_server_port=9,
    )


@pytest.fixture
def gateway(built: BuildOutcome, database_url: str, tmp_path: Path) -> Iterator[Gateway]:
    """Overrides the shared gateway: a rebuild here must not touch the session's index."""
    rasa = FakeRasa()
    settings = kb_settings(tmp_path, built, database_url)
    with TestClient(create_app(settings, dialogue=rasa)) as client:
        yield Gateway(client, rasa, settings)


def top_answer(gateway: Gateway, question: str = NEW_FAQ_QUESTION) -> str | None:
    response = gateway.client.get("/api/kb/query", params={"q": question})
    assert response.status_code == 200, response.text
    candidates = response.json()["candidates"]
    return str(candidates[0]["id"]) if candidates else None


def test_any_agent_sees_the_manifest_in_use(agent: Console, built: BuildOutcome) -> None:
    response = agent.get("/api/agent/kb/manifest")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["build_id"] == body["current_build_id"] == built.manifest.build_id
    assert body["in_sync"] is True
    manifest = body["manifest"]
    assert manifest["encoder"] == "use"
    assert (manifest["faqs"], manifest["rows"]) == (built.manifest.faqs, built.manifest.rows)
    assert manifest["content_hash"] == built.manifest.content_hash
    assert set(manifest["thresholds"]) == {"answer", "margin", "clarify", "backed"}
    assert manifest["built_at"] == built.manifest.built_at


def test_non_admins_may_not_reload(agent: Console) -> None:
    response = agent.post("/api/agent/kb/reload")
    assert response.status_code == 403
    assert response.json()["detail"] == "这个操作需要管理员权限。"


def test_an_unchanged_faq_reuses_the_build(admin: Console, built: BuildOutcome) -> None:
    response = admin.post("/api/agent/kb/reload")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rebuilt"] is False
    assert body["build_id"] == body["manifest"]["build_id"] == built.manifest.build_id
    assert body["seconds"] >= 0


def put(console: Console, path: str, json: object) -> httpx.Response:
    return console.client.put(path, json=json, headers=console._headers(True))


def upload(console: Console, path: str, content: bytes, **params: str) -> httpx.Response:
    return console.client.post(path, content=content, params=params, headers=console._headers(True))


@pytest.fixture
def editor(gateway: Gateway) -> Console:
    accounts_for(gateway).add("erin", PASSWORD, role="editor")
    return log_in(gateway, "erin")


def test_roles_decide_who_edits_publishes_and_rolls_back(
    gateway: Gateway, agent: Console, editor: Console, admin: Console
) -> None:
    assert agent.get("/api/agent/kb/me").json()["can_edit"] is False
    assert editor.get("/api/agent/kb/me").json()["can_rollback"] is False
    assert admin.get("/api/agent/kb/me").json()["role"] == "admin"
    assert agent.get("/api/agent/kb/entries", {"q": "密码"}).json()["total"] > 0
    assert agent.post("/api/agent/kb/entries", NEW_ENTRY).status_code == 403
    assert agent.post("/api/agent/kb/publish", {}).status_code == 403
    suggestion = agent.post("/api/agent/kb/candidates", {"query": "数币怎么绑", "faq_id": "fees"})
    assert suggestion.status_code == 201, suggestion.text
    assert editor.post("/api/agent/kb/rollback", {}).status_code == 403
    assert editor.post("/api/agent/kb/publish", {"override_gate": True}).status_code == 403
    assert put(editor, "/api/agent/kb/roles/alice", {"role": "editor"}).status_code == 403
    promoted = put(admin, "/api/agent/kb/roles/alice", {"role": "editor"})
    assert promoted.status_code == 200 and promoted.json()["can_publish"] is True
    assert agent.post("/api/agent/kb/entries", NEW_ENTRY).status_code == 201  # alice, now editor
    actions = [item["action"] for item in admin.get("/api/agent/kb/audit").json()["items"]]
    assert actions[:3] == ["entry.create", "role.update", "candidate.suggest"]


def test_an_editor_publishes_and_an_admin_rolls_back(
    gateway: Gateway, editor: Console, admin: Console
) -> None:
    assert top_answer(gateway) != NEW_FAQ_ID
    created = editor.post("/api/agent/kb/entries", NEW_ENTRY)
    assert created.status_code == 201, created.text
    assert created.json()["changed"] is True

    tested = editor.post("/api/agent/kb/hit-test", {"query": NEW_FAQ_QUESTION, "top_k": 3})
    assert tested.status_code == 200, tested.text
    sides = tested.json()
    assert sides["draft"]["candidates"][0]["id"] == NEW_FAQ_ID
    assert NEW_FAQ_ID not in [c["id"] for c in sides["published"]["candidates"]]
    assert set(sides["published"]["thresholds"]) >= {"answer", "margin", "clarify", "backed"}
    assert [c["id"] for c in editor.get("/api/agent/kb/draft").json()["changes"]] == [NEW_FAQ_ID]

    published = editor.post("/api/agent/kb/publish", {"note": "新增数字人民币"})
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["version"]["number"] == 2 and body["gate"]["passed"] is True
    assert top_answer(gateway) == NEW_FAQ_ID  # this process swapped before answering
    current = current_index_dir(gateway.settings.index_dir)
    assert current is not None and current.name == body["build_id"]  # the others follow it

    rolled = admin.post("/api/agent/kb/rollback", {})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"]["rollback_of"] == 1
    assert top_answer(gateway) != NEW_FAQ_ID
    versions = admin.get("/api/agent/kb/versions").json()
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert admin.get("/api/agent/kb/versions/2").json()["diff"][0]["kind"] == "added"


def test_a_second_editor_gets_409_with_what_changed(gateway: Gateway, editor: Console) -> None:
    entry = editor.get("/api/agent/kb/entries/topup_delay").json()
    first = put(
        editor,
        "/api/agent/kb/entries/topup_delay",
        {"revision": entry["revision"], "answer": "第一位编辑的回答。"},
    )
    assert first.status_code == 200, first.text
    second = put(
        editor,
        "/api/agent/kb/entries/topup_delay",
        {"revision": entry["revision"], "answer": "第二位编辑的回答。"},
    )
    assert second.status_code == 409
    conflict = second.json()
    assert conflict["current"]["answer"] == "第一位编辑的回答。"
    assert conflict["changes"] == [
        {"field": "answer", "before": entry["answer"], "after": "第一位编辑的回答。"}
    ]
    secret = put(
        editor,
        "/api/agent/kb/entries/topup_delay",
        {"revision": first.json()["revision"], "answer": "请提供您的短信验证码"},
    )
    assert secret.status_code == 422
    assert secret.json()["issues"][0]["field"] == "answer"


def test_an_invalid_import_is_422_by_row_and_the_old_kb_keeps_serving(
    gateway: Gateway, editor: Console, built: BuildOutcome
) -> None:
    exported = editor.get("/api/agent/kb/export", {"format": "yaml"})
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    broken = exported.content + BROKEN_FAQS.encode()
    response = upload(editor, "/api/agent/kb/import", broken, format="yaml")
    assert response.status_code == 422
    body = response.json()
    assert [(i["entry"], i["field"]) for i in body["errors"]] == [("broken_answer", "answer")]
    assert body["errors"][0]["row"] > 1
    # Too few paraphrases, no traditional one: warnings with advice, not errors.
    assert {w["entry"] for w in body["warnings"]} >= {"broken_paraphrases"}
    manifest = editor.get("/api/agent/kb/manifest").json()
    assert manifest["build_id"] == manifest["current_build_id"] == built.manifest.build_id
    assert top_answer(gateway, "充值一直没到账") == "topup_delay"
    ok = upload(editor, "/api/agent/kb/import", exported.content, format="yaml")
    assert ok.status_code == 200 and ok.json()["updated"] == 0


def test_queries_during_a_publish_all_succeed(gateway: Gateway, editor: Console) -> None:
    assert editor.post("/api/agent/kb/entries", NEW_ENTRY).status_code == 201
    done = threading.Event()

    def hammer() -> list[tuple[int, str | None]]:
        seen = []
        while not done.is_set():
            response = gateway.client.get("/api/kb/query", params={"q": NEW_FAQ_QUESTION})
            top = response.json()["candidates"][0]["id"] if response.status_code == 200 else None
            seen.append((response.status_code, top))
        return seen

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(hammer) for _ in range(3)]
        time.sleep(0.3)
        try:
            response = editor.post("/api/agent/kb/publish", {})
        finally:
            time.sleep(0.3)
            done.set()
        per_thread = [future.result() for future in futures]
    assert response.status_code == 200, response.text
    assert sum(len(results) for results in per_thread) > 10
    for results in per_thread:
        assert {status for status, _ in results} == {200}
        # Old answers, then only new ones: the swap is one step, never back and forth.
        new = [top == NEW_FAQ_ID for _, top in results]
        assert new == sorted(new)
        assert not new[0]
    assert top_answer(gateway) == NEW_FAQ_ID


def test_a_second_publish_while_one_runs_is_409(
    gateway: Gateway, editor: Console, admin: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    real_build = knowledge_flows.build_index

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(knowledge_flows, "build_index", slow_build)
    assert editor.post("/api/agent/kb/entries", NEW_ENTRY).status_code == 201
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(editor.post, "/api/agent/kb/publish", {})
        assert started.wait(30)
        try:
            second = editor.post("/api/agent/kb/publish", {})
            reload = admin.post("/api/agent/kb/reload")
        finally:
            release.set()
        assert first.result().status_code == 200
    assert second.status_code == reload.status_code == 409
    assert second.json()["detail"] == "知识库正在发布或重建，请稍后"
    # Once it is done, the next one may go ahead.
    assert admin.post("/api/agent/kb/reload").status_code == 200


# `kefu kb build` next to a gateway listening on a real port: the gateway follows CURRENT


@pytest.fixture
def live(built: BuildOutcome, database_url: str, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = kb_settings(tmp_path, built, database_url)
    with serving(create_app(settings, dialogue=FakeRasa()), free_port()) as url:
        yield url, settings


@pytest.fixture
def kefu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Runs `kefu` in-process with the test's settings (an index and FAQ of its own)."""

    def run(settings: Settings, *arguments: str) -> Any:
        monkeypatch.setenv("KEFU_INDEX_DIR", str(settings.index_dir))
        monkeypatch.setenv("KEFU_FAQ_PATH", str(settings.faq_path))
        monkeypatch.setenv("KEFU_CALIBRATION_PATH", str(settings.calibration_path))
        monkeypatch.setenv("KEFU_ENCODER", "use")
        # The same database as the gateway: the versions live there.
        monkeypatch.setenv("KEFU_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("KEFU_DATA_DIR", str(settings.data_dir))
        get_settings.cache_clear()
        return CliRunner().invoke(cli, list(arguments))

    yield run
    get_settings.cache_clear()


def answer_to(url: str, question: str = NEW_FAQ_QUESTION) -> str:
    response = httpx.get(f"{url}/api/kb/query", params={"q": question})
    assert response.status_code == 200, response.text
    return str(response.json()["candidates"][0]["id"])


def wait_for_answer(url: str, expected: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while answer_to(url) != expected:
        assert time.monotonic() < deadline, "the gateway did not follow CURRENT"
        time.sleep(0.1)


def test_kefu_kb_import_and_publish_alone_update_a_running_gateway(
    live: tuple[str, Settings], kefu: Callable[..., Any], built: BuildOutcome
) -> None:
    url, settings = live
    assert answer_to(url) != NEW_FAQ_ID
    append(settings.faq_path, NEW_FAQ)

    result = kefu(settings, "kb", "import", str(settings.faq_path), "--publish")
    assert result.exit_code == 0, result.output
    assert "新建 1 条" in result.output
    current = current_index_dir(settings.index_dir)
    assert current is not None
    assert f"索引 {current.name}" in result.output
    assert "换用" in result.output
    # No login, no reload call: the gateway notices CURRENT moved and swaps by itself.
    wait_for_answer(url, NEW_FAQ_ID)
    manifest = httpx.get(f"{url}/api/kb/manifest").json()
    assert (manifest["build_id"], manifest["faqs"]) == (current.name, built.manifest.faqs + 1)


def test_a_broken_faq_fails_the_build_and_the_gateway_keeps_serving(
    live: tuple[str, Settings], kefu: Callable[..., Any], built: BuildOutcome
) -> None:
    url, settings = live
    first = append(settings.faq_path, BROKEN_FAQS)
    broken = kefu(settings, "kb", "import", str(settings.faq_path), "--publish")
    assert broken.exit_code == 1
    assert "1 处错误，没有导入任何条目" in broken.output
    assert f"第 {first + 4} 行 [broken_answer] answer：回答不能为空" in broken.output
    current = current_index_dir(settings.index_dir)
    assert current is not None
    assert current.name == built.manifest.build_id
    assert answer_to(url, "充值一直没到账") == "topup_delay"


def test_kefu_kb_build_and_reload_build_the_published_version(
    live: tuple[str, Settings], kefu: Callable[..., Any], built: BuildOutcome
) -> None:
    url, settings = live
    append(settings.faq_path, NEW_FAQ)  # an edited file is not live until imported
    # Old scripts pass the options of the HTTP reload; they are accepted and ignored.
    result = kefu(settings, "kb", "reload", "--url", url, "--username", "root")
    assert result.exit_code == 0, result.output
    assert "kefu kb build" in result.output
    assert f"内容和编码器权重都没变，沿用索引 {built.manifest.build_id}" in result.output
    assert answer_to(url) != NEW_FAQ_ID
    assert "reload" not in kefu(settings, "kb", "--help").output
    exported = kefu(settings, "kb", "export")
    assert exported.exit_code == 0 and "faqs:" in exported.output
    assert NEW_FAQ_ID not in exported.output
