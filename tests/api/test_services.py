"""Services are built once, in the lifespan, and every dependency hands one out."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from api.console import deps as console_deps
from api.core import abuse
from api.core import deps as core_deps
from api.main import create_app
from kb.pipeline import BuildOutcome
from support.settings import Settings


def _providers() -> list[Callable[[Request], Any]]:
    return [
        function
        for module in (core_deps, console_deps, abuse)
        for name, function in vars(module).items()
        if name.startswith("get_")
        and inspect.isfunction(function)
        and list(inspect.signature(function).parameters) == ["request"]
    ]


@pytest.fixture
def client(built: BuildOutcome, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=f"sqlite:///{tmp_path / 'kefu.db'}",
        rasa_url="http://127.0.0.1:9",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_every_dependency_finds_its_service(client: TestClient) -> None:
    providers = _providers()
    assert {provider.__name__ for provider in providers} >= {
        "get_settings",
        "get_knowledge",
        "get_conversations",
        "get_tickets",
        "get_accounts",
        "get_analytics",
        "get_suggestions",
        "get_bus",
        "get_desk",
        "get_abuse_limits",
    }
    request = Request({"type": "http", "app": client.app})
    for provider in providers:
        first, second = provider(request), provider(request)
        assert first is not None, provider.__name__
        assert first is second, f"{provider.__name__} builds a new service per call"


def test_the_wechat_service_is_built_at_start_up(client: TestClient) -> None:
    from api.wechat.routes import get_wechat
    from api.wechat.service import WeChatService

    state = client.app.state  # type: ignore[attr-defined]
    assert isinstance(state.wechat, WeChatService)
    request = Request({"type": "http", "app": client.app})
    assert get_wechat(request) is get_wechat(request) is state.wechat
