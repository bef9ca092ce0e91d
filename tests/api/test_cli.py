"""The `kefu` command line, driven in-process."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.index import Fusion, current_index_dir, read_manifest, set_current, write_manifest
from kb.pipeline import BuildOutcome
from ops.cli import app
from support.settings import get_settings
from tests.conftest import DEV_SPLIT

runner = CliRunner()


@pytest.fixture
def settings_for(monkeypatch: pytest.MonkeyPatch, built: BuildOutcome) -> Iterator[None]:
    """Point the CLI at the session's already-built index."""
    monkeypatch.setenv("KEFU_INDEX_DIR", str(built.directory.parent))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_help_lists_the_command_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("kb", "models", "demo"):
        assert group in result.output


def test_validate_passes_on_the_shipped_faq() -> None:
    result = runner.invoke(app, ["kb", "validate"])
    assert result.exit_code == 0, result.output
    assert "通过" in result.output


def test_validate_reports_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yml"
    bad.write_text(
        "faqs:\n  - id: x\n    category: 充值\n    question: 问题\n    answer: ''\n", "utf-8"
    )
    result = runner.invoke(app, ["kb", "validate", "--path", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:5: [x] answer: 回答不能为空" in result.output


@pytest.mark.usefixtures("settings_for")
def test_query_json_shape() -> None:
    result = runner.invoke(app, ["kb", "query", "充值一直没到账", "--json", "--top-k", "2"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["decision"] == "answer"
    assert payload["candidates"][0]["id"] == "topup_delay"
    assert len(payload["candidates"]) == 2
    assert payload["latency_ms"] > 0


@pytest.mark.usefixtures("settings_for")
def test_query_rejects_empty_text() -> None:
    result = runner.invoke(app, ["kb", "query", "   "])
    assert result.exit_code == 2


@pytest.mark.usefixtures("settings_for")
def test_eval_json_keys(tmp_path: Path) -> None:
    queries = tmp_path / "mini.jsonl"
    queries.write_text(
        '{"query": "怎么注销账户", "expected": "close_account"}\n'
        '{"query": "今天下雨吗", "expected": null}\n',
        "utf-8",
    )
    result = runner.invoke(app, ["kb", "eval", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {
        "top1",
        "top3",
        "oos_rejection",
        "wrong_answer_rate",
        "clarify_rate",
        "direct_answer_rate",
        "oos_clarify_rate",
        "p50_ms",
        "p95_ms",
        "n",
    }
    assert payload["n"] == 2
    assert payload["direct_answer_rate"] in (0.0, 1.0)
    assert payload["top1"] == 1.0
    assert payload["oos_rejection"] == 1.0


@pytest.mark.parametrize("head_weight", [0.0, 0.5])
def test_eval_on_the_file_that_taught_the_head_says_its_figures_are_optimistic(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, built: BuildOutcome, head_weight: float
) -> None:
    """The session's build was calibrated on the dev split, whose questions taught its
    head; when the head takes part in the scores, evaluating that file says so."""
    build = Path(shutil.copytree(built.directory, tmp_path / built.directory.name))
    set_current(tmp_path, build)
    manifest = read_manifest(build)
    write_manifest(build, replace(manifest, fusion=Fusion(0.6, head_weight)))
    monkeypatch.setenv("KEFU_INDEX_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["kb", "eval", str(DEV_SPLIT)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    questions = len(DEV_SPLIT.read_text("utf-8").splitlines())  # teach-only ones included
    warned = f"分类头学过这个文件里的 {questions} 条问题" in result.output
    assert warned == (head_weight > 0)
    if warned:
        assert "直接答对率是 " in result.output and "（未记录）" not in result.output


@pytest.mark.usefixtures("settings_for")
def test_eval_reports_a_bad_line(tmp_path: Path) -> None:
    queries = tmp_path / "bad.jsonl"
    queries.write_text('{"query": "x", "expected": "no_such_topic"}\n', "utf-8")
    result = runner.invoke(app, ["kb", "eval", str(queries)])
    assert result.exit_code == 1
    assert "未知的主题 id" in result.output


def test_rasa_and_the_action_server_get_their_secrets_by_the_environment() -> None:
    # A command line is readable by every local user (ps); the environment is not.
    from ops.cli import ACTION_SERVER_COMMAND
    from ops.rasa import rasa_environment, run_command
    from support.settings import Settings

    settings = Settings(rasa_token="rasa-secret", action_server_token="actions-secret")
    command = run_command(settings)
    assert not {"rasa-secret", "actions-secret", "--auth-token"} & set(command)
    assert not {"rasa-secret", "actions-secret"} & set(ACTION_SERVER_COMMAND)
    environment = rasa_environment(settings)
    assert environment["KEFU_RASA_TOKEN"] == "rasa-secret"
    assert environment["KEFU_ACTION_SERVER_TOKEN"] == "actions-secret"
    assert environment["KEFU_ACTION_ENDPOINT"].startswith("http://127.0.0.1:")


def test_agent_add_list_and_remove(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KEFU_DATABASE_URL", f"sqlite:///{tmp_path / 'kefu.db'}")
    monkeypatch.setenv("KEFU_AGENT_PASSWORD", "correct-horse-battery")
    get_settings.cache_clear()
    try:
        added = runner.invoke(app, ["agent", "add", "demo", "--admin"])
        assert added.exit_code == 0, added.output
        assert "demo" in runner.invoke(app, ["agent", "list"]).output

        removed = runner.invoke(app, ["agent", "remove", "demo"])
        assert removed.exit_code == 0, removed.output
        assert "已删除 demo" in removed.output
        assert "demo" not in runner.invoke(app, ["agent", "list"]).output

        again = runner.invoke(app, ["agent", "remove", "demo"])
        assert again.exit_code == 1
        assert "没有用户 demo" in again.output
    finally:
        get_settings.cache_clear()


def _copy_build(source: Path, root: Path, name: str, built_at: str, *, aged: bool = True) -> Path:
    build = Path(shutil.copytree(source, root / name))
    write_manifest(build, replace(read_manifest(build), build_id=name, built_at=built_at))
    if aged:  # last touched long ago
        os.utime(build / "manifest.json", (0, 0))
    return build


def _old_folder(path: Path) -> Path:
    path.mkdir()
    os.utime(path, (0, 0))
    return path


def test_prune_keeps_the_build_in_use_and_the_newest(
    tmp_path: Path, built: BuildOutcome, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "index"
    root.mkdir()
    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    builds = [
        _copy_build(built.directory, root, f"b{n}", f"{day}T00:00:00+00:00")
        for n, day in enumerate(days)
    ]
    # An old build that a rollback is reusing right now (its manifest was just rewritten).
    reused = _copy_build(built.directory, root, "a0", "2026-10-01T00:00:00+00:00", aged=False)
    set_current(root, builds[0])  # rolled back to the oldest
    crashed = _old_folder(root / ".0123456789abcdef.k2j3h4l5")  # left by a crashed build
    (root / ".0123456789abcdef-hnsw.building").mkdir()  # a build in progress
    cache = _old_folder(root / ".embeddings")  # the workspace's vector cache
    monkeypatch.setenv("KEFU_INDEX_DIR", str(root))
    get_settings.cache_clear()
    try:
        listed = runner.invoke(app, ["kb", "prune", "--keep", "2", "--dry-run"])
        assert listed.exit_code == 0, listed.output
        assert all((root / name).exists() for name in ("b1", "b2", crashed.name))
        result = runner.invoke(app, ["kb", "prune", "--keep", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "已删除 3 个旧构建" in result.output
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(
        [".0123456789abcdef-hnsw.building", cache.name, reused.name, "b0", "b3", "b4"]
    )
    assert current_index_dir(root) == builds[0]


def test_a_scenario_file_with_an_unknown_expectation_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    scenarios = tmp_path / "scenarios.yml"
    scenarios.write_text(
        "scenarios:\n  - name: 问候\n    turns:\n"
        "      - say: 你好\n        expect: {answered: x}\n",
        "utf-8",
    )
    result = runner.invoke(app, ["eval", "conversations", "--scenarios", str(scenarios)])
    assert result.exit_code == 2
    assert "未知的期望" in result.output and "answered" in result.output
