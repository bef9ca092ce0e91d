"""/healthz and the read-only KB endpoints of the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from kb.pipeline import BuildOutcome
from support.settings import Settings


@pytest.fixture
def client(built: BuildOutcome, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=f"sqlite:///{tmp_path / 'kefu.db'}",
        rasa_url="http://127.0.0.1:9",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_healthz_reports_the_kb(client: TestClient, built: BuildOutcome) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    kb = response.json()["components"]["kb"]
    assert kb == {"up": True, "build_id": built.manifest.build_id, "faqs": built.manifest.faqs}


def test_query_answers(client: TestClient) -> None:
    response = client.get("/api/kb/query", params={"q": "怎么注销账户"})
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "answer"
    assert body["candidates"][0]["id"] == "close_account"


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "q：至少需要 1 个字符"),
        ("   ", "问题不能为空"),
        ("长" * 1001, "q：不能超过 1000 个字符"),
    ],
)
def test_query_rejects_bad_input_in_chinese(
    client: TestClient, question: str, message: str
) -> None:
    response = client.get("/api/kb/query", params={"q": question})
    assert response.status_code == 422
    assert response.json()["detail"] == message


def test_manifest_shows_the_index_in_use(client: TestClient, built: BuildOutcome) -> None:
    body = client.get("/api/kb/manifest").json()
    assert body["build_id"] == built.manifest.build_id
    assert body["encoder"] == "use"
    assert set(body["thresholds"]) == {"answer", "margin", "clarify", "backed"}


def test_health_is_down_without_an_index(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "empty", database_url=f"sqlite:///{tmp_path / 'k.db'}")
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "down"
        assert "kefu kb build" in response.json()["components"]["kb"]["error"]
        assert client.get("/api/kb/query", params={"q": "充值"}).status_code == 503
