"""The real thing: `rasa run`, the action server and the stores, driven through REST.

Runs on every backend of tests/bot/conftest.py's stack: SQLite (tracker store and Kefu's
database, in-memory lock store), and, when the test servers are configured (CI),
PostgreSQL with a Redis lock store, and Redis as the tracker store.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text
from pathlib import Path

from ops.stack import RunningStack
from support.dialogue import RasaClient, rest_channel_headers
from support.escalations.service import EscalationService
from support.storage import session_factory
from support.tickets.service import TicketService
from tests.bot.conftest import psycopg_url
from tests.conftest import REDIS_URL

HELPED = "这个回答解决您的问题了吗？"


def say(stack: RunningStack, sender: str, text: str) -> list[dict[str, object]]:
    response = httpx.post(
        f"{stack.settings.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, "metadata": {"channel": "web"}},
        headers=rest_channel_headers(stack.settings.rasa_token),
        timeout=60,
    )
    response.raise_for_status()
    messages: list[dict[str, object]] = response.json()
    return messages


def texts(messages: list[dict[str, object]]) -> list[str]:
    return [str(message.get("text") or "") for message in messages]


def test_conversations_are_kept_in_the_tracker_store(stack: RunningStack) -> None:
    user = f"e2e-{uuid.uuid4().hex[:8]}"
    say(stack, user, "你好")
    url = stack.settings.rasa_tracker_url
    if url.startswith("redis"):
        client = redis.Redis.from_url(url)
        tracker = json.loads(client.get(f"kefu:tracker:{user}") or "{}")
        stored = [event["event"] for event in tracker.get("events", [])]
    else:
        engine = create_engine(psycopg_url(url))
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT type_name FROM events WHERE sender_id = :user"),
                    {"user": user},
                ).scalars()
                stored = list(rows)
        finally:
            engine.dispose()
    assert "user" in stored
    assert "bot" in stored


@pytest.mark.skipif(REDIS_URL is None, reason="needs KEFU_TEST_REDIS_URL")
def test_turns_take_the_redis_lock(stack: RunningStack) -> None:
    if stack.settings.redis_url is None:
        pytest.skip("this backend uses the in-memory lock store")
    client = redis.Redis.from_url(stack.settings.redis_url)

    def lock_writes() -> int:
        stats = client.info("commandstats")
        return sum(
            int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("set", "setex")
        )

    before = lock_writes()
    say(stack, f"e2e-{uuid.uuid4().hex[:8]}", "你好")
    assert lock_writes() > before


def test_answer_then_no_then_a_ticket(stack: RunningStack) -> None:
    user = f"e2e-{uuid.uuid4().hex[:8]}"
    answer = texts(say(stack, user, "冲值一直没到帐，怎么回事"))
    assert "充值" in answer[0]
    assert answer[-1] == HELPED
    offer = say(stack, user, "否")
    assert "提交工单" in texts(offer)[0]
    # topup_delay carries escalate: ticket, so the category is already known.
    assert "描述" in texts(say(stack, user, "提交工单"))[0]
    assert "至少用 5 个字" in texts(say(stack, user, "没到"))[0]
    assert "联系方式" in texts(say(stack, user, "昨天充值五百元到现在还没到账"))[0]
    assert "格式不正确" in texts(say(stack, user, "abc"))[0]
    assert "交易单号" in texts(say(stack, user, "13812345678"))[0]
    done = texts(say(stack, user, "无"))[0]
    number = re.search(r"T\d{8}-\d{4}", done)
    assert number is not None, done

    tickets = TicketService(session_factory(stack.settings.database_url))
    stored = tickets.find_for_sender(number.group(0), user)
    assert stored is not None
    assert (stored.category, stored.contact, stored.channel) == ("充值", "13812345678", "web")

    status = texts(say(stack, user, f"查询工单 {number.group(0)}"))[0]
    assert "已受理" in status
    stranger = texts(say(stack, f"stranger-{uuid.uuid4().hex[:8]}", f"查询工单 {number.group(0)}"))
    assert "没有找到您名下的工单" in stranger[0]


def test_handoff_silence_and_resume(stack: RunningStack) -> None:
    user = f"e2e-{uuid.uuid4().hex[:8]}"
    say(stack, user, "提现失败了怎么办")
    queued = texts(say(stack, user, "转人工"))[0]
    assert "人工客服" in queued
    assert "排在第" in queued
    assert say(stack, user, "还在吗？") == []  # paused: the bot stays silent

    escalations = EscalationService(session_factory(stack.settings.database_url))
    case = escalations.open_for_conversation(user)
    assert case is not None
    assert case.reason == "user_request"
    assert case.last_messages[-2:] == ["提现失败了怎么办", "转人工"]
    assert case.kb_candidates and case.kb_candidates[0]["id"] == "withdraw_failed"

    async def resume() -> None:
        client = RasaClient(stack.settings)
        try:
            await client.resume(user)
        finally:
            await client.aclose()

    asyncio.run(resume())
    after = texts(say(stack, user, "怎么提现到银行卡"))
    assert after[-1] == HELPED


def test_a_pasted_mnemonic_is_warned_about_and_never_stored(stack: RunningStack) -> None:
    user = f"e2e-{uuid.uuid4().hex[:8]}"
    words = "abandon ability able about above absent absorb abstract absurd abuse access accident"
    reply = texts(say(stack, user, f"我的助记词是 {words} 帮我恢复"))
    assert reply[0].startswith("请勿向任何人（包括客服）提供密码、验证码或助记词")

    async def tracker() -> dict[str, object]:
        client = RasaClient(stack.settings)
        try:
            return await client.tracker(user)
        finally:
            await client.aclose()

    stored = asyncio.run(tracker())
    user_texts = [e.get("text") for e in stored["events"] if e.get("event") == "user"]  # type: ignore[attr-defined, union-attr]
    assert user_texts == ["我的助记词是 〔已隐藏〕 帮我恢复"]
    assert "abandon" not in str(stored)


def test_logs_hold_no_secret(stack: RunningStack) -> None:
    # (test_gateway_only.py reads them again, with its own secrets, after its flows.)
    for log in Path(stack.logs).glob("*.log"):
        assert "abandon ability able" not in log.read_text(errors="replace")
