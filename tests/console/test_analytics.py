"""Analytics: the figures against a seeded conversation set, the suggestion review list,
and the KB metadata of each bot reply that the figures are computed from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

from actions import runtime
from actions.faq import ActionAnswerFAQ, ActionCoreFallback
from api.console.deps import COOKIE_NAME, CSRF_HEADER
from kb.content import FAQCollection
from kb.knowledge_base import KnowledgeBase
from support.analytics.models import ParaphraseSuggestion
from support.channels import Channel
from support.conversations.models import Conversation, ConversationState, Message, Role
from support.dialogue import BotMessage, RasaClient
from support.escalations.models import Escalation
from support.escalations.schemas import EscalationRequest
from support.replies.vocabulary import REASON_LABELS, HandoffReason
from support.settings import Settings
from support.storage import session_factory
from support.tickets.models import Ticket
from support.tickets.service import TicketService
from tests.console.conftest import Console
from tests.web.conftest import Gateway

NOW = datetime.now(UTC)
RECENT = NOW - timedelta(days=2)
OLD = NOW - timedelta(days=45)

DIGITAL_YUAN = ["能不能用数字人民币付款", "支持数字人民币吗", "可以用数字人民币支付吗"]
POINTS = ["积分可以兑换什么", "积分怎么换礼品"]


def kb(decision: str, query: str, faq_id: str | None = None) -> dict[str, Any]:
    return {"decision": decision, "faq_id": faq_id, "score": 0.5, "query": query}


@dataclass
class Turn:
    """A user's message and the bot's reply (with what the KB decided, and a 👍/👎)."""

    text: str
    kb: dict[str, Any] | None
    feedback: str | None = None


@dataclass
class Seed:
    turns: list[Turn]
    at: datetime = RECENT
    ticket: bool = False
    handoff: bool = False
    bot_only: list[str] = field(default_factory=list)


# The seeded set. In the last 30 days: six conversations with a user message (c1-c6),
# and one with only a bot message (c7, not counted). c8 is 45 days old.
SEEDS: dict[str, Seed] = {
    "c1": Seed([Turn("怎么提现到银行卡", kb("answer", "怎么提现到银行卡", "withdraw_how"), "up")]),
    "c2": Seed(
        [
            Turn("忘记密码了", kb("answer", "忘记密码了", "password_reset"), "up"),
            Turn("提现手续费是多少", kb("answer", "提现手续费是多少", "fees"), "down"),
        ]
    ),
    "c3": Seed(
        [
            Turn(DIGITAL_YUAN[0], kb("fallback", DIGITAL_YUAN[0], "payment_failed")),
            Turn(DIGITAL_YUAN[1], kb("fallback", DIGITAL_YUAN[1])),
        ],
        handoff=True,
    ),
    "c4": Seed([Turn(DIGITAL_YUAN[2], kb("fallback", DIGITAL_YUAN[2]))], ticket=True),
    "c5": Seed(
        [Turn(POINTS[0], kb("fallback", POINTS[0])), Turn(POINTS[1], kb("fallback", POINTS[1]))],
        ticket=True,
        handoff=True,
    ),
    "c6": Seed(
        [
            Turn("怎么提现到银行卡", kb("answer", "怎么提现到银行卡", "withdraw_how")),
            Turn("密码", kb("clarify", "密码", "password_reset")),
            Turn(DIGITAL_YUAN[1], kb("fallback", DIGITAL_YUAN[1])),
            Turn("好的", None),  # a reply the KB had no part in
        ]
    ),
    "c7": Seed([], bot_only=["欢迎关注！"]),
    "c8": Seed(
        [
            Turn("数字人民币可以付款吗", kb("fallback", "数字人民币可以付款吗")),
            Turn("登录密码忘了", kb("answer", "登录密码忘了", "password_reset"), "up"),
        ],
        at=OLD,
        ticket=True,
    ),
}


def seed(gateway: Gateway) -> None:
    sessions = session_factory(gateway.settings.database_url)
    with sessions() as session, session.begin():
        for name, spec in SEEDS.items():
            session.add(
                Conversation(
                    id=name,
                    channel="web",
                    state=ConversationState.BOT.value,
                    created_at=spec.at,
                    updated_at=spec.at,
                )
            )
            session.flush()
            for turn in spec.turns:
                session.add(
                    Message(conversation_id=name, role=Role.USER.value, text=turn.text,
                            buttons=[], created_at=spec.at)
                )  # fmt: skip
                session.add(
                    Message(conversation_id=name, role=Role.BOT.value, text="……", buttons=[],
                            kb=turn.kb, feedback=turn.feedback, created_at=spec.at)
                )  # fmt: skip
            for text in spec.bot_only:
                session.add(
                    Message(conversation_id=name, role=Role.BOT.value, text=text, buttons=[],
                            created_at=spec.at)
                )  # fmt: skip
    tickets = TicketService(sessions)
    for name, spec in SEEDS.items():
        if spec.ticket:
            tickets.open(
                sender_id=name, channel="web", category="其他", description="问题", contact="a@b.cn"
            )
        if spec.handoff:
            gateway.escalations().open(
                EscalationRequest(
                    conversation_id=name,
                    channel=Channel.WEB,
                    reason="用户要求转人工",
                    last_messages=[turn.text for turn in spec.turns],
                )
            )
    # The old conversation's ticket is as old as the conversation.
    with sessions() as session, session.begin():
        session.execute(update(Ticket).where(Ticket.sender_id == "c8").values(created_at=OLD))


def delete(console: Console, path: str) -> httpx.Response:
    headers = {"Cookie": f"{COOKIE_NAME}={console.cookie}", CSRF_HEADER: console.csrf_token}
    return console.client.delete(path, headers=headers)


# The figures


def test_the_figures_against_a_seeded_conversation_set(
    gateway: Gateway, agent: Console, faqs: FAQCollection
) -> None:
    seed(gateway)
    response = agent.get("/api/agent/analytics", params={"days": 30})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period_days"] == 30
    # c1-c6; c7 has no user message and c8 is older than the period.
    assert body["conversations"] == 6
    assert body["tickets"] == 2  # c4, c5
    assert body["handoffs"] == 2  # c3, c5
    assert body["deflected"] == 3  # c1, c2, c6
    assert body["deflection_rate"] == pytest.approx(3 / 6)
    assert body["ticket_rate"] == pytest.approx(2 / 6)
    assert body["handoff_rate"] == pytest.approx(2 / 6)
    assert body["csat"] == {"up": 2, "down": 1, "rate": pytest.approx(2 / 3)}
    # Answers only: the clarify in c6 is not a hit.
    questions = {faq.id: faq.question for faq in faqs}
    assert body["kb_hits"] == [
        {"faq_id": faq_id, "question": questions[faq_id], "count": count}
        for faq_id, count in (("withdraw_how", 2), ("fees", 1), ("password_reset", 1))
    ]


def test_unanswered_queries_are_clustered_by_topic(gateway: Gateway, agent: Console) -> None:
    seed(gateway)
    unanswered = agent.get("/api/agent/analytics").json()["unanswered"]
    assert [cluster["size"] for cluster in unanswered] == [4, 2, 1]

    digital_yuan, points, fees = unanswered
    # Three ways to ask about 数字人民币 are one topic; asked 4 times, listed once each,
    # the one asked twice first.
    assert digital_yuan["queries"][0] == "支持数字人民币吗"
    assert sorted(digital_yuan["queries"]) == sorted(DIGITAL_YUAN)
    assert digital_yuan["representative"] in DIGITAL_YUAN
    assert digital_yuan["reason"] == "fallback"
    nearest = digital_yuan["nearest_faq"]
    # Paying, or the currencies the wallet takes, is the nearest thing the FAQ has.
    assert nearest["faq_id"] in {
        "qr_payment",
        "payment_failed",
        "topup_methods",
        "bind_card",
        "online_checkout",
        "supported_currencies",
    }
    assert nearest["question"]
    assert 0 < nearest["score"] <= 1

    assert sorted(points["queries"]) == sorted(POINTS)
    assert points["reason"] == "fallback"

    # An answer the user downvoted is a query the KB did not really answer either.
    assert fees["queries"] == ["提现手续费是多少"]
    assert fees["representative"] == "提现手续费是多少"
    assert fees["reason"] == "downvoted"
    assert fees["nearest_faq"]["faq_id"] == "fees"


def test_the_period_excludes_older_conversations(gateway: Gateway, agent: Console) -> None:
    seed(gateway)
    body = agent.get("/api/agent/analytics", params={"days": 90}).json()
    assert body["period_days"] == 90
    assert body["conversations"] == 7  # c8 as well
    assert (body["tickets"], body["handoffs"], body["deflected"]) == (3, 2, 3)
    assert body["deflection_rate"] == pytest.approx(3 / 7)
    assert body["csat"] == {"up": 3, "down": 1, "rate": pytest.approx(3 / 4)}
    hits = {hit["faq_id"]: hit["count"] for hit in body["kb_hits"]}
    assert hits == {"withdraw_how": 2, "password_reset": 2, "fees": 1}
    assert body["unanswered"][0]["size"] == 5
    assert "数字人民币可以付款吗" in body["unanswered"][0]["queries"]

    # A day: nothing at all, and no rate can be computed.
    empty = agent.get("/api/agent/analytics", params={"days": 1}).json()
    assert empty["conversations"] == 0
    assert empty["deflection_rate"] is None
    assert empty["csat"] == {"up": 0, "down": 0, "rate": None}
    assert empty["kb_hits"] == []
    assert empty["unanswered"] == []


@pytest.mark.parametrize("days", [0, 366, "all"])
def test_the_period_is_checked(gateway: Gateway, agent: Console, days: object) -> None:
    response = agent.get("/api/agent/analytics", params={"days": days})
    assert response.status_code == 422
    assert "days" in response.json()["detail"]


# The suggestion review list


def test_suggestions_add_list_dedupe_delete_and_export(gateway: Gateway, agent: Console) -> None:
    added = agent.post(
        "/api/agent/suggestions", {"query": "支持数字人民币吗", "faq_id": "qr_payment"}
    )
    assert added.status_code == 201, added.text
    suggestion = added.json()
    assert suggestion["query"] == "支持数字人民币吗"
    assert suggestion["faq_id"] == "qr_payment"
    assert suggestion["question"] == "在店里怎么扫码付款或出示付款码？"
    assert suggestion["created_by"] == "alice"

    again = agent.post(
        "/api/agent/suggestions", {"query": " 支持数字人民币吗 ", "faq_id": "qr_payment"}
    )
    assert again.status_code == 200
    assert again.json()["id"] == suggestion["id"]
    for query in ("能不能用数字人民币付款", "扫码付款: yes"):
        assert agent.post("/api/agent/suggestions", {"query": query, "faq_id": "qr_payment"})
    assert agent.post("/api/agent/suggestions", {"query": "提现手续费是多少", "faq_id": "fees"})

    listed = agent.get("/api/agent/suggestions").json()
    assert [(s["faq_id"], s["query"]) for s in listed] == [
        ("fees", "提现手续费是多少"),
        ("qr_payment", "支持数字人民币吗"),
        ("qr_payment", "能不能用数字人民币付款"),
        ("qr_payment", "扫码付款: yes"),
    ]

    export = agent.get("/api/agent/suggestions/export")
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/yaml; charset=utf-8"
    assert export.headers["content-disposition"].startswith("attachment;")
    assert export.text.startswith("# ")
    assert "data/faq_zh.yml" in export.text
    assert yaml.safe_load(export.text) == {
        "faqs": [
            {"id": "fees", "paraphrases": ["提现手续费是多少"]},
            {
                "id": "qr_payment",
                "paraphrases": ["支持数字人民币吗", "能不能用数字人民币付款", "扫码付款: yes"],
            },
        ]
    }
    # Laid out like data/faq_zh.yml, so the lines paste straight into an entry.
    assert "\n  - id: qr_payment\n    paraphrases:\n      - 支持数字人民币吗\n" in export.text

    assert delete(agent, f"/api/agent/suggestions/{suggestion['id']}").status_code == 204
    assert len(agent.get("/api/agent/suggestions").json()) == 3
    gone = delete(agent, f"/api/agent/suggestions/{suggestion['id']}")
    assert gone.status_code == 404
    assert "没有找到" in gone.json()["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "支持数字人民币吗", "faq_id": "no_such_faq"}, "知识库中没有这个问题"),
        ({"query": "   ", "faq_id": "fees"}, "请填写要加入的问法"),
        ({"query": "长" * 201, "faq_id": "fees"}, "问法不能超过 200 个字符"),
        ({"faq_id": "fees"}, "缺少必填项"),
        ({"query": "好", "faq_id": "fees", "x": 1}, "不是可用的字段"),
    ],
)
def test_a_bad_suggestion_is_422_in_chinese(
    gateway: Gateway, agent: Console, body: dict[str, str], message: str
) -> None:
    response = agent.post("/api/agent/suggestions", body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert agent.get("/api/agent/suggestions").json() == []


def test_suggestions_are_stored_listed_and_exported_redacted(
    gateway: Gateway, agent: Console
) -> None:
    """Issue 15, finding 11: a suggestion is user text, redacted like every other store."""
    card = "4111 1111 1111 1111"
    added = agent.post(
        "/api/agent/suggestions", {"query": f"卡号 {card} 绑不上", "faq_id": "qr_payment"}
    )
    assert added.status_code == 201, added.text
    assert card not in added.json()["query"] and "〔已隐藏〕" in added.json()["query"]
    # A row stored before suggestions were redacted is redacted on the way out.
    with session_factory(gateway.settings.database_url).begin() as session:
        stored = session.scalars(select(ParaphraseSuggestion)).one()
        assert card not in stored.query
        session.add(
            ParaphraseSuggestion(
                query="我的支付密码是 654321 怎么改",
                faq_id="fees",
                created_by="alice",
                created_at=NOW,
            )
        )
    listed = agent.get("/api/agent/suggestions").text
    export = agent.get("/api/agent/suggestions/export").text
    for text in (listed, export):
        assert card not in text and "654321" not in text
        assert "〔已隐藏〕" in text


def test_an_empty_export_is_still_valid_yaml(gateway: Gateway, agent: Console) -> None:
    export = agent.get("/api/agent/suggestions/export")
    assert yaml.safe_load(export.text) == {"faqs": []}


# Where the figures come from: the KB metadata of each bot reply


async def test_rasa_client_attaches_the_kb_metadata_to_its_message() -> None:
    meta = kb("answer", "怎么提现", "withdraw_how")
    replies = [
        {"recipient_id": "u1", "text": "可以在「我的」里提现。"},
        {"recipient_id": "u1", "custom": {"kb": meta}},
        {"recipient_id": "u1", "text": "这个回答解决您的问题了吗？", "buttons": [
            {"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]},
        {"recipient_id": "u1", "custom": {"something": "else"}},
    ]  # fmt: skip

    def rasa(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["message"] == "怎么提现"
        return httpx.Response(200, json=replies)

    client = httpx.AsyncClient(transport=httpx.MockTransport(rasa))
    rasa_client = RasaClient(Settings(rasa_url="http://rasa.test"), client)
    try:
        messages = await rasa_client.send("u1", "怎么提现")
    finally:
        await rasa_client.aclose()
    assert messages == [
        BotMessage("可以在「我的」里提现。", [], kb=meta),
        BotMessage(
            "这个回答解决您的问题了吗？",
            [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}],
        ),
    ]


def stored_replies(gateway: Gateway, conversation_id: str) -> list[Message]:
    with session_factory(gateway.settings.database_url)() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.role != "user")
                .order_by(Message.id)
            )
        )


def test_a_turn_stores_what_the_kb_decided(gateway: Gateway) -> None:
    meta = kb("fallback", "支持数字人民币吗", "qr_payment")
    gateway.rasa.script = lambda _sender, _text: [
        BotMessage("抱歉，这个问题我暂时回答不了。", [], kb=meta),
        BotMessage("还有什么可以帮您？", []),
    ]
    session_id, headers = gateway.session()
    assert gateway.say(session_id, headers, text="支持数字人民币吗").status_code == 200
    assert [reply.kb for reply in stored_replies(gateway, session_id)] == [meta, None]


def test_the_degraded_path_stores_what_the_kb_decided(gateway: Gateway) -> None:
    gateway.rasa.down = True
    session_id, headers = gateway.session()
    assert gateway.say(session_id, headers, text="怎么提现到银行卡").status_code == 200
    notice, answer = stored_replies(gateway, session_id)
    assert notice.kb is None
    assert answer.kb is not None
    assert answer.kb["decision"] == "answer"
    assert answer.kb["faq_id"] == "withdraw_how"
    assert answer.kb["query"] == "怎么提现到银行卡"
    assert 0 < answer.kb["score"] <= 1


async def test_the_actions_send_what_the_kb_decided(
    monkeypatch: pytest.MonkeyPatch, knowledge_base: KnowledgeBase
) -> None:
    monkeypatch.setattr(runtime, "knowledge_base", lambda: knowledge_base)

    async def custom(action: Action, text: str, **latest: Any) -> list[dict[str, Any]]:
        message = {"text": text, "intent": {"name": "ask_faq"}, "entities": [], **latest}
        tracker = Tracker("u1", {}, message, [], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        await action.run(dispatcher, tracker, {})
        return [m["custom"]["kb"] for m in dispatcher.messages if m.get("custom")]

    (answer,) = await custom(ActionAnswerFAQ(), "怎么注销账户")
    assert answer["decision"] == "answer"
    assert answer["faq_id"] == "close_account"
    assert answer["query"] == "怎么注销账户"
    assert 0 < answer["score"] <= 1

    (clarify,) = await custom(ActionAnswerFAQ(), "密码")
    assert clarify["decision"] == "clarify"

    # The query is the redacted text: a card number never reaches the analytics.
    (fallback,) = await custom(ActionAnswerFAQ(), "今天北京天气怎么样 4111 1111 1111 1111")
    assert fallback["decision"] == "fallback"
    assert "4111" not in fallback["query"]

    (core,) = await custom(ActionCoreFallback(), "？？")
    assert core == {"decision": "fallback", "faq_id": None, "score": None, "query": "？？"}
    assert await custom(ActionCoreFallback(), "/deny") == []  # a button, not a question

    picked = await custom(
        ActionAnswerFAQ(),
        '/ask_faq{"faq_id": "fees"}',
        entities=[{"entity": "faq_id", "value": "fees"}],
    )
    assert picked == [
        {
            "decision": "answer",
            "faq_id": "fees",
            "score": None,
            "query": "手续费怎么收？为什么会被扣费？",
        }
    ]


def test_the_handoff_signal_is_attached_to_its_reply() -> None:
    from support.dialogue import bot_messages

    messages = bot_messages(
        [
            {"recipient_id": "u1", "text": "正在为您转接人工客服，您目前排在第 2 位。"},
            {"recipient_id": "u1", "custom": {"handoff": {"escalation_id": 7}}},
            {"recipient_id": "u1", "custom": {"handoff": {"escalation_id": "7"}}},  # ignored
        ]
    )
    assert messages == [BotMessage("正在为您转接人工客服，您目前排在第 2 位。", [], handoff=7)]


def test_handoffs_are_counted_by_reason_with_urgent_and_frustration(
    gateway: Gateway, agent: Console
) -> None:
    escalations = gateway.escalations()
    handoffs = [
        ("u1", HandoffReason.URGENT, True),
        ("u2", HandoffReason.URGENT, True),
        ("f1", HandoffReason.FRUSTRATION, False),
        ("f2", HandoffReason.FRUSTRATION, False),
        ("f3", HandoffReason.FRUSTRATION, False),
        ("r1", HandoffReason.USER_REQUEST, False),
        # A frustrated user who then reported a fraud: urgent, counted under its reason.
        ("f4", HandoffReason.FRUSTRATION, True),
        ("old", HandoffReason.URGENT, True),
    ]
    for conversation_id, reason, urgent in handoffs:
        escalations.open(
            EscalationRequest.from_user_texts(
                conversation_id=conversation_id,
                channel=Channel.WEB,
                reason=reason.value,
                user_texts=["……"],
                urgent=urgent,
            )
        )
    sessions = session_factory(gateway.settings.database_url)
    with sessions() as session, session.begin():
        session.execute(
            update(Escalation).where(Escalation.conversation_id == "old").values(created_at=OLD)
        )

    body = agent.get("/api/agent/analytics", params={"days": 30}).json()
    assert body["handoff_reasons"] == [
        {
            "reason": "frustration",
            "label": REASON_LABELS[HandoffReason.FRUSTRATION],
            "count": 4,
        },
        {"reason": "urgent_risk", "label": REASON_LABELS[HandoffReason.URGENT], "count": 2},
        {
            "reason": "user_request",
            "label": REASON_LABELS[HandoffReason.USER_REQUEST],
            "count": 1,
        },
    ]
    assert (body["urgent_handoffs"], body["frustration_handoffs"]) == (3, 4)
    # The older urgent case counts over a longer period only.
    longer = agent.get("/api/agent/analytics", params={"days": 90}).json()
    assert (longer["urgent_handoffs"], longer["frustration_handoffs"]) == (4, 4)
    # Reasons stored as words by older versions are shown as they are.
    escalations.open(
        EscalationRequest(conversation_id="legacy", channel=Channel.WEB, reason="用户要求转人工")
    )
    reasons = agent.get("/api/agent/analytics").json()["handoff_reasons"]
    assert {"reason": "用户要求转人工", "label": "用户要求转人工", "count": 1} in reasons
