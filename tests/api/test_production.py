"""Production mode refuses an insecure setup (issue 15, finding 13).

``KEFU_ENV=production`` used to be nothing: the default Rasa token, the demo admin and
cookies without ``Secure`` were all accepted silently. Now the settings refuse each,
naming the setting to change in Chinese, and so do the gateway and ``kefu demo``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from kb.pipeline import BuildOutcome
from ops.demo import ensure_demo_agent
from support.accounts.service import DEMO_AGENT, AccountService
from support.settings import (
    DEFAULT_ACTION_SERVER_TOKEN,
    DEFAULT_RASA_TOKEN,
    InsecureProductionError,
    Settings,
)
from support.storage import migrate, session_factory
from tests.conftest import PROJECT_ROOT

SECURE: dict[str, Any] = {
    "env": "production",
    "rasa_token": "r4sa-t0ken-for-production-only",
    "action_server_token": "acti0n-t0ken-for-production-only",
}


@pytest.fixture(autouse=True)
def _no_kefu_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test sets: no KEFU_* from the shell running the tests."""
    for name in list(os.environ):
        if name.startswith("KEFU_") and not name.startswith("KEFU_TEST_"):
            monkeypatch.delenv(name)


def _refusal(**overrides: Any) -> InsecureProductionError:
    with pytest.raises(InsecureProductionError) as refused:
        Settings(**(SECURE | overrides))
    return refused.value


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"rasa_token": DEFAULT_RASA_TOKEN}, "KEFU_RASA_TOKEN"),
        ({"rasa_token": ""}, "KEFU_RASA_TOKEN"),
        ({"action_server_token": DEFAULT_ACTION_SERVER_TOKEN}, "KEFU_ACTION_SERVER_TOKEN"),
        ({"wechat_app_id": "wx1234567890", "wechat_token": ""}, "KEFU_WECHAT_TOKEN"),
        ({"wechat_aes_key": "k" * 43, "wechat_token": "abc"}, "KEFU_WECHAT_TOKEN"),
        ({"wechat_token": "kefu"}, "KEFU_WECHAT_TOKEN"),
        ({"agent_cookie_secure": False}, "KEFU_AGENT_COOKIE_SECURE"),
    ],
)
def test_each_insecure_setting_is_refused_by_name(overrides: dict[str, Any], setting: str) -> None:
    refusal = _refusal(**overrides)
    assert len(refusal.problems) == 1, refusal.problems
    assert setting in str(refusal)
    assert "生产环境（KEFU_ENV=production）拒绝启动" in str(refusal)


def test_every_problem_is_named_at_once_and_no_secret_is_printed() -> None:
    refusal = _refusal(
        rasa_token=DEFAULT_RASA_TOKEN,
        action_server_token=DEFAULT_ACTION_SERVER_TOKEN,
        wechat_app_secret="the-app-secret-value",
        wechat_token="",
        agent_cookie_secure=False,
    )
    assert len(refusal.problems) == 4
    # Not a pydantic ValidationError, which would quote every input value.
    assert "the-app-secret-value" not in str(refusal)


def test_the_environment_variable_turns_production_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_ENV", "production")
    with pytest.raises(InsecureProductionError, match="KEFU_RASA_TOKEN"):
        Settings()
    monkeypatch.setenv("KEFU_RASA_TOKEN", SECURE["rasa_token"])
    monkeypatch.setenv("KEFU_ACTION_SERVER_TOKEN", SECURE["action_server_token"])
    settings = Settings()
    assert settings.production and settings.cookie_secure


def test_development_keeps_its_defaults() -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.rasa_token == DEFAULT_RASA_TOKEN
    assert settings.cookie_secure is False  # the demo runs over http://127.0.0.1
    assert Settings(agent_cookie_secure=True).cookie_secure is True


def _production(built: BuildOutcome, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        **SECURE,
        index_dir=built.directory.parent,
        database_url=f"sqlite:///{tmp_path / 'kefu.db'}",
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
        **overrides,
    )


@pytest.fixture
def production(built: BuildOutcome, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_production(built, tmp_path))) as client:
        yield client


def test_a_secure_production_setup_starts(production: TestClient) -> None:
    response = production.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] in ("ok", "degraded")


def test_the_gateway_refuses_settings_that_skipped_validation(
    built: BuildOutcome, tmp_path: Path
) -> None:
    settings = _production(built, tmp_path).model_copy(update={"rasa_token": DEFAULT_RASA_TOKEN})
    with pytest.raises(InsecureProductionError, match="KEFU_RASA_TOKEN"):
        create_app(settings)


def test_the_gateway_refuses_to_start_while_the_demo_admin_exists(
    built: BuildOutcome, tmp_path: Path
) -> None:
    settings = _production(built, tmp_path)
    migrate(settings.database_url)
    accounts = AccountService(session_factory(settings.database_url))
    accounts.add(DEMO_AGENT, "printed on a terminal once", admin=True)
    with (
        pytest.raises(InsecureProductionError, match=f"演示管理员 {DEMO_AGENT}"),
        TestClient(create_app(settings)),
    ):
        pass
    # Once it is gone, the gateway starts.
    assert accounts.remove(DEMO_AGENT)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200


def test_production_never_creates_the_demo_admin(built: BuildOutcome, tmp_path: Path) -> None:
    settings = _production(built, tmp_path)
    assert ensure_demo_agent(settings) is None
    migrate(settings.database_url)
    assert AccountService(session_factory(settings.database_url)).get(DEMO_AGENT) is None


def test_kefu_demo_refuses_an_insecure_production_setup(tmp_path: Path) -> None:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("KEFU_")
    }
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "kefu"), "demo"],
        env=environment | {"KEFU_ENV": "production", "KEFU_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,  # no .env from the checkout
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "KEFU_RASA_TOKEN" in output
    assert "拒绝启动" in output
    # Refused before building or starting anything.
    assert not (tmp_path / "index").exists()
    assert not (tmp_path / "kefu.db").exists()
