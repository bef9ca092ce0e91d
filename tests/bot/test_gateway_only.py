"""Rasa answers only the gateway, and keeps no secret whatever way a message came in
(issue 15, finding 6). Runs the real `kefu rasa run` and action server on every backend
of tests/bot/conftest.py's stack: the SQL tracker stores (which only append) and, when a
test Redis is configured, the Redis one (which saves the whole tracker)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from ops.stack import RunningStack
from support.dialogue import rest_channel_headers
from support.settings import DEFAULT_RASA_TOKEN
from tests.bot.conftest import psycopg_url

FIRST_HALF = "abandon ability able about above absent"
SECOND_HALF = "absorb abstract absurd abuse access accident"
CARD = "4111　1111　1111　1111"  # full-width spaces, as a Chinese input method types them


def post_turn(stack: RunningStack, sender: str, message: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{stack.settings.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": message, "metadata": {"channel": "web"}},
        headers=headers,
        timeout=60,
    )


def gateway_turn(stack: RunningStack, sender: str, message: str) -> list[dict[str, Any]]:
    response = post_turn(stack, sender, message, **rest_channel_headers(stack.settings.rasa_token))
    response.raise_for_status()
    turn: list[dict[str, Any]] = response.json()
    return turn


def tracker(stack: RunningStack, sender: str) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.settings.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.settings.rasa_token},
        timeout=30,
    )
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def stored_user_events(stack: RunningStack, sender: str) -> list[dict[str, Any]]:
    """The user events as the tracker store holds them (read from the store itself)."""
    url = stack.settings.rasa_tracker_url
    if url.startswith("redis"):
        stored = json.loads(redis.Redis.from_url(url).get(f"kefu:tracker:{sender}") or "{}")
        return [event for event in stored.get("events", []) if event["event"] == "user"]
    engine = create_engine(psycopg_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user'"),
                {"sender": sender},
            ).scalars()
            return [json.loads(row) for row in rows]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "authorization",
    [
        lambda token: None,
        lambda token: f"Bearer {DEFAULT_RASA_TOKEN}",
        lambda token: f"Bearer {token[:-1]}",
        lambda token: token,
    ],
    ids=["none", "default", "almost", "no-scheme"],
)
def test_the_rest_channel_refuses_anyone_but_the_gateway(
    stack: RunningStack, authorization: Callable[[str], str | None]
) -> None:
    value = authorization(stack.settings.rasa_token)
    headers = {} if value is None else {"Authorization": value}
    sender = f"victim-{uuid.uuid4().hex[:8]}"
    response = post_turn(stack, sender, "转人工", **headers)
    assert response.status_code == 401
    assert "KEFU_RASA_TOKEN" in response.json()["error"]
    assert not [event for event in tracker(stack, sender)["events"] if event["event"] == "user"]


def test_the_http_api_refuses_the_default_token(stack: RunningStack) -> None:
    url = f"{stack.settings.rasa_url}/conversations/anyone/tracker"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"token": DEFAULT_RASA_TOKEN}).status_code == 401
    assert httpx.get(url, params={"token": stack.settings.rasa_token}).status_code == 200


def test_the_gateways_turns_work_through_the_authenticated_action_server(
    stack: RunningStack,
) -> None:
    # A KB answer runs action_kb_answer on the action server: Rasa sent its secret.
    turn = gateway_turn(stack, f"e2e-{uuid.uuid4().hex[:8]}", "冲值一直没到帐，怎么回事")
    assert turn[-1]["text"] == "这个回答解决您的问题了吗？"


def test_a_phrase_split_over_two_messages_is_redacted_in_the_store(stack: RunningStack) -> None:
    sender = f"split-{uuid.uuid4().hex[:8]}"
    gateway_turn(stack, sender, FIRST_HALF)
    reply = gateway_turn(stack, sender, SECOND_HALF)
    assert reply[0]["text"].startswith("请勿向任何人（包括客服）提供密码、验证码或助记词")
    stored = stored_user_events(stack, sender)
    assert [event["text"] for event in stored] == ["〔已隐藏〕", "〔已隐藏〕"]
    assert "abandon" not in json.dumps(stored)
    assert "abandon" not in json.dumps(tracker(stack, sender))


def test_a_message_that_skips_the_channel_is_redacted_too(stack: RunningStack) -> None:
    # The HTTP API's /messages goes straight to Rasa's processor, not through the channel.
    sender = f"api-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{stack.settings.rasa_url}/conversations/{sender}/messages",
        params={"token": stack.settings.rasa_token},
        json={"text": f"我的卡号 {CARD} 绑不上", "sender": "user"},
        timeout=60,
    )
    response.raise_for_status()
    stored = stored_user_events(stack, sender)
    assert [event["text"] for event in stored] == ["我的卡号 〔已隐藏〕 绑不上"]
    assert stored[0]["parse_data"]["intent"]["name"] == "share_sensitive"
    assert "1111" not in json.dumps(stored, ensure_ascii=False)


def test_the_logs_and_the_command_lines_hold_no_secret(stack: RunningStack) -> None:
    # Runs after test_end_to_end.py's flows on the same stack (its pasted mnemonic too).
    for log in Path(stack.logs).glob("*.log"):
        content = log.read_text(errors="replace")
        assert "abandon ability" not in content
        assert CARD not in content
        assert "4111 1111 1111 1111" not in content
    # A command line is readable by every local user; the tokens go by the environment.
    for process in Path("/proc").glob("[0-9]*"):
        try:
            command = (process / "cmdline").read_bytes()
        except OSError:
            continue
        assert stack.settings.rasa_token.encode() not in command
        assert stack.settings.action_server_token.encode() not in command
