"""The gateway's part of a turn's request id (the action server's: tests/api/test_request_id.py)."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import httpx
import pytest

from ops.stack import RunningStack
from support.logs import REQUEST_ID_HEADER
from tests.web.conftest import Gateway

TURN_LOGGERS = ("support.", "api.")


def test_the_gateway_answers_with_the_callers_id_or_a_new_one(gateway: Gateway) -> None:
    given = gateway.client.post("/api/chat/sessions", headers={REQUEST_ID_HEADER: "lb-42.a:b"})
    assert given.headers[REQUEST_ID_HEADER] == "lb-42.a:b"
    made = [gateway.client.post("/api/chat/sessions").headers[REQUEST_ID_HEADER] for _ in "ab"]
    assert made[0] != made[1] and all(len(made_id) >= 16 for made_id in made)
    # An id that could forge log lines (spaces, newlines, quotes) is replaced.
    forged = gateway.client.post(
        "/api/chat/sessions", headers={REQUEST_ID_HEADER: 'x" level=ERROR'}
    ).headers[REQUEST_ID_HEADER]
    assert "ERROR" not in forged and " " not in forged


def test_every_log_line_of_a_turn_carries_its_id(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    session_id, headers = gateway.session()
    gateway.rasa.down = True  # the degraded path logs a warning as well as the turn
    with caplog.at_level(logging.INFO):
        caplog.clear()
        response = gateway.say(
            session_id, {**headers, REQUEST_ID_HEADER: "turn-0001"}, text="提现多久到账"
        )
    assert response.status_code == 200
    turn_lines = [r for r in caplog.records if r.name.startswith(TURN_LOGGERS)]
    assert {r.name for r in turn_lines} >= {"support.conversations.flows"}
    assert len(turn_lines) >= 2  # Rasa is down, and the turn is done
    assert {getattr(r, "request_id", None) for r in turn_lines} == {"turn-0001"}


def test_one_turn_is_followed_through_every_process_log(live_stack: RunningStack) -> None:
    """Gateway → Rasa (header) → action server (tracker metadata), on the real stack."""
    url = live_stack.gateway_url
    created = httpx.post(f"{url}/api/chat/sessions", timeout=10).json()
    turn_id = f"e2e-{uuid.uuid4().hex[:12]}"
    answered = httpx.post(
        f"{url}/api/chat/sessions/{created['session_id']}/messages",
        json={"text": "提现多久能到账"},  # the FAQ action runs on the action server
        headers={"Authorization": f"Bearer {created['token']}", REQUEST_ID_HEADER: turn_id},
        timeout=30,
    )
    assert answered.status_code == 200, answered.text
    assert answered.headers[REQUEST_ID_HEADER] == turn_id
    expected = {
        "api.log": "一轮对话完成",
        "rasa.log": "收到网关的一轮对话",
        "actions.log": "执行动作",
    }
    deadline = time.monotonic() + 10
    found: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        found = {
            name: [line for line in _lines(live_stack.logs / name) if turn_id in line]
            for name in expected
        }
        if all(any(words in line for line in found[name]) for name, words in expected.items()):
            break
        time.sleep(0.2)
    for name, words in expected.items():
        assert any(words in line for line in found[name]), f"{name} 里没有这一轮的 {turn_id}"


def _lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
