"""Rebuilding and hot-reloading the KB: the console's button, and `kefu kb build` alone
(a running gateway follows CURRENT, with no call to it)."""

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
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from kb.index import current_index_dir, set_current
from kb.pipeline import BuildOutcome
from ops.cli import app as cli
from ops.stack import free_port
from support.knowledge import service as knowledge_service
from support.settings import Settings, get_settings
from tests.conftest import DEV_SPLIT
from tests.console.conftest import Console, FakeRasa, Gateway
from tests.faq_changes import BROKEN_FAQS, NEW_FAQ, NEW_FAQ_ID, NEW_FAQ_QUESTION, append, copy_faq


def kb_settings(tmp_path: Path, built: BuildOutcome, database_url: str) -> Settings:
    """An index root and FAQ file of the test's own, starting from the session's build."""
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    set_current(index_dir, Path(shutil.copytree(built.directory, index_dir / built.directory.name)))
    return Settings(
        index_dir=index_dir,
        faq_path=copy_faq(tmp_path / "data"),
        calibration_path=DEV_SPLIT,
        database_url=database_url,
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
    assert set(manifest["thresholds"]) == {"answer", "margin", "clarify"}
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


def test_admin_reload_rebuilds_and_swaps(gateway: Gateway, admin: Console) -> None:
    old = admin.get("/api/agent/kb/manifest").json()
    assert top_answer(gateway) != NEW_FAQ_ID
    append(gateway.settings.faq_path, NEW_FAQ)

    response = admin.post("/api/agent/kb/reload")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rebuilt"] is True
    assert body["build_id"] != old["build_id"]
    assert body["manifest"]["faqs"] == old["manifest"]["faqs"] + 1
    assert body["manifest"]["calibration"]["sha256"]  # recalibrated on the dev split
    # The gateway answers from the new build, and CURRENT (for the action server) names it.
    assert top_answer(gateway) == NEW_FAQ_ID
    current = current_index_dir(gateway.settings.index_dir)
    assert current is not None
    assert current.name == body["build_id"]
    now = admin.get("/api/agent/kb/manifest").json()
    assert (now["build_id"], now["current_build_id"], now["in_sync"]) == (
        body["build_id"],
        body["build_id"],
        True,
    )


def test_an_invalid_faq_is_422_with_lines_and_the_old_kb_keeps_serving(
    gateway: Gateway, admin: Console, built: BuildOutcome
) -> None:
    faq = gateway.settings.faq_path
    first = append(faq, BROKEN_FAQS)
    response = admin.post("/api/agent/kb/reload")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("FAQ 文件有 3 个问题，知识库没有更新：")
    assert body["errors"] == [
        f"{faq}:{first + 3}: [broken_answer] paraphrases: 至少需要一条繁体字释义",
        f"{faq}:{first + 4}: [broken_answer] answer: 回答不能为空",
        f"{faq}:{first + 8}: [broken_paraphrases] paraphrases: 至少需要 8 条释义，现在只有 1 条",
    ]
    manifest = admin.get("/api/agent/kb/manifest").json()
    assert manifest["build_id"] == manifest["current_build_id"] == built.manifest.build_id
    assert top_answer(gateway, "充值一直没到账") == "topup_delay"


def test_queries_during_a_reload_all_succeed(gateway: Gateway, admin: Console) -> None:
    append(gateway.settings.faq_path, NEW_FAQ)
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
            response = admin.post("/api/agent/kb/reload")
        finally:
            time.sleep(0.3)
            done.set()
        per_thread = [future.result() for future in futures]
    assert response.status_code == 200, response.text
    assert response.json()["rebuilt"] is True
    assert sum(len(results) for results in per_thread) > 10
    for results in per_thread:
        assert {status for status, _ in results} == {200}
        # Old answers, then only new ones: the swap is one step, never back and forth.
        new = [top == NEW_FAQ_ID for _, top in results]
        assert new == sorted(new)
        assert not new[0]
    assert any(results[-1][1] == NEW_FAQ_ID for results in per_thread)
    assert top_answer(gateway) == NEW_FAQ_ID


def test_a_second_reload_while_one_runs_is_409(
    gateway: Gateway, admin: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    real_build = knowledge_service.build_knowledge_base

    def slow_build(*args: Any, **kwargs: Any) -> BuildOutcome:
        started.set()
        release.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(knowledge_service, "build_knowledge_base", slow_build)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(admin.post, "/api/agent/kb/reload")
        assert started.wait(30)
        try:
            second = admin.post("/api/agent/kb/reload")
        finally:
            release.set()
        assert first.result().status_code == 200
    assert second.status_code == 409
    assert second.json()["detail"] == "知识库正在重建，请稍后"
    # Once it is done, the next one may go ahead.
    assert admin.post("/api/agent/kb/reload").status_code == 200


# `kefu kb build` next to a gateway listening on a real port: the gateway follows CURRENT


@pytest.fixture
def live(built: BuildOutcome, database_url: str, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = kb_settings(tmp_path, built, database_url)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, dialogue=FakeRasa()),
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}", settings
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def kefu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Runs `kefu` in-process with the test's settings (an index and FAQ of its own)."""

    def run(settings: Settings, *arguments: str) -> Any:
        monkeypatch.setenv("KEFU_INDEX_DIR", str(settings.index_dir))
        monkeypatch.setenv("KEFU_FAQ_PATH", str(settings.faq_path))
        monkeypatch.setenv("KEFU_CALIBRATION_PATH", str(settings.calibration_path))
        monkeypatch.setenv("KEFU_ENCODER", "use")
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


def test_kefu_kb_build_alone_updates_a_running_gateway(
    live: tuple[str, Settings], kefu: Callable[..., Any]
) -> None:
    url, settings = live
    assert answer_to(url) != NEW_FAQ_ID
    append(settings.faq_path, NEW_FAQ)

    result = kefu(settings, "kb", "build")
    assert result.exit_code == 0, result.output
    current = current_index_dir(settings.index_dir)
    assert current is not None
    assert f"已构建索引 {current.name}" in result.output
    assert "自动换用" in result.output
    # No login, no reload call: the gateway notices CURRENT moved and swaps by itself.
    wait_for_answer(url, NEW_FAQ_ID)
    manifest = httpx.get(f"{url}/api/kb/manifest").json()
    assert (manifest["build_id"], manifest["faqs"]) == (current.name, 29)


def test_a_broken_faq_fails_the_build_and_the_gateway_keeps_serving(
    live: tuple[str, Settings], kefu: Callable[..., Any], built: BuildOutcome
) -> None:
    url, settings = live
    first = append(settings.faq_path, BROKEN_FAQS)
    broken = kefu(settings, "kb", "build")
    assert broken.exit_code == 1
    assert "FAQ 有 3 个问题，知识库没有更新" in broken.output
    assert f"{settings.faq_path}:{first + 4}: [broken_answer] answer: 回答不能为空" in broken.output
    current = current_index_dir(settings.index_dir)
    assert current is not None
    assert current.name == built.manifest.build_id
    assert answer_to(url, "充值一直没到账") == "topup_delay"


def test_kefu_kb_reload_is_now_a_build(
    live: tuple[str, Settings], kefu: Callable[..., Any]
) -> None:
    url, settings = live
    append(settings.faq_path, NEW_FAQ)
    # Old scripts pass the options of the HTTP reload; they are accepted and ignored.
    result = kefu(settings, "kb", "reload", "--url", url, "--username", "root")
    assert result.exit_code == 0, result.output
    assert "kefu kb build" in result.output
    assert "已构建索引" in result.output
    wait_for_answer(url, NEW_FAQ_ID)
    assert "reload" not in kefu(settings, "kb", "--help").output
