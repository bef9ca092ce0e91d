"""The web chat API through the one conversation service, with a scripted Rasa."""

from __future__ import annotations

import pytest

from guard import hidden_notice
from support.dialogue import BotMessage
from support.escalations.models import EscalationStatus
from support.escalations.schemas import EscalationRequest
from support.escalations.service import EscalationService, EscalationView
from support.replies.vocabulary import (
    CANNOT_LEAVE_QUEUE,
    LEFT_QUEUE,
    LEFT_QUEUE_DONE,
    QUESTION_NOTED,
    REQUEST_HUMAN,
    SAFETY_STEPS_WAITING,
    STAYS_URGENT,
    STILL_IN_QUEUE,
    URGENT_NOTED,
    URGENT_QUESTION_NOTED,
    WAITING_NOTED,
    WAITING_THANKS,
    queue_place_notice,
)
from support.storage import session_factory
from tests.web.conftest import Gateway

HELPED = "这个回答解决您的问题了吗？"


def test_a_session_talks_to_rasa_and_keeps_history(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    response = gateway.say(session_id, headers, text="充值一直没到账")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "bot"
    assert [reply["text"] for reply in body["replies"]] == ["机器人收到：充值一直没到账", HELPED]
    assert body["replies"][1]["buttons"] == [
        {"title": "是", "payload": "/affirm"},
        {"title": "否", "payload": "/deny"},
    ]
    assert gateway.rasa.received == [(session_id, "充值一直没到账", {"channel": "web"})]

    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    messages = history.json()["messages"]
    assert [(m["role"], m["text"]) for m in messages] == [
        ("user", "充值一直没到账"),
        ("bot", "机器人收到：充值一直没到账"),
        ("bot", HELPED),
    ]


def test_a_button_press_sends_its_payload_and_shows_its_title(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    gateway.say(session_id, headers, text="忘记密码")
    assert gateway.say(session_id, headers, payload="/affirm").status_code == 200
    assert gateway.rasa.received[-1][1] == "/affirm"
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert history.json()["messages"][-3]["text"] == "是"


def test_a_typed_number_picks_a_button_just_offered(gateway: Gateway) -> None:
    """「2」 after 是 / 否 is the second button pressed; a number past the list, or when
    nothing is offered, is typed text like any other."""
    session_id, headers = gateway.session()
    gateway.say(session_id, headers, text="充值一直没到账")
    assert gateway.say(session_id, headers, text="2").status_code == 200
    assert gateway.rasa.received[-1][1] == "/deny"
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert history.json()["messages"][-3]["text"] == "否"
    gateway.say(session_id, headers, text="3")
    assert gateway.rasa.received[-1][1] == "3"

    gateway.rasa.script = lambda _, text: [BotMessage(f"收到：{text}", [])]
    gateway.say(session_id, headers, text="你好")
    gateway.say(session_id, headers, text="1")
    assert gateway.rasa.received[-1][1] == "1"


def test_only_offered_buttons_are_accepted(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    response = gateway.say(session_id, headers, payload='/ask_faq{"faq_id": "refund"}')
    assert response.status_code == 422
    assert response.json()["detail"] == "这个选项已失效，请直接输入您的问题。"
    assert gateway.rasa.received == []


def test_typed_text_can_never_be_an_intent(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    gateway.say(session_id, headers, text="/request_human")
    assert gateway.rasa.received[-1][1] == "request_human"


def test_secrets_are_redacted_before_storage_and_before_rasa(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    gateway.say(session_id, headers, text="我的支付密码是 123456，帮我看看")
    _, sent, metadata = gateway.rasa.received[-1]
    assert "123456" not in sent
    assert metadata["redacted"] == ["payment_password"]
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert history.json()["messages"][0]["text"] == "我的支付密码是 〔已隐藏〕，帮我看看"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": "Basic x"}, 401)],
)
def test_messages_need_the_session_token(
    gateway: Gateway, headers: dict[str, str], status: int
) -> None:
    session_id, _ = gateway.session()
    assert gateway.say(session_id, headers, text="你好").status_code == status
    listed = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert listed.status_code == status
    assert "会话无效" in listed.json()["detail"]


def test_one_session_can_never_read_another(gateway: Gateway) -> None:
    mine, my_headers = gateway.session()
    theirs, their_headers = gateway.session()
    gateway.say(theirs, their_headers, text="我的提现失败了")
    stolen = gateway.client.get(f"/api/chat/sessions/{theirs}/messages", headers=my_headers)
    assert stolen.status_code == 401
    events = gateway.client.get(f"/api/chat/sessions/{theirs}/events", params={"token": "x"})
    assert events.status_code == 401
    assert gateway.say(theirs, my_headers, text="冒充").status_code == 401
    own = gateway.client.get(f"/api/chat/sessions/{mine}/messages", headers=my_headers)
    assert own.json()["messages"] == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"text": ""}, "text：消息不能为空"),
        ({"text": "   "}, "text：消息不能为空"),
        ({"text": "长" * 1001}, "text：不能超过 1000 个字符"),
        ({}, "请提供 text 或 payload 其中之一"),
        ({"text": "你好", "payload": "/affirm"}, "请提供 text 或 payload 其中之一"),
        ({"text": "你好", "extra": 1}, "extra：不是可用的字段"),
    ],
)
def test_bad_messages_get_a_chinese_422_and_nothing_is_stored(
    gateway: Gateway, body: dict[str, object], detail: str
) -> None:
    session_id, headers = gateway.session()
    response = gateway.client.post(
        f"/api/chat/sessions/{session_id}/messages", json=body, headers=headers
    )
    assert response.status_code == 422
    assert detail in response.json()["detail"]
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert history.json()["messages"] == []
    assert gateway.rasa.received == []


def test_a_body_over_64_kb_is_rejected_with_413(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    response = gateway.client.post(
        f"/api/chat/sessions/{session_id}/messages",
        content=b'{"text": "' + b"a" * (65 * 1024) + b'"}',
        headers=headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "64 KB" in response.json()["detail"]


def test_more_than_20_messages_in_10_seconds_is_429(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    for n in range(20):
        assert gateway.say(session_id, headers, text=f"第{n}条消息").status_code == 200
    response = gateway.say(session_id, headers, text="第21条消息")
    assert response.status_code == 429
    assert response.json()["detail"] == "发送太频繁，请稍后再试。"
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert "第21条消息" not in [m["text"] for m in history.json()["messages"]]
    # Another user is not affected.
    other, other_headers = gateway.session()
    assert gateway.say(other, other_headers, text="你好").status_code == 200


def test_feedback_is_stored_for_csat(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    answer = gateway.say(session_id, headers, text="怎么提现").json()["replies"][0]
    url = f"/api/chat/sessions/{session_id}/messages/{answer['id']}/feedback"
    assert gateway.client.post(url, json={"value": "up"}, headers=headers).status_code == 204
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert history.json()["messages"][1]["feedback"] == "up"
    assert gateway.client.post(url, json={"value": "meh"}, headers=headers).status_code == 422
    user_message = history.json()["messages"][0]["id"]
    not_an_answer = f"/api/chat/sessions/{session_id}/messages/{user_message}/feedback"
    assert (
        gateway.client.post(not_an_answer, json={"value": "up"}, headers=headers).status_code == 404
    )


def test_handoff_moves_the_conversation_to_the_agent_queue(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    escalations = EscalationService(session_factory(gateway.settings.database_url))

    def handoff(sender: str, text: str) -> list[BotMessage]:
        opened = escalations.open(
            EscalationRequest(
                conversation_id=sender,
                channel="web",
                reason="用户要求转人工",
                last_messages=[text],
                kb_candidates=[],
            )
        )
        # As ActionHandoff does: the reply carries the escalation's id.
        return [
            BotMessage(
                "正在为您转接人工客服，您目前排在第 1 位。", [], handoff=opened.escalation.id
            )
        ]

    gateway.rasa.script = handoff
    assert gateway.say(session_id, headers, text="转人工").json()["state"] == "waiting_agent"
    gateway.rasa.script = None
    waiting = gateway.say(session_id, headers, text="还要等多久").json()
    # One word that a person will read it, from the gateway: the bot is paused.
    assert [reply["text"] for reply in waiting["replies"]] == [WAITING_NOTED]
    assert waiting["state"] == "waiting_agent" and not waiting["degraded"]
    assert [text for _, text, _ in gateway.rasa.received] == ["转人工"]  # not sent to Rasa
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    assert history.json()["state"] == "waiting_agent"
    assert [m["text"] for m in history.json()["messages"][-2:]] == ["还要等多久", WAITING_NOTED]


def test_degraded_mode_answers_from_the_kb(gateway: Gateway) -> None:
    gateway.rasa.down = True
    session_id, headers = gateway.session()
    body = gateway.say(session_id, headers, text="冲值一直没到帐").json()
    assert body["degraded"] is True
    notice, answer = body["replies"]
    assert notice["role"] == "system"
    assert "充值" in answer["text"]
    assert {b["payload"] for b in answer["buttons"]} == {"/open_ticket", "/request_human"}

    clarify = gateway.say(session_id, headers, text="密码").json()["replies"][-1]
    assert len(clarify["buttons"]) == 3
    picked = gateway.say(session_id, headers, payload=clarify["buttons"][0]["payload"]).json()
    assert "密码" in picked["replies"][-1]["text"]

    fallback = gateway.say(session_id, headers, text="今天北京天气怎么样").json()
    assert "暂时回答不了" in fallback["replies"][-1]["text"]

    queued = gateway.say(session_id, headers, payload="/open_ticket").json()
    assert queued["state"] == "waiting_agent"
    assert "人工客服会尽快" in queued["replies"][-1]["text"]
    case = gateway.escalations().open_for_conversation(session_id)
    assert case is not None
    assert "冲值一直没到帐" in case.last_messages


def test_health_shows_each_part(gateway: Gateway) -> None:
    response = gateway.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["kb"]["up"] is True
    assert body["components"]["database"]["up"] is True
    assert body["components"]["rasa"]["up"] is False
    assert body["components"]["actions"]["up"] is False


def test_widget_and_demo_page_are_served(gateway: Gateway) -> None:
    page = gateway.client.get("/")
    assert page.status_code == 200
    assert '<script src="/widget.js"' in page.text
    script = gateway.client.get("/widget.js")
    assert script.headers["content-type"].startswith("application/javascript")
    assert gateway.client.get("/widget.css").headers["content-type"].startswith("text/css")


def test_a_paused_bot_that_says_nothing_still_finds_the_handoff(gateway: Gateway) -> None:
    """If the handoff signal were ever lost, an empty reply makes the gateway look."""
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    turn = gateway.say(session_id, headers, text="有人吗")
    assert turn.json()["state"] == "waiting_agent"


def test_money_gone_while_waiting_moves_up_and_gets_the_safety_steps(gateway: Gateway) -> None:
    """No bot answers a user waiting for a person, but one who reports a loss is not left
    in silence: the queue moves them up and the safety steps come now; once each."""
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    assert gateway.say(session_id, headers, text="好的").json()["state"] == "waiting_agent"
    # A first message for the agent gets one word that a person will read it; the next, none.
    first = gateway.say(session_id, headers, text="嗯嗯").json()["replies"]
    assert [reply["text"] for reply in first] == [WAITING_NOTED]
    assert gateway.say(session_id, headers, text="好吧").json()["replies"] == []
    waiting = gateway.escalations().open_for_conversation(session_id)
    assert waiting is not None and not waiting.urgent
    replies = gateway.say(session_id, headers, text="刚才有人把我钱包里的钱转走了").json()
    assert [reply["text"] for reply in replies["replies"]] == [SAFETY_STEPS_WAITING]
    assert replies["state"] == "waiting_agent"
    waiting = gateway.escalations().open_for_conversation(session_id)
    assert waiting is not None and waiting.urgent
    # After a loss, money or a code given away is heard too; then the agent takes over.
    again = gateway.say(session_id, headers, text="我已经把验证码告诉他了").json()["replies"]
    assert [reply["text"] for reply in again] == [URGENT_NOTED]
    assert gateway.say(session_id, headers, text="我又转了一笔").json()["replies"] == []
    # A question the help centre cannot answer is noted, with what helps before the agent.
    asked = gateway.say(session_id, headers, text="要不要去报警啊").json()["replies"]
    assert [reply["text"] for reply in asked] == [URGENT_QUESTION_NOTED]
    assert "报案" in URGENT_QUESTION_NOTED


def test_a_question_in_the_queue_is_never_met_with_silence(gateway: Gateway) -> None:
    """After the word that a person will read the messages, more chatter gets nothing,
    but a question the help centre cannot answer is noted for the agent."""
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    gateway.say(session_id, headers, text="好的")
    first = gateway.say(session_id, headers, text="嗯嗯").json()["replies"]
    assert [reply["text"] for reply in first] == [WAITING_NOTED]
    asked = gateway.say(session_id, headers, text="你们几个人在值班啊").json()["replies"]
    assert [reply["text"] for reply in asked] == [QUESTION_NOTED]
    assert gateway.say(session_id, headers, text="好吧").json()["replies"] == []


def test_while_waiting_the_help_centre_answers_and_the_user_may_leave_the_queue(
    gateway: Gateway,
) -> None:
    """A queue may take minutes: until an agent takes the case, questions get the help
    centre's answer (said once that the user is still in the queue), thanks a word back,
    a second 「转人工」 the place in the queue, and 「不用人工了」 gives the bot back."""
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    gateway.say(session_id, headers, text="好的")
    answered = gateway.say(session_id, headers, text="提现一般多久到账").json()
    texts = [reply["text"] for reply in answered["replies"]]
    assert answered["state"] == "waiting_agent"
    assert len(texts) >= 2 and texts[-1] == STILL_IN_QUEUE
    assert WAITING_NOTED not in texts
    payloads = [b["payload"] for reply in answered["replies"] for b in reply["buttons"]]
    assert REQUEST_HUMAN not in payloads  # already waiting for one
    again = gateway.say(session_id, headers, text="怎么绑定银行卡").json()["replies"]
    assert again and STILL_IN_QUEUE not in [reply["text"] for reply in again]
    thanks = gateway.say(session_id, headers, text="好的谢谢").json()["replies"]
    assert [reply["text"] for reply in thanks] == [WAITING_THANKS]
    place = gateway.say(session_id, headers, text="人呢？我要人工客服").json()["replies"]
    assert [reply["text"] for reply in place] == [queue_place_notice(1)]
    # The paused bot heard only the first message (before the gateway saw the queue).
    assert [text for _, text, _ in gateway.rasa.received] == ["好的"]
    gateway.rasa.script = None
    left = gateway.say(session_id, headers, text="算了 不用人工了").json()
    assert left["state"] == "bot"
    # Nothing said besides the decline: the bot is not sent it.
    assert [reply["text"] for reply in left["replies"]] == [LEFT_QUEUE_DONE]
    assert gateway.rasa.resumed == [session_id]
    assert gateway.escalations().open_for_conversation(session_id) is None
    assert [text for _, text, _ in gateway.rasa.received] == ["好的"]
    # Closed as the user's doing: the console says cancelled, not solved.
    (closed,) = [
        case
        for case in gateway.escalations().with_status([EscalationStatus.RESOLVED])
        if case.conversation_id == session_id
    ]
    assert closed.withdrawn


def test_a_user_who_leaves_the_queue_with_a_question_gets_it_answered_by_the_bot(
    gateway: Gateway,
) -> None:
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    gateway.say(session_id, headers, text="好的")
    gateway.rasa.script = None
    left = gateway.say(session_id, headers, text="不用人工了 支付密码怎么改").json()
    assert left["state"] == "bot"
    assert [reply["text"] for reply in left["replies"]] == [
        LEFT_QUEUE,
        "机器人收到：不用人工了 支付密码怎么改",
        "这个回答解决您的问题了吗？",
    ]


def test_a_conversation_waiting_with_no_case_open_goes_back_to_the_bot(
    gateway: Gateway,
) -> None:
    """A case resolved while the state change to the bot never landed: the user is not
    left unheard for good; the bot has the conversation back."""
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    assert gateway.say(session_id, headers, text="好的").json()["state"] == "waiting_agent"
    waiting = gateway.escalations().open_for_conversation(session_id)
    assert waiting is not None
    gateway.escalations().resolve(waiting.id)
    gateway.rasa.script = None
    back = gateway.say(session_id, headers, text="在吗").json()
    assert back["state"] == "bot"
    assert back["replies"][0]["text"] == "机器人收到：在吗"
    assert gateway.rasa.resumed == [session_id]


def test_money_handed_over_after_a_scam_told_before_the_queue_is_urgent(
    gateway: Gateway,
) -> None:
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    gateway.say(session_id, headers, text="有个自称客服的人让我把钱转到安全账户")
    waiting = gateway.escalations().open_for_conversation(session_id)
    assert waiting is not None and not waiting.urgent
    urgent = gateway.say(session_id, headers, text="我已经转过去了").json()["replies"]
    assert [reply["text"] for reply in urgent] == [SAFETY_STEPS_WAITING]
    waiting = gateway.escalations().open_for_conversation(session_id)
    assert waiting is not None and waiting.urgent


def test_an_urgent_case_stays_in_the_queue_and_rasa_down_keeps_the_user_waiting(
    gateway: Gateway,
) -> None:
    urgent_id, urgent_headers = gateway.session()
    gateway.escalations().open(
        EscalationRequest(
            conversation_id=urgent_id,
            channel="web",
            reason="疑似诈骗或盗用（紧急）",
            last_messages=["有人冒充客服让我报验证码"],
            kb_candidates=[],
            urgent=True,
        )
    )
    gateway.rasa.script = lambda sender, text: []
    gateway.say(urgent_id, urgent_headers, text="好的")
    stay = gateway.say(urgent_id, urgent_headers, text="不用人工 我就想知道钱能不能追回来").json()
    assert stay["state"] == "waiting_agent"
    assert [reply["text"] for reply in stay["replies"]] == [STAYS_URGENT]
    assert gateway.escalations().open_for_conversation(urgent_id) is not None
    # Rasa cannot take the conversation back: the user is not dropped from the queue.
    plain_id, plain_headers = gateway.session()
    gateway.queue_with_a_silent_bot(plain_id)
    gateway.say(plain_id, plain_headers, text="好的")
    gateway.rasa.down = True
    kept = gateway.say(plain_id, plain_headers, text="不用人工了").json()
    assert kept["state"] == "waiting_agent"
    assert [reply["text"] for reply in kept["replies"]] == [CANNOT_LEAVE_QUEUE]
    assert gateway.escalations().open_for_conversation(plain_id) is not None


def test_while_waiting_a_hidden_card_number_is_said_and_an_agent_s_case_is_left_alone(
    gateway: Gateway,
) -> None:
    session_id, headers = gateway.session()
    gateway.queue_with_a_silent_bot(session_id)
    gateway.say(session_id, headers, text="有人吗")
    # Hidden: the user learns it, since the agent will see 〔已隐藏〕 only.
    card = gateway.say(session_id, headers, text="卡号 6222 0212 3456 7890 128 你们查一下").json()
    assert [reply["text"] for reply in card["replies"]] == [
        hidden_notice(["card_number"], alone=False)
    ]
    # Once an agent has taken the case (before a word of theirs), the bot says nothing.
    waiting = gateway.escalations().open_for_conversation(session_id)
    assert waiting is not None
    gateway.escalations().assign(waiting.id, "alice")
    assert gateway.say(session_id, headers, text="在吗").json()["replies"] == []


def test_an_ordinary_turn_does_not_read_the_escalations(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, headers = gateway.session()
    calls: list[str] = []
    original = EscalationService.open_for_conversation

    def spy(self: EscalationService, conversation_id: str) -> EscalationView | None:
        calls.append(conversation_id)
        return original(self, conversation_id)

    monkeypatch.setattr(EscalationService, "open_for_conversation", spy)
    assert gateway.say(session_id, headers, text="怎么充值").json()["state"] == "bot"
    assert calls == []


def test_users_never_see_what_only_agents_see(gateway: Gateway) -> None:
    """One serialisation of a message; users get its public part only (no KB decision)."""
    gateway.rasa.down = True  # the KB answers alone and its decision is stored
    session_id, headers = gateway.session()
    turn = gateway.say(session_id, headers, text="冲值一直没到帐").json()
    history = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    public = {"id", "role", "text", "buttons", "feedback", "created_at"}
    for message in [*turn["replies"], *history.json()["messages"]]:
        assert set(message) == public
