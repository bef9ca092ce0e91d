"""Console authentication: accounts, login, the cookie, CSRF, lock-out, and every route."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from api.console.deps import COOKIE_NAME, CSRF_HEADER
from support.accounts.service import AccountError, AccountService
from support.storage import session_factory
from tests.console.conftest import PASSWORD, Console, accounts_for, log_in
from tests.web.conftest import Gateway

# The only console routes open without a session.
PUBLIC = {("POST", "/api/agent/login"), ("GET", "/agent/assets/{name}")}


def _flatten(routes: Iterable[Any]) -> Iterator[Any]:
    """Every endpoint; FastAPI ≥ 0.160 keeps included routers as nested route groups."""
    for route in routes:
        nested = getattr(route, "effective_route_contexts", None)
        if nested is not None:
            yield from _flatten(nested())
        elif getattr(route, "methods", None) and getattr(route, "path", None):
            yield route


def _console_routes(gateway: Gateway) -> list[tuple[str, str]]:
    routes = []
    for route in _flatten(gateway.client.app.routes):  # type: ignore[attr-defined]
        if route.path == "/agent" or route.path.startswith(("/agent/", "/api/agent/")):
            routes.extend((method, route.path) for method in sorted(set(route.methods) - {"HEAD"}))
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_route_table_has_console_routes(gateway: Gateway) -> None:
    routes = _console_routes(gateway)
    assert ("GET", "/agent") in routes
    assert ("GET", "/api/agent/me") in routes
    assert len(routes) >= 5


def test_every_console_route_needs_a_session(gateway: Gateway) -> None:
    gateway.client.cookies.clear()
    checked = 0
    for method, path in _console_routes(gateway):
        if (method, path) in PUBLIC:
            continue
        response = gateway.client.request(method, _concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} → {response.status_code}"
        checked += 1
        # A forged or expired cookie is no better than none.
        response = gateway.client.request(
            method, _concrete(path), json={}, headers={"Cookie": f"{COOKIE_NAME}=forged"}
        )
        assert response.status_code == 401, f"{method} {path} with a forged cookie"
    assert checked >= 4


def test_console_page_without_login_is_401_with_a_login_form(gateway: Gateway) -> None:
    response = gateway.client.get("/agent")
    assert response.status_code == 401
    assert "登录" in response.text
    assert 'id="kefu-login"' in response.text


def test_login_sets_an_httponly_samesite_cookie(gateway: Gateway) -> None:
    accounts_for(gateway).add("alice", PASSWORD)
    response = gateway.client.post(
        "/api/agent/login", json={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE_NAME}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    body = response.json()
    assert body["username"] == "alice"
    assert body["is_admin"] is False
    assert len(body["csrf_token"]) >= 32
    # The cookie is not the CSRF token, and neither is stored in the clear.
    assert body["csrf_token"] not in cookie


def test_wrong_password_is_401_in_chinese(gateway: Gateway) -> None:
    accounts_for(gateway).add("alice", PASSWORD)
    for username, password in (("alice", "wrong password"), ("nobody", PASSWORD)):
        response = gateway.client.post(
            "/api/agent/login", json={"username": username, "password": password}
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "用户名或密码错误。"
        assert COOKIE_NAME not in response.headers.get("set-cookie", "")


def test_a_logged_in_agent_reaches_the_console(agent: Console) -> None:
    me = agent.get("/api/agent/me")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    page = agent.get("/agent")
    assert page.status_code == 200
    assert "客服工作台" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_writes_need_the_csrf_token(agent: Console) -> None:
    cookie = {"Cookie": f"{COOKIE_NAME}={agent.cookie}"}
    missing = agent.client.post("/api/agent/logout", headers=cookie)
    assert missing.status_code == 403
    assert "安全校验" in missing.json()["detail"]
    wrong = agent.client.post("/api/agent/logout", headers={**cookie, CSRF_HEADER: "x" * 43})
    assert wrong.status_code == 403
    # Still logged in: the rejected requests changed nothing.
    assert agent.get("/api/agent/me").status_code == 200
    assert agent.post("/api/agent/logout").status_code == 204
    assert agent.get("/api/agent/me").status_code == 401


def test_repeated_failed_logins_are_locked_out(gateway: Gateway) -> None:
    accounts_for(gateway).add("alice", PASSWORD)
    limit = gateway.settings.agent_login_failures
    for _ in range(limit):
        response = gateway.client.post(
            "/api/agent/login", json={"username": "alice", "password": "guess-guess"}
        )
        assert response.status_code == 401
    # Now even the right password is refused until the lock-out passes.
    locked = gateway.client.post(
        "/api/agent/login", json={"username": "alice", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.json()["detail"]
    assert int(locked.headers["retry-after"]) > 0


def test_login_body_is_validated_in_chinese(gateway: Gateway) -> None:
    response = gateway.client.post("/api/agent/login", json={"username": "alice"})
    assert response.status_code == 422
    assert "password" in response.json()["detail"]


def test_accounts_hash_passwords_and_reject_weak_ones(database_url: str) -> None:
    accounts = AccountService(session_factory(database_url))
    with pytest.raises(AccountError, match="至少需要 8 个字符"):
        accounts.add("bob", "short")
    with pytest.raises(AccountError, match="用户名"):
        accounts.add("坏 名字", PASSWORD)
    accounts.add("bob", PASSWORD)
    with pytest.raises(AccountError, match="已存在"):
        accounts.add("bob", PASSWORD)
    assert accounts.login("bob", PASSWORD) is not None
    assert accounts.login("bob", "not the password") is None
    from support.accounts.models import Agent

    with session_factory(database_url)() as session:
        stored = session.query(Agent).filter_by(username="bob").one().password_hash
    assert stored.startswith("$argon2")
    assert PASSWORD not in stored


def test_resetting_a_password_ends_old_sessions(database_url: str) -> None:
    accounts = AccountService(session_factory(database_url))
    accounts.add("bob", PASSWORD)
    login = accounts.login("bob", PASSWORD)
    assert login is not None and accounts.session(login.token) is not None
    accounts.set_password("bob", "another long password")
    assert accounts.session(login.token) is None
    assert accounts.login("bob", PASSWORD) is None


def test_each_agent_has_its_own_session(gateway: Gateway) -> None:
    accounts = accounts_for(gateway)
    accounts.add("alice", PASSWORD)
    accounts.add("bob", PASSWORD)
    alice, bob = log_in(gateway, "alice"), log_in(gateway, "bob")
    assert alice.get("/api/agent/me").json()["username"] == "alice"
    assert bob.get("/api/agent/me").json()["username"] == "bob"
    # One agent's CSRF token does not authorise another's session.
    swapped = Console(alice.client, "alice", alice.cookie, bob.csrf_token)
    assert swapped.post("/api/agent/logout").status_code == 403


def test_password_checks_leave_the_event_loop_free(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, finding 8: argon2 ran on the event loop, so eight failed logins at once
    held /healthz up for their whole duration. The password checks are held still here
    rather than timed, so that a busy machine cannot decide the result: while eight of
    them are stuck, /healthz must still answer."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from support.accounts import service
    from support.ratelimit import failure_counter

    accounts_for(gateway).add("alice", PASSWORD)
    client = gateway.client
    # Eight failures in a row must all reach the password check rather than the lock-out.
    client.app.state.login_failures = failure_counter(None, 1000, 900.0)  # type: ignore[attr-defined]

    real_hasher = service._hasher
    checking = threading.Semaphore(0)
    release = threading.Event()

    class HeldHasher:
        def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
            checking.release()
            release.wait(60)
            return real_hasher.verify_and_update(password, hashed)

    monkeypatch.setattr(service, "_hasher", HeldHasher())

    def failed_login() -> int:
        return client.post(
            "/api/agent/login", json={"username": "alice", "password": "not the password"}
        ).status_code

    logins = 8
    with ThreadPoolExecutor(logins + 1) as pool:
        burst = [pool.submit(failed_login) for _ in range(logins)]
        try:
            # At least one check has started and is held; the rest are running or queued.
            assert checking.acquire(timeout=30)
            time.sleep(0.2)  # let the other requests reach the server too
            health = pool.submit(lambda: client.get("/healthz").status_code)
            # On the loop (or in the default executor's few threads) this would wait for
            # the held checks, and the release below would never come first.
            assert health.result(timeout=30) == 200
            assert all(not login.done() for login in burst)
        finally:
            release.set()
        assert [login.result(timeout=60) for login in burst] == [401] * logins
