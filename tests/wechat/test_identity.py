"""Issue 15, WeChat identity: who a callback is from, that it is used once, and what it may carry.

Findings 2 (plaintext callbacks in AES mode), 3 (MsgId-only de-duplication), 9 (a bad
MsgId gave a 500) and 10 (no length cap on WeChat text), each reproduced.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from wechatpy import parse_message

from api.web.schemas import MAX_TEXT as WEB_MAX_TEXT
from api.wechat import protocol
from api.wechat.service import TOO_LONG
from api.wechat.text import MAX_USER_TEXT
from support.conversations.models import Conversation, Message, Role
from support.inbox.models import WechatInbox
from support.inbox.nonces import MemoryNonceStore, NonceStore, RedisNonceStore
from support.storage import session_factory
from tests.conftest import REDIS_URL
from tests.wechat.conftest import (
    ACCOUNT,
    MakeWeChat,
    WeChatHarness,
    encrypted_request,
    event_message,
    new_msg_id,
    new_openid,
    signed_query,
    text_message,
    to_xml,
)


@dataclass(frozen=True)
class Stored:
    conversations: int
    messages: int
    inbox: int


def stored(harness: WeChatHarness) -> Stored:
    """Row counts of everything a callback can write."""
    with session_factory(harness.settings.database_url)() as session:
        return Stored(
            session.scalar(select(func.count()).select_from(Conversation)) or 0,
            session.scalar(select(func.count()).select_from(Message)) or 0,
            session.scalar(select(func.count()).select_from(WechatInbox)) or 0,
        )


def known(harness: WeChatHarness, openid: str) -> bool:
    """Whether Kefu has a conversation with ``openid`` (without creating one)."""
    with session_factory(harness.settings.database_url)() as session:
        found = session.scalar(select(Conversation.id).where(Conversation.external_id == openid))
        return found is not None


@pytest.fixture
def harness(make_wechat: MakeWeChat, inbox_backend: str) -> WeChatHarness:
    # With Redis, the inbox and the nonces live there (shared by every replica).
    return make_wechat(redis_url=REDIS_URL if inbox_backend == "redis" else None)


# Finding 2: in AES mode, plaintext callbacks are forged identities


def test_safe_mode_refuses_a_forged_plaintext_callback(safe_mode: WeChatHarness) -> None:
    victim = new_openid()
    before = stored(safe_mode)
    # Any callback URL's signature, timestamp and nonce (they are in access logs) with any
    # XML: the plaintext signature does not cover the body.
    response = safe_mode.post(text_message(victim, "转人工"))
    assert response.status_code == 403
    assert response.json()["detail"] == protocol.PLAINTEXT_REFUSED
    assert safe_mode.dialogue.calls == []
    assert stored(safe_mode) == before
    assert not known(safe_mode, victim)

    # "aes" without a msg_signature is no better.
    query = {**signed_query(), "encrypt_type": "aes"}
    response = safe_mode.post_xml(to_xml(text_message(victim, "转人工")), query)
    assert response.status_code == 403
    assert safe_mode.dialogue.calls == []
    assert not known(safe_mode, victim)


def test_safe_mode_still_verifies_the_url_and_takes_encrypted_callbacks(
    safe_mode: WeChatHarness,
) -> None:
    # The server-address check is plaintext even in 安全模式, as WeChat sends it.
    echostr = secrets.token_hex(10)
    response = safe_mode.client.get("/wechat", params={**signed_query(), "echostr": echostr})
    assert (response.status_code, response.text) == (200, echostr)

    openid = new_openid()
    query, envelope = encrypted_request(to_xml(text_message(openid, "转人工")))
    assert safe_mode.post_xml(envelope, query).status_code == 200
    assert safe_mode.dialogue.calls == ["转人工"]


def test_safe_mode_refuses_stale_and_replayed_callbacks_too(safe_mode: WeChatHarness) -> None:
    stale = str(int(time.time()) - 3600)
    query, envelope = encrypted_request(to_xml(text_message(new_openid(), "你好")), stale)
    response = safe_mode.post_xml(envelope, query)
    assert response.status_code == 403
    assert response.json()["detail"] == protocol.STALE

    # A whole signed request again, with another (validly encrypted) body under the same
    # timestamp and nonce: refused.
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    first_xml = to_xml(text_message(new_openid(), "一"))
    first, first_body = encrypted_request(first_xml, timestamp, nonce)
    assert safe_mode.post_xml(first_body, first).status_code == 200
    second, second_body = encrypted_request(
        to_xml(text_message(new_openid(), "二")), timestamp, nonce
    )
    response = safe_mode.post_xml(second_body, second)
    assert response.status_code == 403
    assert response.json()["detail"] == protocol.REPLAYED
    assert safe_mode.dialogue.calls == ["一"]


# Finding 3: de-duplication keyed on MsgId alone


def test_two_users_with_the_same_msg_id_each_get_their_own_answer(harness: WeChatHarness) -> None:
    msg_id = new_msg_id()
    first, second = new_openid(), new_openid()
    assert harness.reply_text(text_message(first, "工单号多少", msg_id)) == "收到：工单号多少"
    # Before: "收到：工单号多少" (the first user's stored reply), and the message dropped.
    assert harness.reply_text(text_message(second, "怎么提现", msg_id)) == "收到：怎么提现"
    assert harness.dialogue.calls == ["工单号多少", "怎么提现"]
    assert [m.text for m in harness.history(second)] == ["怎么提现", "收到：怎么提现"]
    # Each user's own retry is still answered from the inbox, not processed again.
    assert harness.reply_text(text_message(second, "怎么提现", msg_id)) == "收到：怎么提现"
    assert len(harness.dialogue.calls) == 2


# Plaintext mode: the timestamp must be fresh and the nonce new


# A future timestamp comes closer while the request is on its way: +301 became +300 (and
# was accepted) when the request took over a second on a busy machine.
@pytest.mark.parametrize("offset", [-301, 330, -86_400])
def test_a_stale_timestamp_is_refused(wechat: WeChatHarness, offset: int) -> None:
    openid = new_openid()
    before = stored(wechat)
    query = signed_query(timestamp=str(int(time.time()) + offset))
    response = wechat.post_xml(to_xml(text_message(openid, "你好")), query)
    assert response.status_code == 403
    assert response.json()["detail"] == "请求时间戳无效或已过期"
    assert wechat.dialogue.calls == []
    assert stored(wechat) == before


@pytest.mark.parametrize("timestamp", ["abc", "-5", "1e9", "１７００００００００", "9" * 30])
def test_a_timestamp_that_is_not_a_number_is_refused(wechat: WeChatHarness, timestamp: str) -> None:
    response = wechat.post_xml(to_xml(text_message(new_openid(), "你好")), signed_query(timestamp))
    assert response.status_code == 403
    assert response.json()["detail"] == protocol.STALE
    assert wechat.dialogue.calls == []


def test_a_timestamp_within_the_window_is_accepted(make_wechat: MakeWeChat) -> None:
    wechat = make_wechat(wechat_replay_window=600)
    query = signed_query(timestamp=str(int(time.time()) - 500))
    response = wechat.post_xml(to_xml(text_message(new_openid(), "你好")), query)
    assert response.status_code == 200


def test_a_reused_nonce_is_refused(harness: WeChatHarness) -> None:
    user, victim = new_openid(), new_openid()
    query = signed_query()
    assert harness.post_xml(to_xml(text_message(user, "你好")), query).status_code == 200
    before = stored(harness)
    # The same signature, timestamp and nonce with another body, in another user's name.
    response = harness.post_xml(to_xml(text_message(victim, "转人工")), query)
    assert response.status_code == 403
    assert response.json()["detail"] == "该请求已被使用过，不能重复提交"
    assert harness.dialogue.calls == ["你好"]
    assert stored(harness) == before
    assert not known(harness, victim)


def test_the_same_request_again_is_a_retry_answered_from_the_inbox(harness: WeChatHarness) -> None:
    openid = new_openid()
    body, query = to_xml(text_message(openid, "提现失败", new_msg_id())), signed_query()
    first = harness.post_xml(body, query)
    # WeChat retrying with the very same request is not refused: it gets the stored reply.
    second = harness.post_xml(body, query)
    assert first.status_code == second.status_code == 200
    assert parse_message(first.text).content == parse_message(second.text).content
    assert harness.dialogue.calls == ["提现失败"]


@pytest.fixture
async def nonces(inbox_backend: str) -> NonceStore:
    if inbox_backend == "redis":
        assert REDIS_URL is not None
        return RedisNonceStore(REDIS_URL)
    return MemoryNonceStore()


async def test_nonce_store_remembers_each_key_with_its_body(nonces: NonceStore) -> None:
    key = f"{int(time.time())}:{secrets.token_hex(8)}"
    try:
        assert await nonces.first_use(key, "body-a", ttl=60)
        assert await nonces.first_use(key, "body-a", ttl=60)  # a retry
        assert not await nonces.first_use(key, "body-b", ttl=60)  # a replay
        assert await nonces.first_use(key + "x", "body-b", ttl=60)
    finally:
        await nonces.close()


@pytest.mark.skipif(not REDIS_URL, reason="KEFU_TEST_REDIS_URL is not set")
async def test_a_replay_is_refused_by_every_replica() -> None:
    assert REDIS_URL is not None
    replicas = [RedisNonceStore(REDIS_URL), RedisNonceStore(REDIS_URL)]
    key = f"{int(time.time())}:{secrets.token_hex(8)}"
    try:
        assert await replicas[0].first_use(key, "body-a", ttl=60)
        assert not await replicas[1].first_use(key, "body-b", ttl=60)
    finally:
        for replica in replicas:
            await replica.close()


async def test_memory_nonces_expire() -> None:
    now = [1000.0]
    nonces = MemoryNonceStore(clock=lambda: now[0])
    assert await nonces.first_use("1:a", "body-a", ttl=600)
    now[0] += 300
    assert await nonces.first_use("2:b", "body-b", ttl=600)
    assert not await nonces.first_use("1:a", "body-c", ttl=600)
    now[0] += 301  # "1:a" is forgotten, "2:b" is not
    assert await nonces.first_use("1:a", "body-c", ttl=600)
    assert not await nonces.first_use("2:b", "body-c", ttl=600)


# Finding 9: a MsgId that is not a number gave a 500


@pytest.mark.parametrize(
    "msg_id", ["abc", "9" * 21, "1" * 25, "-1", "0", "1.5", "0x1f", "１２３", "1 2"]
)
def test_a_bad_msg_id_is_a_bad_request_and_stores_nothing(
    wechat: WeChatHarness, msg_id: str
) -> None:
    openid = new_openid()
    before = stored(wechat)
    response = wechat.post({**text_message(openid, "你好"), "MsgId": msg_id})
    assert response.status_code == 400
    assert response.json()["detail"] == "消息编号（MsgId）无效"
    assert wechat.dialogue.calls == []
    assert stored(wechat) == before
    assert not known(wechat, openid)


def test_the_largest_msg_ids_are_accepted(wechat: WeChatHarness) -> None:
    for msg_id in (1, 2**64 - 1, 10**20 - 1):
        openid = new_openid()
        assert wechat.reply_text(text_message(openid, "你好", msg_id)) == "收到：你好"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("FromUserName", "o" * 65),
        ("FromUserName", "o<b>"),
        ("FromUserName", "用户"),
        ("FromUserName", ""),
        ("ToUserName", ""),
        ("ToUserName", "gh_" + "a" * 70),
        ("CreateTime", "abc"),
        ("CreateTime", "9" * 30),
        ("CreateTime", "-1"),
        ("CreateTime", ""),
    ],
)
def test_implausible_ids_and_times_are_bad_requests(
    wechat: WeChatHarness, field: str, value: str
) -> None:
    before = stored(wechat)
    for fields in (text_message(new_openid(), "你好"), event_message(new_openid(), "subscribe")):
        response = wechat.post({**fields, field: value})
        assert response.status_code == 400, response.text
        assert field in response.json()["detail"]
    assert wechat.dialogue.calls == []
    assert stored(wechat) == before


@pytest.mark.parametrize(
    "xml",
    [
        # Repeated, nested and attributed fields: wechatpy would fail on them later.
        "<xml><ToUserName>gh_a</ToUserName><FromUserName>o1</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>x</Content>"
        "<MsgId>1</MsgId><MsgId>2</MsgId></xml>",
        "<xml><ToUserName>gh_a</ToUserName><FromUserName>o1</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType>"
        "<Content><b>x</b></Content><MsgId>1</MsgId></xml>",
        '<xml><ToUserName>gh_a</ToUserName><FromUserName a="b">o1</FromUserName>'
        "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>x</Content>"
        "<MsgId>1</MsgId></xml>",
        "<xml><ToUserName>gh_a</ToUserName><FromUserName>o1</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><a/></MsgType><MsgId>1</MsgId></xml>",
        "<xml>text</xml>",
    ],
)
def test_fields_that_are_not_plain_text_are_bad_requests(wechat: WeChatHarness, xml: str) -> None:
    before = stored(wechat)
    response = wechat.post_xml(xml)
    assert response.status_code == 400
    assert wechat.dialogue.calls == []
    assert stored(wechat) == before


def test_real_wechat_ids_are_accepted(wechat: WeChatHarness) -> None:
    # Shapes from WeChat's documentation and test accounts.
    fields = {
        **text_message("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "你好", 1234567890123456),
        "ToUserName": "gh_3c884a361561",
    }
    assert wechat.reply_text(fields) == "收到：你好"
    assert wechat.reply_text(event_message("ozy4qt5QUADNXORxCVipKMV9dss0", "subscribe"))


# Finding 10: no length cap on WeChat text


def test_the_cap_is_the_web_chats() -> None:
    assert MAX_USER_TEXT == WEB_MAX_TEXT == 1000


def test_a_20000_character_message_is_refused_politely(wechat: WeChatHarness) -> None:
    openid = new_openid()
    before = stored(wechat)
    reply = wechat.reply_text(text_message(openid, "长" * 20_000))
    assert reply == TOO_LONG
    assert "1000 字以内" in reply
    assert wechat.dialogue.calls == []
    # Only the inbox row, so that WeChat's retries get the same reply; no message at all.
    after = stored(wechat)
    assert (after.conversations, after.messages) == (before.conversations, before.messages)
    assert not known(wechat, openid)


def test_exactly_the_cap_is_accepted_and_one_more_is_not(wechat: WeChatHarness) -> None:
    openid = new_openid()
    at_cap = "问" * MAX_USER_TEXT
    # Surrounding blanks do not count, as on the web.
    # (The echo is longer than one WeChat message: only its first part is the passive reply.)
    assert wechat.reply_text(text_message(openid, f"  {at_cap}\n")).startswith("收到：问问")
    assert wechat.reply_text(text_message(openid, at_cap + "问")) == TOO_LONG
    assert [m.text for m in wechat.history(openid) if m.role is Role.USER] == [at_cap]


def test_replies_name_the_account_and_the_sender(wechat: WeChatHarness) -> None:
    """The passive reply goes back to the sender, from the account (a regression guard)."""
    openid = new_openid()
    response = wechat.post(text_message(openid, "你好"))
    reply = parse_message(response.text)
    assert (reply.source, reply.target) == (ACCOUNT, openid)
