"""WeChat retries: each callback is processed exactly once and every retry gets the same reply."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from wechatpy import parse_message

from support.conversations.models import Role
from support.inbox.store import (
    DatabaseInboxStore,
    InboxEntry,
    InboxStatus,
    InboxStore,
    RedisInboxStore,
)
from support.storage import session_factory
from tests.conftest import REDIS_URL
from tests.wechat.conftest import (
    MakeWeChat,
    WeChatHarness,
    event_message,
    new_msg_id,
    new_openid,
    text_message,
)


@pytest.fixture
def harness(make_wechat: MakeWeChat, inbox_backend: str) -> WeChatHarness:
    return make_wechat(redis_url=REDIS_URL if inbox_backend == "redis" else None)


def test_a_retried_message_gets_the_same_reply_and_is_processed_once(
    harness: WeChatHarness,
) -> None:
    openid = new_openid()
    message = text_message(openid, "提现失败怎么办", msg_id=new_msg_id())
    first = harness.reply_text(message)
    second = harness.reply_text(message)
    assert first == second == "收到：提现失败怎么办"
    assert harness.dialogue.calls == ["提现失败怎么办"]
    assert [m.role for m in harness.history(openid)] == [Role.USER, Role.BOT]

    # Another message with another MsgId is a new message.
    assert harness.reply_text(text_message(openid, "提现失败怎么办")) == first
    assert len(harness.dialogue.calls) == 2


def test_concurrent_retries_are_processed_once(harness: WeChatHarness) -> None:
    harness.dialogue.delay = 0.5  # the retries arrive while the first is still being answered
    openid = new_openid()
    message = text_message(openid, "账户被锁定了", msg_id=new_msg_id())
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: harness.post(message), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert {parse_message(r.text).content for r in responses} == {"收到：账户被锁定了"}
    assert harness.dialogue.calls == ["账户被锁定了"]
    assert [m.role for m in harness.history(openid)] == [Role.USER, Role.BOT]


def test_events_are_deduplicated_by_sender_and_time(harness: WeChatHarness) -> None:
    openid = new_openid()
    created = int(time.time())
    event = event_message(openid, "subscribe", create_time=created)
    assert harness.reply_text(event) == harness.reply_text(event)
    assert len(harness.history(openid)) == 1  # one welcome stored

    # A later subscribe (after unsubscribing) is a new event.
    harness.reply_text(event_message(openid, "subscribe", create_time=created + 60))
    assert len(harness.history(openid)) == 2
    # The same time from another user is another event.
    other = new_openid()
    harness.reply_text(event_message(other, "subscribe", create_time=created))
    assert len(harness.history(other)) == 1


def test_a_retry_after_the_deadline_is_not_answered_twice(make_wechat: MakeWeChat) -> None:
    wechat = make_wechat(wechat_deadline=0.5)
    wechat.dialogue.hold()
    openid = new_openid()
    message = text_message(openid, "转账一直在处理中", msg_id=new_msg_id())

    assert wechat.post(message).text == "success"  # first try: too slow
    assert wechat.post(message).text == "success"  # WeChat's retry, still not ready
    wechat.dialogue.release()
    sent = wechat.api.wait_for(openid, 1)
    wechat.drain()
    # A late retry gets "success" too: the answer already went out by 客服消息.
    assert wechat.post(message).text == "success"
    wechat.drain()
    assert [m.content for m in wechat.api.attempts(openid)] == [s.content for s in sent]
    assert [m.content for m in sent] == ["收到：转账一直在处理中"]
    assert wechat.dialogue.calls == ["转账一直在处理中"]


# The stores on their own


@pytest.fixture
async def store(database_url: str, inbox_backend: str) -> InboxStore:
    if inbox_backend == "redis":
        assert REDIS_URL is not None
        return RedisInboxStore(REDIS_URL)
    return DatabaseInboxStore(session_factory(database_url))


async def test_inbox_store_claims_once_and_keeps_the_reply(store: InboxStore) -> None:
    key = f"msg:{new_msg_id()}"
    try:
        assert await store.get(key) is None
        assert await store.claim(key, "openid-1")
        assert not await store.claim(key, "openid-1")
        assert await store.get(key) == InboxEntry("openid-1", InboxStatus.PROCESSING, None)
        await store.finish(key, "您好！")
        assert await store.get(key) == InboxEntry("openid-1", InboxStatus.DONE, "您好！")
        assert not await store.claim(key, "openid-1")

        other = f"msg:{new_msg_id()}"
        assert await store.claim(other, "openid-2")
        await store.finish(other, None)  # answered "success"
        assert await store.get(other) == InboxEntry("openid-2", InboxStatus.DONE, None)
    finally:
        await store.close()
