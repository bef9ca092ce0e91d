"""The escalation side of the agent API: queue, case view, replies, assign, resolve."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from support.accounts.service import AccountService
from support.conversations.models import ConversationState
from support.dialogue import BotMessage
from support.escalations.models import EscalationStatus
from support.escalations.schemas import EscalationRequest
from support.escalations.service import EscalationService
from support.replies.vocabulary import REASON_LABELS, HandoffReason
from support.storage import MIGRATIONS, engine_for, session_factory
from support.tickets.service import TicketService
from tests.conftest import POSTGRES_URL, _postgres_schema_url
from tests.console.conftest import PASSWORD, Console, accounts_for, log_in, log_in_client
from tests.web.conftest import Gateway
from tests.wechat.conftest import (
    FakeWeChatAPI,
    MakeWeChat,
    fake_wechat_server,
    make_wechat,
    new_openid,
    wechat_api,
)

__all__ = ["fake_wechat_server", "make_wechat", "wechat_api"]

CANDIDATES = [
    {"faq_id": "topup_not_arrived", "question": "充值没到账怎么办？", "score": 0.41},
    {"faq_id": "payment_failed", "question": "付款失败是什么原因？", "score": 0.33},
]


def hand_off(gateway: Gateway, text: str = "转人工") -> tuple[str, dict[str, str], int]:
    """A web user talks to the bot, which hands the conversation to a person."""
    session_id, headers = gateway.session()
    escalations = gateway.escalations()

    def handoff(sender: str, said: str) -> list[BotMessage]:
        opened = escalations.open(
            EscalationRequest(
                conversation_id=sender,
                channel="web",
                reason="用户要求人工客服",
                last_messages=["我充值了 500 元还没到账", said],
                kb_candidates=CANDIDATES,
            )
        )
        # As ActionHandoff does: the reply carries the escalation's id.
        return [
            BotMessage(
                "正在为您转接人工客服，您目前排在第 1 位。", [], handoff=opened.escalation.id
            )
        ]

    gateway.say(session_id, headers, text="我充值了 500 元还没到账")
    gateway.rasa.script = handoff
    turn = gateway.say(session_id, headers, text=text)
    gateway.rasa.script = None
    assert turn.json()["state"] == "waiting_agent"
    case = escalations.open_for_conversation(session_id)
    assert case is not None
    return session_id, headers, case.id


def history(gateway: Gateway, session_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = gateway.client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    body: dict[str, Any] = response.json()
    return body


def test_the_queue_lists_waiting_cases_with_what_an_agent_needs(
    gateway: Gateway, agent: Console
) -> None:
    assert agent.get("/api/agent/escalations").json() == {"escalations": []}
    session_id, _, case_id = hand_off(gateway)
    queue = agent.get("/api/agent/escalations").json()["escalations"]
    assert len(queue) == 1
    item = queue[0]
    assert item["id"] == case_id
    assert item["conversation_id"] == session_id
    assert item["channel"] == "web"
    assert item["reason"] == "用户要求人工客服"
    assert item["status"] == "waiting"
    assert item["assigned_to"] is None
    assert item["redacted"] is False
    assert item["waiting_seconds"] >= 0
    assert item["conversation_state"] == "waiting_agent"
    assert item["last_user_message"] == "转人工"
    assert item["user_messages"] == 2
    assert agent.get("/api/agent/escalations", params={"status": "resolved"}).json() == {
        "escalations": []
    }
    assert agent.get("/api/agent/escalations", params={"status": "bogus"}).status_code == 422


def test_the_queue_flags_cases_where_the_guard_redacted_something(
    gateway: Gateway, agent: Console
) -> None:
    hand_off(gateway, text="转人工，我的验证码是 583920")
    item = agent.get("/api/agent/escalations").json()["escalations"][0]
    assert item["redacted"] is True
    assert "583920" not in item["last_user_message"]


def test_the_case_view_has_transcript_candidates_and_tickets(
    gateway: Gateway, agent: Console
) -> None:
    session_id, headers, case_id = hand_off(gateway)
    TicketService(session_factory(gateway.settings.database_url)).open(
        sender_id=session_id,
        channel="web",
        category="充值",
        description="充值 500 元未到账",
        contact="13812345678",
    )
    gateway.say(session_id, headers, text="我的卡号是 6222 0212 3456 7890 128")
    case = agent.get(f"/api/agent/escalations/{case_id}").json()
    assert case["conversation"] == {
        "id": session_id,
        "channel": "web",
        "state": "waiting_agent",
        "user": None,
        "created_at": case["conversation"]["created_at"],
    }
    roles = [(m["role"], m["text"]) for m in case["transcript"]]
    assert roles[0] == ("user", "我充值了 500 元还没到账")
    assert ("bot", "正在为您转接人工客服，您目前排在第 1 位。") in roles
    last = [m for m in case["transcript"] if m["role"] == "user"][-1]
    assert last["redacted"] is True
    assert "6222" not in last["text"]
    assert case["kb_candidates"] == CANDIDATES
    assert case["last_messages"][-1] == "转人工"
    assert [t["category"] for t in case["tickets"]] == ["充值"]
    assert case["tickets"][0]["status_label"] == "已受理，等待处理"
    assert agent.get("/api/agent/escalations/999999").status_code == 404


def test_an_agent_reply_reaches_the_web_user_and_takes_the_case(
    gateway: Gateway, agent: Console
) -> None:
    session_id, headers, case_id = hand_off(gateway)
    sent = agent.post(f"/api/agent/escalations/{case_id}/messages", {"text": "您好，我来帮您查。"})
    assert sent.status_code == 201
    message = sent.json()["message"]
    assert message["role"] == "agent" and message["author"] == "alice"
    assert message["delivery"] is None  # the web widget gets it from its event stream
    chat = history(gateway, session_id, headers)
    assert chat["state"] == "agent"
    assert chat["messages"][-1]["role"] == "agent"
    assert chat["messages"][-1]["text"] == "您好，我来帮您查。"
    assert "author" not in chat["messages"][-1]  # users never see which agent it was
    # Replying took the case.
    item = agent.get("/api/agent/escalations").json()["escalations"][0]
    assert (item["status"], item["assigned_to"]) == ("assigned", "alice")
    # While a person holds the conversation the bot is not asked.
    asked = len(gateway.rasa.received)
    turn = gateway.say(session_id, headers, text="好的谢谢")
    assert turn.json()["replies"] == [] and turn.json()["state"] == "agent"
    assert len(gateway.rasa.received) == asked


def test_agent_replies_are_redacted_and_validated(gateway: Gateway, agent: Console) -> None:
    _, _, case_id = hand_off(gateway)
    path = f"/api/agent/escalations/{case_id}/messages"
    for bad in ({"text": ""}, {"text": "   "}, {"text": "长" * 1001}, {}):
        response = agent.post(path, bad)
        assert response.status_code == 422
        assert response.json()["detail"]
    case = agent.get(f"/api/agent/escalations/{case_id}").json()
    assert [m for m in case["transcript"] if m["role"] == "agent"] == []
    pasted = agent.post(path, {"text": "请确认卡号 6222 0212 3456 7890 128 是否正确"})
    assert "6222" not in pasted.json()["message"]["text"]
    assert pasted.json()["message"]["redacted"] is True


def test_the_event_stream_pushes_agent_replies_live(gateway: Gateway, agent: Console) -> None:
    session_id, _, case_id = hand_off(gateway)
    bus = gateway.client.app.state.conversations.bus  # type: ignore[attr-defined]
    received: list[dict[str, Any]] = []

    async def listen_and_reply() -> None:
        import asyncio

        from support.conversations.flows import conversation_channel

        async with bus.subscribe(conversation_channel(session_id)) as events:
            iterator = aiter(events)
            await asyncio.to_thread(
                agent.post, f"/api/agent/escalations/{case_id}/messages", {"text": "在的"}
            )
            for _ in range(3):
                received.append(await asyncio.wait_for(anext(iterator), 5))

    gateway.client.portal.call(listen_and_reply)  # type: ignore[union-attr]
    # What the widget shows live: a person joined, their notice, then the reply.
    assert received[0] == {"type": "state", "state": "agent"}
    assert [(e["type"], e["role"], e["text"]) for e in received[1:]] == [
        ("message", "system", "人工客服已接入，请直接在这里描述您的问题。"),
        ("message", "agent", "在的"),
    ]


def test_assign_to_me_and_take_over(gateway: Gateway, agent: Console) -> None:
    _, _, case_id = hand_off(gateway)
    accounts_for(gateway).add("bob", PASSWORD)
    bob = log_in(gateway, "bob")
    taken = agent.post(f"/api/agent/escalations/{case_id}/assign")
    assert taken.status_code == 200
    assert taken.json()["escalation"]["assigned_to"] == "alice"
    assert taken.json()["conversation"]["state"] == "agent"
    # Bob cannot answer Alice's case without taking it over first.
    refused = bob.post(f"/api/agent/escalations/{case_id}/messages", {"text": "你好"})
    assert refused.status_code == 409
    assert "alice" in refused.json()["detail"]
    assert bob.post(f"/api/agent/escalations/{case_id}/assign").status_code == 200
    assert (
        bob.post(f"/api/agent/escalations/{case_id}/messages", {"text": "你好"}).status_code == 201
    )
    transcript = agent.get(f"/api/agent/escalations/{case_id}").json()["transcript"]
    assert [m["text"] for m in transcript if m["role"] == "system"] == [
        "人工客服已接入，请直接在这里描述您的问题。"
    ]  # one notice, not one per takeover


def test_resolve_gives_the_conversation_back_to_the_bot(gateway: Gateway, agent: Console) -> None:
    session_id, headers, case_id = hand_off(gateway)
    agent.post(f"/api/agent/escalations/{case_id}/messages", {"text": "已经帮您处理好了"})
    resolved = agent.post(f"/api/agent/escalations/{case_id}/resolve")
    assert resolved.status_code == 200
    assert resolved.json()["escalation"]["status"] == "resolved"
    assert resolved.json()["escalation"]["resolved_at"]
    assert not resolved.json()["escalation"]["withdrawn"]  # an agent solved it
    assert gateway.rasa.resumed == [session_id]
    assert agent.get("/api/agent/escalations").json() == {"escalations": []}
    chat = history(gateway, session_id, headers)
    assert chat["state"] == "bot"
    assert chat["messages"][-1]["role"] == "system"
    # The bot answers the user's next message again.
    turn = gateway.say(session_id, headers, text="提现多久到账")
    assert turn.json()["state"] == "bot"
    assert turn.json()["replies"][0]["text"] == "机器人收到：提现多久到账"
    # A resolved case takes no more replies and cannot be resolved twice.
    late = agent.post(f"/api/agent/escalations/{case_id}/messages", {"text": "还在吗"})
    assert late.status_code == 409
    assert agent.post(f"/api/agent/escalations/{case_id}/resolve").status_code == 409


def test_resolve_changes_nothing_when_rasa_is_down(gateway: Gateway, agent: Console) -> None:
    session_id, headers, case_id = hand_off(gateway)
    agent.post(f"/api/agent/escalations/{case_id}/assign")
    gateway.rasa.down = True
    response = agent.post(f"/api/agent/escalations/{case_id}/resolve")
    assert response.status_code == 503
    assert "对话服务暂时不可用" in response.json()["detail"]
    assert history(gateway, session_id, headers)["state"] == "agent"
    assert agent.get("/api/agent/escalations").json()["escalations"][0]["status"] == "assigned"


@pytest.mark.parametrize("errcode", [0, 45015])
def test_an_agent_reply_reaches_a_wechat_user_by_customer_message(
    make_wechat: MakeWeChat, wechat_api: FakeWeChatAPI, errcode: int
) -> None:
    harness = make_wechat()
    AccountService(session_factory(harness.settings.database_url)).add("alice", PASSWORD)
    agent = log_in_client(harness.client, "alice")
    openid = new_openid()
    conversation = harness.conversations.for_external("wechat", openid)
    case = EscalationService(session_factory(harness.settings.database_url)).open(
        EscalationRequest(
            conversation_id=conversation.id,
            channel="wechat",
            reason="用户要求人工客服",
            last_messages=["转人工"],
            kb_candidates=[],
        )
    )
    harness.conversations.set_state(conversation.id, ConversationState.WAITING_AGENT)
    wechat_api.errcode = errcode
    sent = agent.post(f"/api/agent/escalations/{case.escalation.id}/messages", {"text": "您好"})
    assert sent.status_code == 201
    attempts = wechat_api.attempts(openid)
    # The 人工客服已接入 notice, then the reply (or only the refused first attempt).
    assert attempts[0].content == "人工客服已接入，请直接在这里描述您的问题。"
    if errcode == 0:
        assert [a.content for a in attempts] == [
            "人工客服已接入，请直接在这里描述您的问题。",
            "您好",
        ]
        assert sent.json()["message"]["delivery"] == "sent"
    else:
        # WeChat refused (48-hour window): kept and marked for agents, never lost.
        assert sent.json()["message"]["delivery"] == "failed"
        transcript = agent.get(f"/api/agent/escalations/{case.escalation.id}").json()["transcript"]
        assert transcript[-1]["text"] == "您好"
        assert transcript[-1]["delivery"] == "failed"
    case_view = agent.get(f"/api/agent/escalations/{case.escalation.id}").json()
    assert case_view["conversation"]["user"].startswith(openid[:6])


def test_the_transcript_shows_what_the_kb_decided_for_each_reply(
    gateway: Gateway, agent: Console
) -> None:
    decided = {"decision": "fallback", "faq_id": "fees", "score": 0.31, "query": "能用数字人民币吗"}
    gateway.rasa.script = lambda sender, text: [
        BotMessage("抱歉，这个问题我还回答不了。", [], kb=decided)
    ]
    session_id, headers = gateway.session()
    gateway.say(session_id, headers, text="能用数字人民币吗")
    gateway.rasa.script = None
    case_id = (
        gateway.escalations()
        .open(
            EscalationRequest(
                conversation_id=session_id,
                channel="web",
                reason="机器人连续未能回答",
                last_messages=["能用数字人民币吗"],
                kb_candidates=[],
            )
        )
        .escalation.id
    )
    transcript = agent.get(f"/api/agent/escalations/{case_id}").json()["transcript"]
    assert [(m["role"], m["kb"]) for m in transcript] == [("user", None), ("bot", decided)]
    # Users never see it.
    chat = history(gateway, session_id, headers)
    assert all("kb" not in message for message in chat["messages"])


def test_the_queue_summarises_many_cases_and_keeps_handoffs_made_outside_the_gateway(
    gateway: Gateway, agent: Console
) -> None:
    first, headers, _ = hand_off(gateway)
    gateway.say(first, headers, text="还在吗")
    second, _, _ = hand_off(gateway, text="人工客服")
    # A handoff through Rasa's own REST channel has no gateway conversation.
    direct = gateway.escalations().open(
        EscalationRequest(
            conversation_id="rasa-rest-user",
            channel="rest",
            reason="用户要求转人工",
            last_messages=["你好", "转人工"],
            kb_candidates=[],
        )
    )
    queue = {
        item["conversation_id"]: item
        for item in agent.get("/api/agent/escalations").json()["escalations"]
    }
    assert (queue[first]["user_messages"], queue[first]["last_user_message"]) == (3, "还在吗")
    assert (queue[second]["user_messages"], queue[second]["last_user_message"]) == (2, "人工客服")
    assert queue["rasa-rest-user"]["last_user_message"] == "转人工"
    assert queue["rasa-rest-user"]["conversation_state"] == "waiting_agent"
    # Its case view has no transcript to show: a clear 404, not a server error.
    missing = agent.get(f"/api/agent/escalations/{direct.escalation.id}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "没有找到这个会话。"


# Urgent escalations (fraud, theft, money already gone): first in the queue, flagged.


def _open(gateway: Gateway, reason: HandoffReason, *, urgent: bool) -> tuple[str, int, int]:
    """Queue a new web conversation; its id, escalation id and queue position."""
    session_id, headers = gateway.session()
    gateway.say(session_id, headers, text="我被骗了" if urgent else "你好")
    handoff = gateway.escalations().open(
        EscalationRequest.from_user_texts(
            conversation_id=session_id,
            channel="web",
            reason=reason.value,
            user_texts=["我被骗了" if urgent else "你好"],
            urgent=urgent,
        )
    )
    return session_id, handoff.escalation.id, handoff.queue_position


def test_urgent_cases_come_first_then_the_oldest(gateway: Gateway, agent: Console) -> None:
    calm_early, _, calm_early_position = _open(gateway, HandoffReason.USER_REQUEST, urgent=False)
    urgent_early, _, urgent_early_position = _open(gateway, HandoffReason.URGENT, urgent=True)
    calm_late, _, calm_late_position = _open(gateway, HandoffReason.FRUSTRATION, urgent=False)
    urgent_late, urgent_late_id, urgent_late_position = _open(
        gateway, HandoffReason.URGENT, urgent=True
    )
    queue = agent.get("/api/agent/escalations").json()["escalations"]
    assert [item["conversation_id"] for item in queue] == [
        urgent_early,
        urgent_late,
        calm_early,
        calm_late,
    ]
    assert [item["urgent"] for item in queue] == [True, True, False, False]
    # The position each user was told counts the urgent cases ahead of them.
    assert (calm_early_position, urgent_early_position) == (1, 1)
    assert (calm_late_position, urgent_late_position) == (3, 2)
    # Reasons are codes; the console shows them in words.
    assert queue[0]["reason"] == "urgent_risk"
    assert queue[0]["reason_label"] == REASON_LABELS[HandoffReason.URGENT]
    assert queue[2]["reason_label"] == REASON_LABELS[HandoffReason.USER_REQUEST]
    case = agent.get(f"/api/agent/escalations/{urgent_late_id}").json()
    assert case["escalation"]["urgent"] is True
    # Taking an urgent case leaves the rest of the queue in order; resolved ones leave it.
    agent.post(f"/api/agent/escalations/{urgent_late_id}/assign")
    waiting = agent.get("/api/agent/escalations", params={"status": "waiting"}).json()
    assert [item["conversation_id"] for item in waiting["escalations"]] == [
        urgent_early,
        calm_early,
        calm_late,
    ]


def test_an_urgent_report_moves_a_waiting_user_to_the_front(
    gateway: Gateway, agent: Console
) -> None:
    first, _, _ = _open(gateway, HandoffReason.USER_REQUEST, urgent=False)
    second, case_id, position = _open(gateway, HandoffReason.USER_REQUEST, urgent=False)
    assert position == 2
    # While waiting, the second user reports a fraud: same case, now urgent and first.
    again = gateway.escalations().open(
        EscalationRequest.from_user_texts(
            conversation_id=second,
            channel="web",
            reason=HandoffReason.URGENT.value,
            user_texts=["刚转了钱给骗子"],
            urgent=True,
        )
    )
    assert (again.escalation.id, again.escalation.urgent, again.queue_position) == (
        case_id,
        True,
        1,
    )
    queue = agent.get("/api/agent/escalations").json()["escalations"]
    assert [(item["conversation_id"], item["urgent"]) for item in queue] == [
        (second, True),
        (first, False),
    ]
    # A later calm request never takes the flag away.
    calm = gateway.escalations().open(
        EscalationRequest.from_user_texts(
            conversation_id=second, channel="web", reason="user_request", user_texts=["在吗"]
        )
    )
    assert calm.escalation.urgent is True


def test_urgent_wechat_cases_are_flagged_and_first_too(
    make_wechat: MakeWeChat, wechat_api: FakeWeChatAPI
) -> None:
    harness = make_wechat()
    AccountService(session_factory(harness.settings.database_url)).add("alice", PASSWORD)
    agent = log_in_client(harness.client, "alice")
    escalations = EscalationService(session_factory(harness.settings.database_url))
    opened = []
    for urgent in (False, True):
        conversation = harness.conversations.for_external("wechat", new_openid())
        opened.append(
            escalations.open(
                EscalationRequest.from_user_texts(
                    conversation_id=conversation.id,
                    channel="wechat",
                    reason=(HandoffReason.URGENT if urgent else HandoffReason.USER_REQUEST).value,
                    user_texts=["有人冒充客服骗走了我的钱" if urgent else "转人工"],
                    urgent=urgent,
                )
            ).escalation
        )
        harness.conversations.set_state(conversation.id, ConversationState.WAITING_AGENT)
    calm, urgent_case = opened
    queue = agent.get("/api/agent/escalations").json()["escalations"]
    assert [(item["id"], item["channel"], item["urgent"]) for item in queue] == [
        (urgent_case.id, "wechat", True),
        (calm.id, "wechat", False),
    ]
    case = agent.get(f"/api/agent/escalations/{urgent_case.id}").json()
    assert case["escalation"]["urgent"] is True
    assert case["escalation"]["reason_label"] == REASON_LABELS[HandoffReason.URGENT]


def test_migrations_add_urgent_and_withdrawn_and_keep_existing_cases_as_they_were(
    database_url: str, tmp_path: Path
) -> None:
    """From revision 0006 with an escalation in it: after 0007 that case is not urgent,
    and after 0011 not withdrawn by its user."""
    with _database_at_0006(database_url, tmp_path) as (url, config):
        engine = engine_for(url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO escalations (conversation_id, channel, reason, status,"
                    " last_messages, kb_candidates, redacted, created_at)"
                    " VALUES ('c1', 'web', 'user_request', 'waiting', '[]', '[]', false,"
                    " CURRENT_TIMESTAMP)"
                )
            )
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with engine.begin() as connection:
            flags = connection.execute(text("SELECT urgent, withdrawn FROM escalations")).one()
            assert tuple(flags) in ((False, False), (0, 0))
        (view,) = EscalationService(session_factory(url)).with_status([EscalationStatus.WAITING])
        assert view.urgent is False and view.withdrawn is False
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
        columns = {column["name"] for column in inspect(engine).get_columns("escalations")}
        assert "urgent" not in columns and "withdrawn" not in columns


@contextmanager
def _database_at_0006(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Config]]:
    """An empty database migrated to 0006 only, of the same kind as ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'at_0006.db'}"
        with engine_for(url).begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
        yield url, config
        return
    assert POSTGRES_URL is not None
    schema = f"kefu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_postgres_schema_url(POSTGRES_URL, "public"))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _postgres_schema_url(POSTGRES_URL, schema)
    try:
        with engine_for(url).begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
        yield url, config
    finally:
        engine_for(url).dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_case_the_user_withdrew_says_so(gateway: Gateway, agent: Console) -> None:
    """「不用人工了」 while waiting closes the case; the console tells it from a solved one."""
    session_id, headers, case_id = hand_off(gateway)
    gateway.rasa.script = None
    left = gateway.say(session_id, headers, text="不用人工了").json()
    assert left["state"] == "bot"
    case = agent.get(f"/api/agent/escalations/{case_id}").json()["escalation"]
    assert case["status"] == "resolved" and case["withdrawn"]
    listed = agent.get("/api/agent/escalations?status=resolved").json()["escalations"]
    assert [item["withdrawn"] for item in listed if item["id"] == case_id] == [True]
