"""The guard in every store of a web turn (issue 15, finding 1): a phrase sent in parts,
the KB's recorded query, and a warning whenever the bot cannot give one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from guard import REDACTED, WARNING, hidden_notice
from support.conversations.models import Message
from support.dialogue import BotMessage
from support.replies.vocabulary import DESCRIBE_IT
from support.storage import session_factory
from tests.web.conftest import Gateway

FIRST_HALF = "abandon ability able about above absent"
SECOND_HALF = "absorb abstract absurd abuse access accident"
WORDS = (FIRST_HALF + " " + SECOND_HALF).split()


def _stored(gateway: Gateway, session_id: str) -> list[Message]:
    with session_factory(gateway.settings.database_url)() as session:
        return list(
            session.scalars(
                select(Message).where(Message.conversation_id == session_id).order_by(Message.id)
            )
        )


def _kb_answer(sender: str, text: str) -> list[BotMessage]:
    # As the action server answers: the KB's decision, with the (redacted) question.
    kb: dict[str, Any] = {"decision": "fallback", "faq_id": None, "score": 0.1, "query": text}
    return [BotMessage("抱歉，这个问题我暂时回答不了。", [], kb=kb)]


def _nothing_left(gateway: Gateway, session_id: str) -> None:
    for message in _stored(gateway, session_id):
        for word in WORDS:
            assert word not in message.text, (message.role, message.text)
            assert word not in str(message.kb or {}), message.kb


def test_a_phrase_sent_six_words_then_six_is_redacted_in_both(gateway: Gateway) -> None:
    gateway.rasa.script = _kb_answer
    session_id, headers = gateway.session()
    assert gateway.say(session_id, headers, text=FIRST_HALF).status_code == 200
    # Alone, six words are no phrase: the first message went through as typed.
    assert gateway.rasa.received[-1][1] == FIRST_HALF

    assert gateway.say(session_id, headers, text=SECOND_HALF).status_code == 200
    _, sent, metadata = gateway.rasa.received[-1]
    assert SECOND_HALF not in sent and REDACTED in sent
    assert metadata["redacted"] == ["mnemonic"]

    users = [m for m in _stored(gateway, session_id) if m.role == "user"]
    assert [(m.text, m.redacted) for m in users] == [(REDACTED, True), (REDACTED, True)]
    _nothing_left(gateway, session_id)
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert all(word not in history.text for word in WORDS)


def test_only_the_users_own_recent_messages_are_read_together(gateway: Gateway) -> None:
    mine, my_headers = gateway.session()
    theirs, their_headers = gateway.session()
    gateway.say(mine, my_headers, text=FIRST_HALF)
    gateway.say(theirs, their_headers, text=SECOND_HALF)
    assert [m.text for m in _stored(gateway, mine) if m.role == "user"] == [FIRST_HALF]
    assert [m.text for m in _stored(gateway, theirs) if m.role == "user"] == [SECOND_HALF]


def test_an_ordinary_message_after_an_ordinary_one_is_left_alone(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    gateway.say(session_id, headers, text="充值一直没到账")
    gateway.say(session_id, headers, text="已经等了两个小时")
    users = [(m.text, m.redacted) for m in _stored(gateway, session_id) if m.role == "user"]
    assert users == [("充值一直没到账", False), ("已经等了两个小时", False)]


def test_degraded_mode_warns_about_a_redacted_message(gateway: Gateway) -> None:
    gateway.rasa.down = True
    session_id, headers = gateway.session()
    body = gateway.say(session_id, headers, text="我的支付密码是 123456，帮我看看").json()
    assert body["degraded"] is True
    warning = body["replies"][0]
    assert (warning["role"], warning["text"]) == ("system", WARNING)
    # The KB was asked, and recorded, the redacted question only.
    for message in _stored(gateway, session_id):
        assert "123456" not in message.text and "123456" not in str(message.kb or {})

    # The same split phrase, with Rasa down: both parts redacted, and a warning.
    gateway.say(session_id, headers, text=FIRST_HALF)
    second = gateway.say(session_id, headers, text=SECOND_HALF).json()
    assert second["replies"][0]["text"] == WARNING
    _nothing_left(gateway, session_id)


def test_degraded_mode_answers_what_a_message_asks_besides_its_secret(gateway: Gateway) -> None:
    gateway.rasa.down = True
    session_id, headers = gateway.session()
    asks = gateway.say(session_id, headers, text="我卡号 6222 0212 3456 7890 123 绑不上").json()
    # A card number: the notice names it (the general warning speaks of codes).
    assert asks["replies"][0]["text"] == hidden_notice(["card_number"], alone=False)
    assert "卡" in asks["replies"][-1]["text"] and DESCRIBE_IT not in str(asks["replies"])
    only = gateway.say(session_id, headers, text="验证码 482913 你帮我看看").json()
    assert [reply["text"] for reply in only["replies"]] == [WARNING, DESCRIBE_IT]


def test_an_ordinary_degraded_turn_has_no_warning(gateway: Gateway) -> None:
    gateway.rasa.down = True
    session_id, headers = gateway.session()
    replies = gateway.say(session_id, headers, text="怎么提现").json()["replies"]
    assert WARNING not in [reply["text"] for reply in replies]


def test_a_phrase_split_while_waiting_for_an_agent_is_redacted(gateway: Gateway) -> None:
    """No bot reads it, but agents do: both parts are stored redacted all the same, and
    the user is told (the agent will see 〔已隐藏〕 only)."""
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    assert gateway.say(session_id, headers, text="有人吗").json()["state"] == "waiting_agent"
    gateway.say(session_id, headers, text=FIRST_HALF)
    replies = gateway.say(session_id, headers, text=SECOND_HALF).json()["replies"]
    assert [(reply["role"], reply["text"]) for reply in replies] == [("system", WARNING)]
    _nothing_left(gateway, session_id)
