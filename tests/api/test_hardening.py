"""What the gateway shows and how it is cached, framed and cookied (issue 15, finding 12).

Found open: /docs listing the agent API to anyone, /healthz and the KB manifest naming
the build, the encoder and the thresholds, a widget page without CSP or frame
protection, agent JSON without ``no-store``, and cookies without ``Secure``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.console.deps import COOKIE_NAME, CSRF_HEADER
from api.main import create_app
from api.web.static import STATIC
from kb.pipeline import BuildOutcome
from support.accounts.service import AccountService
from support.settings import Settings
from support.storage import session_factory

PASSWORD = "correct horse battery"
PRODUCTION: dict[str, Any] = {
    "env": "production",
    "rasa_token": "r4sa-t0ken-for-production-only",
    "action_server_token": "acti0n-t0ken-for-production-only",
}


def _client(built: BuildOutcome, tmp_path: Path, **overrides: Any) -> Iterator[TestClient]:
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=f"sqlite:///{tmp_path / 'kefu.db'}",
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
        **overrides,
    )
    # https: TestClient's cookie jar keeps a Secure cookie only for https addresses.
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        AccountService(session_factory(settings.database_url)).add("alice", PASSWORD)
        yield client


@pytest.fixture
def development(built: BuildOutcome, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(built, tmp_path)


@pytest.fixture
def production(built: BuildOutcome, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(built, tmp_path, **PRODUCTION)


def _log_in(client: TestClient) -> dict[str, str]:
    """Logs alice in on the client's cookie jar; returns the CSRF header for writes."""
    response = client.post("/api/agent/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {CSRF_HEADER: response.json()["csrf_token"]}


# The API's map


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_production_hides_the_api_docs(production: TestClient, path: str) -> None:
    assert production.get(path).status_code == 404
    _log_in(production)
    assert production.get(path).status_code == 404


def test_development_keeps_the_api_docs(development: TestClient) -> None:
    assert development.get("/docs").status_code == 200
    assert "/api/agent/login" in development.get("/openapi.json").json()["paths"]


# Internals


def test_production_health_shows_strangers_the_status_alone(production: TestClient) -> None:
    anonymous = production.get("/healthz")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": anonymous.json()["status"]}
    assert anonymous.json()["status"] in ("ok", "degraded")
    _log_in(production)
    logged_in = production.get("/healthz").json()
    assert logged_in["components"]["kb"]["build_id"]


def test_production_manifest_shows_strangers_no_internals(
    production: TestClient, built: BuildOutcome
) -> None:
    anonymous = production.get("/api/kb/manifest")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}
    for internal in (built.manifest.build_id, "thresholds", "encoder"):
        assert internal not in anonymous.text
    _log_in(production)
    logged_in = production.get("/api/kb/manifest").json()
    assert logged_in["build_id"] == built.manifest.build_id
    assert set(logged_in["thresholds"]) == {"answer", "margin", "clarify", "backed"}


def test_a_forged_cookie_unlocks_nothing(production: TestClient) -> None:
    production.cookies.set(COOKIE_NAME, "forged")
    assert "components" not in production.get("/healthz").json()
    assert production.get("/api/kb/manifest").json() == {"status": "ok"}


def test_development_shows_the_internals(development: TestClient) -> None:
    assert "components" in development.get("/healthz").json()
    assert "build_id" in development.get("/api/kb/manifest").json()


# The widget page and the widget's files


def _style_hash(page: str) -> str:
    block = re.search(r"<style>(.*?)</style>", page, re.DOTALL)
    assert block is not None
    digest = hashlib.sha256(block.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def test_the_help_page_has_a_strict_csp_and_cannot_be_framed(development: TestClient) -> None:
    response = development.get("/")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy  # no inline script, no eval
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    # The page's own inline <style> is allowed by its hash, and nothing else inline.
    assert _style_hash(response.text) in policy
    assert "'unsafe-inline'" not in policy
    assert _style_hash((STATIC / "index.html").read_text(encoding="utf-8")) in policy


@pytest.mark.parametrize("path", ["/widget.js", "/widget.css"])
def test_the_widget_files_stay_embeddable_on_other_sites(
    development: TestClient, path: str
) -> None:
    response = development.get(path, headers={"Origin": "https://shop.example"})
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    # Loaded by other sites' pages: nothing that would stop them.
    for header in ("x-frame-options", "content-security-policy", "cross-origin-resource-policy"):
        assert header not in response.headers


# Caching


def test_agent_and_chat_responses_are_never_stored(development: TestClient) -> None:
    refused = development.get("/api/agent/me")
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
    login = development.post("/api/agent/login", json={"username": "alice", "password": PASSWORD})
    assert login.headers["cache-control"] == "no-store"
    csrf = {CSRF_HEADER: login.json()["csrf_token"]}
    for path in ("/api/agent/me", "/api/agent/escalations", "/api/agent/tickets"):
        response = development.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
    logout = development.post("/api/agent/logout", headers=csrf)
    assert logout.status_code == 204
    assert logout.headers["cache-control"] == "no-store"
    created = development.post("/api/chat/sessions")
    assert created.headers["cache-control"] == "no-store"
    # Public files keep their own caching.
    assert development.get("/widget.js").headers["cache-control"] == "no-cache"


# Cookies


def _cookie(client: TestClient) -> str:
    response = client.post("/api/agent/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    return response.headers["set-cookie"]


def test_production_cookies_are_secure_by_default(production: TestClient) -> None:
    cookie = _cookie(production)
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_development_cookies_work_over_plain_http(development: TestClient) -> None:
    assert "Secure" not in _cookie(development)


def test_secure_cookies_can_be_asked_for_in_development(
    built: BuildOutcome, tmp_path: Path
) -> None:
    for client in _client(built, tmp_path, agent_cookie_secure=True):
        assert "Secure" in _cookie(client)
