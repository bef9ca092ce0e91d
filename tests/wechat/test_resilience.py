"""Crashes and failures in the WeChat channel: leases on claims, the 客服消息 outbox."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from api.wechat.service import WeChatService
from support.conversations.models import Role
from support.inbox.store import (
    DatabaseInboxStore,
    InboxStatus,
    InboxStore,
    RedisInboxStore,
)
from support.outbox.schemas import OutboxStatus
from support.outbox.service import OutboxService
from support.storage import session_factory
from tests.conftest import REDIS_URL
from tests.wechat.conftest import (
    MakeWeChat,
    WeChatHarness,
    new_msg_id,
    new_openid,
    text_message,
    to_xml,
)

# WeChat's "system busy": a passing failure, worth trying again.
SYSTEM_BUSY = -1


def _service(wechat: WeChatHarness) -> WeChatService:
    service: WeChatService = wechat.app.state.wechat
    return service


def _inbox(wechat: WeChatHarness) -> InboxStore:
    return _service(wechat)._inbox


def _outbox(wechat: WeChatHarness) -> OutboxService:
    return OutboxService(session_factory(wechat.settings.database_url))


def _eventually(check: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# Leases: a crash never leaves a message "processing" forever


@pytest.mark.usefixtures("inbox_backend")
def test_a_claim_left_by_a_crashed_gateway_is_taken_over_and_answered_once(
    make_wechat: MakeWeChat, inbox_backend: str
) -> None:
    redis_url = REDIS_URL if inbox_backend == "redis" else None
    wechat = make_wechat(wechat_claim_lease=0.6, redis_url=redis_url)
    openid = new_openid()
    fields = text_message(openid, "提现一直没到账")
    key = f"msg:{openid}:{fields['MsgId']}"
    assert wechat.client.portal is not None
    # Another gateway claimed the callback, then died (kill -9) before answering.
    assert wechat.client.portal.call(_inbox(wechat).claim, key, openid, to_xml(fields), 0.6)

    # Generous: the take-over is due after 0.6 s, but on a loaded 2-core CI machine the
    # sweep, the answer and the send have once taken 15 s between them.
    sent = wechat.api.wait_for(openid, 1, timeout=40)
    assert [m.content for m in sent] == ["收到：提现一直没到账"]
    portal = wechat.client.portal

    def done() -> bool:
        entry = portal.call(_inbox(wechat).get, key)
        return entry is not None and entry.status is InboxStatus.DONE

    _eventually(done)
    history = wechat.wait_for_delivery(openid)
    assert [(m.role, m.text, m.delivery) for m in history] == [
        (Role.USER, "提现一直没到账", None),
        (Role.BOT, "收到：提现一直没到账", "sent"),
    ]
    time.sleep(1.5)  # two more lease periods: nobody takes it over again
    assert len(wechat.api.attempts(openid)) == 1
    assert wechat.dialogue.calls == ["提现一直没到账"]


def test_a_slow_answer_keeps_its_claim(make_wechat: MakeWeChat) -> None:
    """The worker renews its lease while Rasa thinks: slow is not crashed."""
    wechat = make_wechat(wechat_claim_lease=0.6, wechat_deadline=0.3)
    wechat.dialogue.hold()
    openid = new_openid()
    assert wechat.post(text_message(openid, "转账还在处理中")).text == "success"
    time.sleep(2.0)  # more than three leases
    wechat.dialogue.release()
    wechat.api.wait_for(openid, 1)
    time.sleep(0.5)
    assert len(wechat.api.attempts(openid)) == 1
    assert wechat.dialogue.calls == ["转账还在处理中"]


@pytest.mark.usefixtures("inbox_backend")
async def test_expired_claims_are_taken_over_by_one_worker_only(
    database_url: str, inbox_backend: str
) -> None:
    store: InboxStore = (
        RedisInboxStore(REDIS_URL, prefix=f"kefu:test:{uuid.uuid4().hex}:")
        if inbox_backend == "redis" and REDIS_URL
        else DatabaseInboxStore(session_factory(database_url))
    )
    try:
        live, dead = f"msg:{new_msg_id()}", f"msg:{new_msg_id()}"
        assert await store.claim(live, "o-live", "<xml>live</xml>", 0.3)
        assert await store.claim(dead, "o-dead", "<xml>dead</xml>", 0.3)
        await asyncio.sleep(0.2)
        await store.renew(live, 5.0)
        await asyncio.sleep(0.2)
        first, second = await asyncio.gather(
            store.take_over_expired(5.0), store.take_over_expired(5.0)
        )
        taken = [claim.key for claim in [*first, *second]]
        assert taken == [dead]  # once, and never the one still renewed
        assert [claim.payload for claim in [*first, *second]] == ["<xml>dead</xml>"]
        await store.finish(dead, None)
        await asyncio.sleep(0.1)
        assert await store.take_over_expired(5.0) == []
    finally:
        await store.close()


def test_a_slow_customer_message_keeps_its_claim(make_wechat: MakeWeChat) -> None:
    """A late answer's 客服消息 outlasting the lease is still one send, one turn."""
    wechat = make_wechat(wechat_claim_lease=0.6, wechat_deadline=0.3)
    wechat.api.delay = 2.0  # more than three leases
    wechat.dialogue.hold()
    openid = new_openid()
    assert wechat.post(text_message(openid, "提现到账要多久")).text == "success"
    wechat.dialogue.release()
    wechat.api.wait_for(openid, 1)
    time.sleep(3.0)  # the send finishes, and a lease more
    assert len(wechat.api.attempts(openid)) == 1
    assert wechat.dialogue.calls == ["提现到账要多久"]


# The outbox: retries with backoff, and refusals that are final


def test_a_failed_customer_message_is_retried_until_it_goes_out(
    make_wechat: MakeWeChat,
) -> None:
    wechat = make_wechat(wechat_deadline=0.3, wechat_outbox_backoff=0.3)
    wechat.dialogue.hold()
    openid = new_openid()
    wechat.api.errcode = SYSTEM_BUSY
    assert wechat.post(text_message(openid, "银行卡绑定失败")).text == "success"
    wechat.dialogue.release()
    wechat.api.wait_for(openid, 1)
    wechat.api.errcode = 0
    sent = wechat.api.wait_for(openid, 2, timeout=10)
    assert [(m.content, m.errcode) for m in sent] == [
        ("收到：银行卡绑定失败", SYSTEM_BUSY),
        ("收到：银行卡绑定失败", 0),
    ]
    history = wechat.wait_for_delivery(openid)
    _eventually(lambda: wechat.history(openid)[-1].delivery == "sent")
    assert [m.role for m in history] == [Role.USER, Role.BOT]
    (row,) = _outbox(wechat).for_openid(openid)
    assert (row.status, row.attempts) == (OutboxStatus.SENT.value, 2)
    time.sleep(1.0)
    assert len(wechat.api.attempts(openid)) == 2  # and never again


def test_retries_back_off_and_give_up_marked_for_agents(make_wechat: MakeWeChat) -> None:
    wechat = make_wechat(wechat_deadline=0.3, wechat_outbox_backoff=0.4, wechat_outbox_attempts=3)
    wechat.dialogue.hold()
    openid = new_openid()
    wechat.api.errcode = SYSTEM_BUSY
    assert wechat.post(text_message(openid, "账户被冻结")).text == "success"
    wechat.dialogue.release()
    wechat.api.wait_for(openid, 3, timeout=10)
    _eventually(lambda: wechat.history(openid)[-1].delivery == "failed")
    (row,) = _outbox(wechat).for_openid(openid)
    assert (row.status, row.attempts, row.errcode) == ("failed", 3, SYSTEM_BUSY)
    times = [m.at for m in wechat.api.attempts(openid)]
    # 0.4 s, then 0.8 s (the delivery loop looks every 0.25 s).
    assert times[2] - times[1] > times[1] - times[0] >= 0.35
    time.sleep(1.0)
    assert len(wechat.api.attempts(openid)) == 3


@pytest.mark.parametrize("errcode", [45015, 45047])
def test_window_and_quota_refusals_are_not_retried(make_wechat: MakeWeChat, errcode: int) -> None:
    wechat = make_wechat(wechat_deadline=0.3, wechat_outbox_backoff=0.1)
    wechat.dialogue.hold()
    openid = new_openid()
    wechat.api.errcode = errcode
    assert wechat.post(text_message(openid, "还在吗")).text == "success"
    wechat.dialogue.release()
    wechat.api.wait_for(openid, 1)
    _eventually(lambda: wechat.history(openid)[-1].delivery == "failed")
    time.sleep(0.8)  # many backoff periods
    assert len(wechat.api.attempts(openid)) == 1
    (row,) = _outbox(wechat).for_openid(openid)
    assert (row.status, row.attempts, row.errcode) == ("failed", 1, errcode)


def test_a_queued_message_belongs_to_its_sender_until_it_reports(make_wechat: MakeWeChat) -> None:
    """The gateway that queues a message sends it itself: the delivery loop polling at the
    same moment must not take it (the agent would be told 「pending」 for a message whose
    fate is settled a moment later); a sender that dies frees it when the lease ends."""
    wechat = make_wechat()
    outbox = _outbox(wechat)
    openid = new_openid()
    item = outbox.enqueue(openid, ["您好"], [])
    assert (item.openid, item.remaining, item.attempts) == (openid, ("您好",), 1)
    assert all(due.id != item.id for due in outbox.claim_due(limit=100))
