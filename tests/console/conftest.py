"""The gateway with a scripted Rasa, plus agent accounts and logged-in console clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from api.console.deps import COOKIE_NAME, CSRF_HEADER
from support.accounts.service import AccountService
from support.storage import session_factory
from tests.web.conftest import FakeRasa, Gateway, gateway

PASSWORD = "correct horse battery"


@dataclass
class Console:
    """A logged-in agent on the gateway's client: its own cookie, and CSRF on writes.

    The cookie is sent explicitly (not from the client's jar) so that several agents
    and the widget can share one TestClient, and so one event loop.
    """

    client: TestClient
    username: str
    cookie: str
    csrf_token: str

    def _headers(self, write: bool) -> dict[str, str]:
        headers = {"Cookie": f"{COOKIE_NAME}={self.cookie}"}
        if write:
            headers[CSRF_HEADER] = self.csrf_token
        return headers

    def get(self, path: str, params: dict[str, object] | None = None) -> httpx.Response:
        return self.client.get(path, params=params, headers=self._headers(False))  # type: ignore[arg-type]

    def post(self, path: str, json: object = None) -> httpx.Response:
        return self.client.post(path, json=json, headers=self._headers(True))

    def patch(self, path: str, json: object = None) -> httpx.Response:
        return self.client.patch(path, json=json, headers=self._headers(True))


def accounts_for(gateway: Gateway) -> AccountService:
    return AccountService(session_factory(gateway.settings.database_url))


def log_in(gateway: Gateway, username: str, password: str = PASSWORD) -> Console:
    return log_in_client(gateway.client, username, password)


def log_in_client(client: TestClient, username: str, password: str = PASSWORD) -> Console:
    response = client.post("/api/agent/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    cookie = response.cookies[COOKIE_NAME]
    client.cookies.clear()
    return Console(client, username, cookie, response.json()["csrf_token"])


@pytest.fixture
def agent(gateway: Gateway) -> Iterator[Console]:
    """Agent ``alice`` (not an admin), logged in."""
    accounts_for(gateway).add("alice", PASSWORD)
    yield log_in(gateway, "alice")


@pytest.fixture
def admin(gateway: Gateway) -> Iterator[Console]:
    """Agent ``root`` with the admin flag, logged in."""
    accounts_for(gateway).add("root", PASSWORD, admin=True)
    yield log_in(gateway, "root")


__all__ = [
    "PASSWORD",
    "Console",
    "FakeRasa",
    "Gateway",
    "accounts_for",
    "gateway",
    "log_in",
    "log_in_client",
]
