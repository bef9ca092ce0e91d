"""The callback protocol on its own: pure functions, no app, no network."""

from __future__ import annotations

import pytest
import xmltodict
from wechatpy import parse_message

from api.wechat import protocol
from api.wechat.schemas import CallbackParams
from support.errors import KefuError
from support.settings import Settings
from tests.wechat.conftest import (
    AES_KEY,
    APP_ID,
    TOKEN,
    crypto,
    event_message,
    sign,
    text_message,
    to_xml,
)

SETTINGS = Settings(wechat_token=TOKEN, wechat_aes_key=AES_KEY, wechat_app_id=APP_ID)


def test_signatures_are_checked_against_the_token() -> None:
    assert protocol.is_signed(TOKEN, sign(TOKEN, "1", "n"), "1", "n")
    assert not protocol.is_signed(TOKEN, sign("other", "1", "n"), "1", "n")
    params = CallbackParams(signature=sign(TOKEN, "1", "n"), timestamp="1", nonce="n")
    assert protocol.verify_url(SETTINGS, params, "echo") == "echo"
    with pytest.raises(protocol.BadSignatureError) as refused:
        protocol.verify_url(SETTINGS, CallbackParams(timestamp="1", nonce="n"), "echo")
    assert isinstance(refused.value, KefuError)
    assert (refused.value.status_code, refused.value.message) == (403, "签名校验失败")


def test_refusals_carry_their_status_and_chinese_message() -> None:
    unconfigured = Settings(wechat_token="")
    with pytest.raises(protocol.WeChatNotConfiguredError) as missing:
        protocol.read_callback(unconfigured, b"<xml/>", CallbackParams())
    assert (missing.value.status_code, missing.value.message) == (503, "微信公众号未配置")
    with pytest.raises(protocol.WeChatRequestError) as doctype:
        protocol.reject_dangerous('<!DOCTYPE x [<!ENTITY a "b">]><xml/>')
    assert doctype.value.status_code == 400
    assert "DOCTYPE" in doctype.value.message
    with pytest.raises(protocol.WeChatRequestError) as malformed:
        protocol.parse("<xml><MsgType>text</MsgType>")
    assert (malformed.value.status_code, malformed.value.message) == (400, "无法解析的微信消息")


def test_inbox_keys_messages_by_id_and_events_by_sender_and_time() -> None:
    message = parse_message(to_xml(text_message("openid-1", "你好", msg_id=42)))
    event = parse_message(to_xml(event_message("openid-1", "subscribe", create_time=1700000000)))
    # The sender is part of a message's key too (issue 15): MsgIds are not unique across users.
    assert protocol.inbox_key(message) == "msg:openid-1:42"
    assert protocol.inbox_key(event) == "event:openid-1:1700000000"
    assert protocol.is_event(event) and not protocol.is_event(message)


def test_a_safe_mode_callback_is_decrypted_and_answered_encrypted() -> None:
    plain = to_xml(text_message("openid-2", "怎么提现"))
    timestamp, nonce = "1700000000", "abc"
    envelope = crypto().encrypt_message(plain, nonce, timestamp)
    encrypted = str(xmltodict.parse(envelope)["xml"]["Encrypt"])
    params = CallbackParams(
        timestamp=timestamp,
        nonce=nonce,
        encrypt_type="aes",
        msg_signature=sign(TOKEN, timestamp, nonce, encrypted),
    )
    callback = protocol.read_callback(SETTINGS, envelope.encode(), params)
    assert callback.message.content == "怎么提现"
    reply = protocol.passive_reply(callback, "您好")
    assert reply.media_type == "application/xml"
    assert "您好" not in reply.body
    assert protocol.passive_reply(callback, None).body == protocol.SUCCESS
