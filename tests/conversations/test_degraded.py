"""Rasa down: the gateway answers alone and still keeps the bot's promises (issue 11.7).

The same understanding as the action server (support.replies.turns), with the context
rebuilt from the stored transcript.
"""

from __future__ import annotations

from guard import WARNING
from support.replies.vocabulary import HELPED_QUESTION, HandoffReason
from tests.web.conftest import Gateway

MNEMONIC = "abandon ability able about above absent absorb abstract absurd abuse access accident"


def _down(gateway: Gateway) -> tuple[str, dict[str, str]]:
    gateway.rasa.down = True
    return gateway.session()


def test_an_explicit_request_for_a_person_queues_the_conversation(gateway: Gateway) -> None:
    session_id, headers = _down(gateway)
    body = gateway.say(session_id, headers, text="提现三天了还没到，帮我转人工").json()
    assert body["degraded"] is True
    assert body["state"] == "waiting_agent"
    case = gateway.escalations().open_for_conversation(session_id)
    assert case is not None
    assert case.reason == HandoffReason.USER_REQUEST
    # The agent reads the question, not the request.
    assert case.last_messages[-1] == "提现三天了还没到"


def test_fraud_gets_safety_steps_and_an_urgent_handoff(gateway: Gateway) -> None:
    session_id, headers = _down(gateway)
    body = gateway.say(session_id, headers, text="我被骗了，刚转了5000给一个自称客服的人").json()
    assert body["state"] == "waiting_agent"
    said = "\n".join(reply["text"] for reply in body["replies"])
    assert "冻结" in said and "验证码" in said
    case = gateway.escalations().open_for_conversation(session_id)
    assert case is not None and case.reason == HandoffReason.URGENT


def test_a_secret_is_warned_about(gateway: Gateway) -> None:
    session_id, headers = _down(gateway)
    body = gateway.say(session_id, headers, text=MNEMONIC).json()
    assert body["replies"][0]["text"] == WARNING
    assert body["state"] == "bot"


def test_a_ticket_can_be_left(gateway: Gateway) -> None:
    session_id, headers = _down(gateway)
    body = gateway.say(session_id, headers, text="我要提交工单").json()
    assert body["state"] == "waiting_agent"
    case = gateway.escalations().open_for_conversation(session_id)
    assert case is not None and case.reason == HandoffReason.TICKET_REQUEST


def test_a_follow_up_is_read_against_the_stored_topic(gateway: Gateway) -> None:
    session_id, headers = _down(gateway)
    first = gateway.say(session_id, headers, text="充值两个小时了还没到账").json()["replies"]
    answer = first[-1]["text"]
    assert "充值" in answer
    again = gateway.say(session_id, headers, text="那一般要等多久？").json()
    texts = [reply["text"] for reply in again["replies"]]
    assert answer not in texts and HELPED_QUESTION not in texts
    assert any(b["payload"] == "/request_human" for r in again["replies"] for b in r["buttons"])
    assert again["state"] == "bot"
