"""Answers that do not fit the passive reply: the deadline, long texts, and 客服消息 errors."""

from __future__ import annotations

import time

import pytest

from api.wechat.delivery import CustomerMessenger
from api.wechat.text import parse_choice, split_text, with_choices
from support.conversations.models import Role
from support.conversations.schemas import Button
from support.dialogue import BotMessage
from support.settings import Settings
from tests.wechat.conftest import (
    APP_ID,
    APP_SECRET,
    FakeWeChatAPI,
    MakeWeChat,
    WeChatHarness,
    new_openid,
    text_message,
)

LIMIT = 2048


@pytest.fixture
def slow(make_wechat: MakeWeChat) -> WeChatHarness:
    """Rasa takes longer than the deadline until the test releases it."""
    wechat = make_wechat(wechat_deadline=0.5)
    wechat.dialogue.hold()
    return wechat


def test_a_late_answer_is_sent_by_customer_message(slow: WeChatHarness) -> None:
    openid = new_openid()
    started = time.monotonic()
    response = slow.post(text_message(openid, "充值还没到账"))
    assert time.monotonic() - started < 2.5
    assert response.status_code == 200
    assert response.text == "success"
    assert slow.api.attempts(openid) == []

    slow.dialogue.release()
    sent = slow.api.wait_for(openid, 1)
    assert [(m.content, m.errcode) for m in sent] == [("收到：充值还没到账", 0)]
    history = slow.wait_for_delivery(openid)
    assert [(m.role, m.delivery) for m in history] == [(Role.USER, None), (Role.BOT, "sent")]


@pytest.mark.parametrize("errcode", [45015, 45047])
def test_refused_customer_messages_are_kept_and_marked_failed(
    slow: WeChatHarness, errcode: int
) -> None:
    openid = new_openid()
    slow.api.errcode = errcode
    assert slow.post(text_message(openid, "提现被冻结了")).text == "success"
    slow.dialogue.release()
    assert [m.errcode for m in slow.api.wait_for(openid, 1)] == [errcode]
    history = slow.wait_for_delivery(openid)
    bot = [m for m in history if m.role is Role.BOT]
    assert [(m.text, m.delivery) for m in bot] == [("收到：提现被冻结了", "failed")]


def _long_answer() -> str:
    return "".join(f"第{n}步：请打开钱包并核对这一项设置是否正确。" for n in range(1, 121))


def test_a_long_answer_is_split_at_sentences(wechat: WeChatHarness) -> None:
    answer = _long_answer()
    assert len(answer.encode()) > 3 * LIMIT
    wechat.dialogue.script = lambda _: [BotMessage(answer, [])]
    openid = new_openid()

    passive = wechat.reply_text(text_message(openid, "怎么设置"))
    wechat.api.wait_for(openid, len(split_text(answer)) - 1)
    wechat.drain()
    rest = [m.content for m in wechat.api.attempts(openid)]

    parts = [passive, *rest]
    assert len(parts) == len(split_text(answer))
    assert all(len(part.encode()) <= LIMIT for part in parts)
    assert all(part.endswith("。") for part in parts)
    assert "".join(parts) == answer
    history = wechat.wait_for_delivery(openid)
    assert [m.delivery for m in history if m.role is Role.BOT] == ["sent"]


def test_a_long_late_answer_is_all_sent_by_customer_message(slow: WeChatHarness) -> None:
    answer = _long_answer()
    slow.dialogue.script = lambda _: [BotMessage(answer, [])]
    openid = new_openid()
    assert slow.post(text_message(openid, "怎么设置")).text == "success"
    slow.dialogue.release()
    expected = split_text(answer)
    sent = slow.api.wait_for(openid, len(expected))
    slow.drain()
    assert [m.content for m in slow.api.attempts(openid)] == expected
    assert [m.content for m in sent] == expected


# The messenger the agent console's replies go through (api.wechat.delivery.WeChatOutbound)


async def send_customer_message(openid: str, text: str, settings: Settings) -> bool:
    return await CustomerMessenger(settings).send(openid, split_text(text))


async def test_send_customer_message(fake_wechat_server: FakeWeChatAPI) -> None:
    settings = Settings(
        wechat_app_id=APP_ID,
        wechat_app_secret=APP_SECRET,
        wechat_api_base=fake_wechat_server.base,
        redis_url=None,
    )
    fake_wechat_server.reset()
    openid = new_openid()
    try:
        assert await send_customer_message(openid, "您好，我是客服小王。", settings)
        fake_wechat_server.errcode = 45015
        assert not await send_customer_message(openid, "还在吗？", settings)
        fake_wechat_server.errcode = 45047
        assert not await send_customer_message(openid, "还在吗？", settings)
        assert [m.errcode for m in fake_wechat_server.attempts(openid)] == [0, 45015, 45047]
        # Without an AppSecret nothing can be sent, and nothing is pretended.
        unconfigured = settings.model_copy(update={"wechat_app_secret": ""})
        assert not await send_customer_message(openid, "你好", unconfigured)
    finally:
        fake_wechat_server.reset()


# Text helpers


def test_split_text_keeps_short_texts_whole() -> None:
    assert split_text("你好。") == ["你好。"]
    assert split_text("  你好  ") == ["你好"]
    assert split_text("") == []


def test_split_text_prefers_sentences_then_clauses() -> None:
    # Chinese characters are 3 bytes each: 24 bytes hold 8 of them.
    sentences = "一二三。四五六！七八九？"
    assert split_text(sentences, limit=24) == ["一二三。四五六！", "七八九？"]
    assert split_text("一。二三，四五六七八", limit=24) == ["一。", "二三，四五六七八"]
    clauses = "一二三，四五六，七八九"
    assert split_text(clauses, limit=24) == ["一二三，四五六，", "七八九"]
    assert split_text("第一行\n第二行\n第三行", limit=20) == ["第一行\n第二行", "第三行"]


@pytest.mark.parametrize("char", ["钱", "😀", "a"])
def test_split_text_never_cuts_a_character(char: str) -> None:
    text = char * 3000
    parts = split_text(text)
    assert all(len(part.encode()) <= LIMIT for part in parts)
    assert "".join(parts) == text


def test_with_choices_numbers_buttons() -> None:
    buttons = [Button(f"问题{n}", f"/p{n}") for n in range(1, 12)]
    text = with_choices("请选择：", buttons[:2])
    assert text == "请选择：\n\n回复数字选择：\n1. 问题1\n2. 问题2"
    assert with_choices("没有按钮", []) == "没有按钮"
    assert with_choices("", buttons).count("\n") == 9  # nine options at most


@pytest.mark.parametrize(
    ("text", "choice"),
    [("1", 1), (" 9 ", 9), ("３", 3), ("0", None), ("10", None), ("1.", None), ("一", None)],
)
def test_parse_choice(text: str, choice: int | None) -> None:
    assert parse_choice(text) == choice
