"""The webhook itself: URL verification, signatures, safe mode, hostile input, message types."""

from __future__ import annotations

import secrets

import httpx
import pytest
import xmltodict
from wechatpy import parse_message

from kb.content import FAQ
from kb.knowledge_base import KnowledgeBase
from support.channels import Channel
from support.conversations.models import ConversationState, Role
from support.dialogue import BotMessage
from support.replies.vocabulary import clarify_payload
from tests.wechat.conftest import (
    ACCOUNT,
    TOKEN,
    MakeWeChat,
    WeChatHarness,
    crypto,
    encrypted_request,
    event_message,
    new_openid,
    sign,
    signed_query,
    text_message,
    to_xml,
)

# URL verification (GET)


def test_get_echoes_echostr_when_signed(wechat: WeChatHarness) -> None:
    echostr = secrets.token_hex(10)
    response = wechat.client.get("/wechat", params={**signed_query(), "echostr": echostr})
    assert response.status_code == 200
    assert response.text == echostr
    assert response.headers["content-type"].startswith("text/plain")


def test_get_with_a_bad_signature_is_forbidden(wechat: WeChatHarness) -> None:
    query = {**signed_query(), "echostr": "hello"}
    query["signature"] = sign("wrong-token", query["timestamp"], query["nonce"])
    response = wechat.client.get("/wechat", params=query)
    assert response.status_code == 403
    assert response.json()["detail"] == "签名校验失败"
    # No signature at all is the same refusal, not a validation error.
    assert wechat.client.get("/wechat", params={"echostr": "hello"}).status_code == 403


def test_unconfigured_channel_is_unavailable(make_wechat: MakeWeChat) -> None:
    wechat = make_wechat(wechat_token="")
    response = wechat.client.get("/wechat", params={**signed_query(), "echostr": "x"})
    assert response.status_code == 503
    assert response.json()["detail"] == "微信公众号未配置"
    assert wechat.post(text_message(new_openid(), "你好")).status_code == 503


# Plaintext mode


def test_text_message_gets_the_bots_answer(wechat: WeChatHarness) -> None:
    openid = new_openid()
    reply = wechat.reply_text(text_message(openid, "充值还没到账"))
    assert reply == "收到：充值还没到账"
    assert wechat.dialogue.calls == ["充值还没到账"]
    conversation = wechat.conversations.for_external(Channel.WECHAT, openid)
    assert conversation.channel == "wechat"
    assert [(m.role, m.text) for m in wechat.conversations.history(conversation.id)] == [
        (Role.USER, "充值还没到账"),
        (Role.BOT, "收到：充值还没到账"),
    ]


def test_several_bot_messages_make_one_reply(wechat: WeChatHarness) -> None:
    wechat.dialogue.script = lambda _: [BotMessage("第一段。", []), BotMessage("第二段。", [])]
    assert wechat.reply_text(text_message(new_openid(), "你好")) == "第一段。\n\n第二段。"


def test_without_rasa_wechat_still_gets_the_short_answer(
    wechat: WeChatHarness, monkeypatch: pytest.MonkeyPatch, knowledge_base: KnowledgeBase
) -> None:
    """The gateway answers from the KB itself when Rasa is down (degraded mode), and says
    an entry's short version on WeChat, as the action server does."""

    def rasa_down(_: str) -> list[BotMessage]:
        raise httpx.ConnectError("Rasa is down")

    original = KnowledgeBase.get

    def with_short_version(kb: KnowledgeBase, faq_id: str) -> FAQ | None:
        faq = original(kb, faq_id)
        if faq is None or faq.id != "close_account":
            return faq
        return faq.model_copy(update={"wechat_answer": "注销前请先提现并解绑银行卡。"})

    monkeypatch.setattr(KnowledgeBase, "get", with_short_version)
    wechat.dialogue.script = rasa_down
    openid = new_openid()
    reply = wechat.reply_text(text_message(openid, "怎么注销账户"))
    assert "注销前请先提现并解绑银行卡。" in reply
    whole = original(knowledge_base, "close_account")
    assert whole is not None and whole.answer not in reply
    bot = [m.text for m in wechat.history(openid) if m.role is Role.BOT]
    assert "注销前请先提现并解绑银行卡。" in bot  # the transcript shows what was sent


def test_post_with_a_bad_signature_is_forbidden(wechat: WeChatHarness) -> None:
    query = signed_query()
    query["signature"] = "0" * 40
    response = wechat.post_xml(to_xml(text_message(new_openid(), "你好")), query)
    assert response.status_code == 403
    assert response.json()["detail"] == "签名校验失败"
    assert wechat.dialogue.calls == []


# AES safe mode


def test_safe_mode_round_trip(safe_mode: WeChatHarness) -> None:
    openid = new_openid()
    query, envelope = encrypted_request(to_xml(text_message(openid, "怎么提现")))
    response = safe_mode.post_xml(envelope, query)
    assert response.status_code == 200

    encrypted = xmltodict.parse(response.text)["xml"]
    assert "怎么提现" not in response.text
    # wechatpy checks the reply's signature and decrypts it.
    plain = crypto().decrypt_message(
        response.text, encrypted["MsgSignature"], encrypted["TimeStamp"], encrypted["Nonce"]
    )
    reply = parse_message(plain)
    assert reply.type == "text"
    assert reply.content == "收到：怎么提现"
    assert reply.source == ACCOUNT
    assert reply.target == openid
    assert encrypted["Nonce"] == query["nonce"]


def test_safe_mode_rejects_a_bad_message_signature(safe_mode: WeChatHarness) -> None:
    query, envelope = encrypted_request(to_xml(text_message(new_openid(), "你好")))
    query["msg_signature"] = sign(TOKEN, query["timestamp"], query["nonce"])  # not over Encrypt
    response = safe_mode.post_xml(envelope, query)
    assert response.status_code == 403
    assert safe_mode.dialogue.calls == []


def test_safe_mode_rejects_doctype_inside_the_ciphertext(safe_mode: WeChatHarness) -> None:
    inner = '<!DOCTYPE x [<!ENTITY e "boom">]>' + to_xml(text_message(new_openid(), "&e;"))
    query, envelope = encrypted_request(inner)
    assert safe_mode.post_xml(envelope, query).status_code == 400
    assert safe_mode.dialogue.calls == []


# Hostile and broken input


@pytest.mark.parametrize(
    "prefix",
    [
        '<!DOCTYPE xml [<!ENTITY big "lol">]>',
        '<!doctype xml SYSTEM "file:///etc/passwd">',
        '<!eNtItY x "y">',
    ],
)
def test_dtds_and_entities_are_refused(wechat: WeChatHarness, prefix: str) -> None:
    response = wechat.post_xml(prefix + to_xml(text_message(new_openid(), "你好")))
    assert response.status_code == 400
    assert "DOCTYPE" in response.json()["detail"]
    assert wechat.dialogue.calls == []


@pytest.mark.parametrize(
    "body",
    ["<xml><MsgType>text</MsgType>", "这不是 XML", "<xml></xml>", "<other/>", b"\xff\xfe<xml/>"],
)
def test_malformed_xml_is_a_bad_request(wechat: WeChatHarness, body: str | bytes) -> None:
    response = wechat.post_xml(body)
    assert response.status_code == 400
    assert response.json()["detail"] == "无法解析的微信消息"


def test_oversized_bodies_are_refused(wechat: WeChatHarness) -> None:
    response = wechat.post(text_message(new_openid(), "长" * 30_000))
    assert response.status_code == 413
    assert "64 KB" in response.json()["detail"]
    assert wechat.dialogue.calls == []


# Buttons as numbered options


def _clarify(_: str) -> list[BotMessage]:
    return [
        BotMessage(
            "我不太确定您问的是哪一个，请选择最接近的问题：",
            [
                {"title": "忘记登录密码了怎么重置？", "payload": clarify_payload("password_reset")},
                {
                    "title": "支付密码忘了怎么办？",
                    "payload": clarify_payload("payment_password_reset"),
                },
            ],
        )
    ]


def test_buttons_become_numbered_lines_and_a_digit_picks_one(wechat: WeChatHarness) -> None:
    openid = new_openid()
    wechat.dialogue.script = _clarify
    reply = wechat.reply_text(text_message(openid, "密码忘了"))
    assert reply == (
        "我不太确定您问的是哪一个，请选择最接近的问题：\n\n回复数字选择：\n"
        "1. 忘记登录密码了怎么重置？\n2. 支付密码忘了怎么办？"
    )

    wechat.dialogue.script = lambda text: [BotMessage("支付密码可以在设置里重置。", [])]
    assert wechat.reply_text(text_message(openid, "2")) == "支付密码可以在设置里重置。"
    assert wechat.dialogue.calls[-1] == clarify_payload("payment_password_reset")
    # The user's message is shown as the option they picked.
    user_messages = [m.text for m in wechat.history(openid) if m.role is Role.USER]
    assert user_messages == ["密码忘了", "支付密码忘了怎么办？"]


def test_full_width_digits_pick_too(wechat: WeChatHarness) -> None:
    openid = new_openid()
    wechat.dialogue.script = _clarify
    wechat.reply_text(text_message(openid, "密码忘了"))
    wechat.dialogue.script = lambda text: [BotMessage("好的。", [])]
    wechat.reply_text(text_message(openid, "１"))
    assert wechat.dialogue.calls[-1] == clarify_payload("password_reset")


def test_a_number_without_a_matching_option_is_plain_text(wechat: WeChatHarness) -> None:
    openid = new_openid()
    wechat.dialogue.script = _clarify
    wechat.reply_text(text_message(openid, "密码忘了"))
    wechat.dialogue.script = lambda text: [BotMessage("请描述您的问题。", [])]
    wechat.reply_text(text_message(openid, "7"))
    assert wechat.dialogue.calls[-1] == "7"
    # Options are only valid until the user's next message.
    wechat.reply_text(text_message(openid, "1"))
    assert wechat.dialogue.calls[-1] == "1"


# Events and other message types


def test_subscribe_welcomes_with_numbered_topics(wechat: WeChatHarness) -> None:
    openid = new_openid()
    reply = wechat.reply_text(event_message(openid, "subscribe"))
    assert reply.startswith("欢迎关注！我是钱包智能客服")
    assert "\n\n回复数字选择：\n1. 忘记登录密码了怎么重置？\n2. 充值了但还没到账怎么办？\n" in reply
    assert "\n5. 怎么联系官方客服？" in reply
    assert wechat.dialogue.calls == []  # the welcome does not need Rasa

    wechat.dialogue.script = lambda text: [BotMessage("充值一般几分钟内到账。", [])]
    assert wechat.reply_text(text_message(openid, "2")) == "充值一般几分钟内到账。"
    assert wechat.dialogue.calls == [clarify_payload("topup_delay")]


def test_unsubscribe_and_other_events_get_success(wechat: WeChatHarness) -> None:
    for event in ("unsubscribe", "CLICK", "some_future_event"):
        response = wechat.post(event_message(new_openid(), event))
        assert response.status_code == 200
        assert response.text == "success"
    assert wechat.dialogue.calls == []


@pytest.mark.parametrize(
    ("extra", "placeholder", "kind"),
    [
        (
            {"MsgType": "image", "PicUrl": "http://example.com/a.jpg", "MediaId": "m1"},
            "[图片] media_id=m1",
            "图片",
        ),
        ({"MsgType": "voice", "MediaId": "m2", "Format": "amr"}, "[语音] media_id=m2", "语音"),
        (
            {"MsgType": "video", "MediaId": "m3", "ThumbMediaId": "t3"},
            "[视频] media_id=m3",
            "视频",
        ),
        (
            {"MsgType": "location", "Location_X": "31.2", "Location_Y": "121.4", "Label": "上海"},
            "[位置] 上海",
            "位置",
        ),
        (
            {"MsgType": "link", "Title": "链接", "Description": "说明", "Url": "http://e.com"},
            "[链接] 链接 http://e.com",
            "链接",
        ),
        ({"MsgType": "something_new"}, "[其他消息] 类型 something_new", "消息"),
    ],
)
def test_non_text_messages_are_kept_for_agents_and_get_a_clear_reply(
    wechat: WeChatHarness, extra: dict[str, str], placeholder: str, kind: str
) -> None:
    openid = new_openid()
    fields = text_message(openid, "")
    del fields["Content"]
    reply = wechat.reply_text({**fields, **extra})
    assert f"收到您的{kind}" in reply
    assert "请用文字描述" in reply
    assert wechat.dialogue.calls == []
    history = wechat.history(openid)
    assert [(m.role, m.text) for m in history] == [(Role.USER, placeholder), (Role.BOT, reply)]


def test_non_text_messages_reach_the_agent_holding_the_conversation(
    wechat: WeChatHarness,
) -> None:
    openid = new_openid()
    conversation = wechat.conversations.for_external(Channel.WECHAT, openid)
    wechat.conversations.set_state(conversation.id, ConversationState.AGENT)
    fields = text_message(openid, "")
    del fields["Content"]
    response = wechat.post({**fields, "MsgType": "image", "MediaId": "media-7"})
    assert response.text == "success"  # the agent answers, not the bot
    assert [m.text for m in wechat.history(openid)] == ["[图片] media_id=media-7"]


# Through the conversation service


def test_secrets_are_stored_redacted(wechat: WeChatHarness) -> None:
    openid = new_openid()
    wechat.reply_text(text_message(openid, "我的支付密码是123456，付款一直失败"))
    user_message = next(m for m in wechat.history(openid) if m.role is Role.USER)
    assert "123456" not in user_message.text
    assert "〔已隐藏〕" in user_message.text
    assert "123456" not in wechat.dialogue.calls[0]


def test_too_many_messages_get_a_polite_reply(make_wechat: MakeWeChat) -> None:
    wechat = make_wechat(chat_rate_limit=2)
    openid = new_openid()
    wechat.reply_text(text_message(openid, "第一条"))
    wechat.reply_text(text_message(openid, "第二条"))
    assert wechat.reply_text(text_message(openid, "第三条")) == "您发送得太快了，请稍后再试。"
    assert wechat.dialogue.calls == ["第一条", "第二条"]


def test_while_an_agent_has_the_conversation_the_reply_is_success(wechat: WeChatHarness) -> None:
    openid = new_openid()
    conversation = wechat.conversations.for_external(Channel.WECHAT, openid)
    wechat.conversations.set_state(conversation.id, ConversationState.AGENT)
    response = wechat.post(text_message(openid, "人工客服在吗"))
    assert response.status_code == 200
    assert response.text == "success"
    assert wechat.dialogue.calls == []
    assert [m.text for m in wechat.history(openid)] == ["人工客服在吗"]
