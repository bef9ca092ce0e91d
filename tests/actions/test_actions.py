"""The custom actions, run with rasa_sdk's Tracker and CollectingDispatcher."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from rasa_sdk.events import ActiveLoop, ConversationPaused, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from actions.faq import (
    ActionAnswerFAQ,
    ActionAnswerFeedback,
    ActionCoreFallback,
    ActionSensitiveWarning,
    ActionSmallTalk,
    context_of,
)
from actions.person import ActionHandoff
from actions.tickets import (
    ActionAskCategory,
    ActionAskContact,
    ActionAskDescription,
    ActionAskTransactionId,
    ActionCheckTicketStatus,
    ActionSubmitTicket,
    ValidateTicketForm,
)
from guard import WARNING, hidden_notice
from kb.knowledge_base import Decision, KnowledgeBase
from support.escalations.service import EscalationService
from support.knowledge.categories import TicketCategories
from support.knowledge.store import CATEGORIES_KEY, KbStore
from support.replies.vocabulary import (
    FALLBACK_AGAIN,
    FALLBACK_FIRST,
    GLAD_IT_HELPED,
    HELPED_QUESTION,
    OFF_TOPIC,
    PERSON_BUTTON,
    TICKET_TIMING,
    WHILE_A_PERSON_COMES,
)
from support.storage import session_factory
from support.tickets.service import TicketService
from tests.actions.conftest import MakeTracker
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("services")

Services = tuple[TicketService, EscalationService]


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


async def run(action: Any, tracker: Any) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher, events


# Answering from the KB


async def test_answer_then_asks_whether_it_helped(make_tracker: MakeTracker) -> None:
    dispatcher, events = await run(ActionAnswerFAQ(), make_tracker("怎么注销账户"))
    answer, question = dispatcher.messages
    assert "注销" in answer["text"]
    assert question["text"] == HELPED_QUESTION
    assert [(b["title"], b["payload"]) for b in question["buttons"]] == [
        ("是", "/affirm"),
        ("否", "/deny"),
    ]
    slots = slots_set(events)
    assert slots["kb_decision"] == "answer"
    assert slots["kb_candidates"][0]["id"] == "close_account"
    assert slots["fallback_streak"] == 0


SHORT_CLOSE_ACCOUNT = "先把余额提现、解绑银行卡，再在「设置 - 账户与安全」里申请注销。"


@pytest.fixture
def short_close_account(monkeypatch: pytest.MonkeyPatch, knowledge_base: KnowledgeBase) -> str:
    """The maintainer wrote a short WeChat version of close_account."""
    faq = knowledge_base.get("close_account")
    assert faq is not None
    short = faq.model_copy(update={"wechat_answer": SHORT_CLOSE_ACCOUNT})
    original = knowledge_base.get
    monkeypatch.setattr(
        knowledge_base, "get", lambda faq_id: short if faq_id == faq.id else original(faq_id)
    )
    return faq.answer


async def test_wechat_users_get_the_short_answer_web_users_the_whole_one(
    make_tracker: MakeTracker, short_close_account: str
) -> None:
    on_wechat, _ = await run(
        ActionAnswerFAQ(), make_tracker("怎么注销账户", metadata={"channel": "wechat"})
    )
    on_web, _ = await run(ActionAnswerFAQ(), make_tracker("怎么注销账户"))
    assert on_wechat.messages[0]["text"] == SHORT_CLOSE_ACCOUNT
    assert on_web.messages[0]["text"] == short_close_account
    # Everything else in the turn is the same: the rating goes with the short answer.
    assert on_wechat.messages[0]["custom"] == on_web.messages[0]["custom"]
    assert on_wechat.messages[1:] == on_web.messages[1:]


async def test_a_clarify_choice_on_wechat_gets_the_short_answer(
    make_tracker: MakeTracker, short_close_account: str
) -> None:
    tracker = make_tracker(
        '/ask_faq{"faq_id": "close_account"}',
        entities=[{"entity": "faq_id", "value": "close_account"}],
        metadata={"channel": "wechat"},
    )
    dispatcher, _ = await run(ActionAnswerFAQ(), tracker)
    assert dispatcher.messages[0]["text"] == SHORT_CLOSE_ACCOUNT


def test_the_form_keeps_its_categories_while_the_database_is_away() -> None:
    """A database away for a moment must not break the ticket form: the default list,
    or the last one read."""
    away = create_engine("postgresql+psycopg://kefu@127.0.0.1:9/none?connect_timeout=1")
    categories = TicketCategories(sessionmaker(away), ttl=0)
    assert categories.current()[-1] == "其他"
    assert "充值" in categories.current()


async def test_escalate_ticket_hint_prefills_the_category(make_tracker: MakeTracker) -> None:
    _, events = await run(ActionAnswerFAQ(), make_tracker("充值一直没到账"))
    assert slots_set(events)["category"] == "充值"  # topup_delay carries escalate: ticket


async def test_a_question_with_a_ticket_request_is_answered_and_the_form_begins(
    make_tracker: MakeTracker,
) -> None:
    """「充值三天了没到账，帮我登记一下」: the answer, its category ready, then the form,
    without a 「解决了吗？」 in between."""
    tracker = make_tracker("充值三天了没到账，帮我登记一下")
    dispatcher, events = await run(ActionAnswerFAQ(), tracker)
    assert slots_set(events)["category"] == "充值"
    assert any(e["event"] == "followup" and e["name"] == "ticket_form" for e in events)
    assert all(message["text"] != "这个回答解决您的问题了吗？" for message in dispatcher.messages)
    _, plain = await run(ActionAnswerFAQ(), make_tracker("充值三天了没到账"))
    assert not any(e["event"] == "followup" for e in plain)


async def test_a_problem_told_with_the_request_is_the_description(
    make_tracker: MakeTracker,
) -> None:
    """「想提交个工单 昨天晚上充值了300 …余额一直没变」: the form does not ask for it again."""
    text = "想提交个工单 昨天晚上充值了300 银行卡已经扣款了 钱包余额一直没变"
    _, events = await run(ActionAnswerFAQ(), make_tracker(text))
    assert slots_set(events)["description"] == text
    assert any(e["event"] == "followup" and e["name"] == "ticket_form" for e in events)
    # A charge told is a problem told, though it names no wallet term.
    charged = "帮我开个工单，同一笔订单被扣了两次钱"
    _, events = await run(ActionAnswerFAQ(), make_tracker(charged))
    assert slots_set(events)["description"] == charged
    # A bare request tells nothing to file yet.
    _, events = await run(ActionAnswerFAQ(), make_tracker("帮我提个工单"))
    assert "description" not in slots_set(events)


async def test_the_category_of_a_problem_told_with_the_request_is_not_asked(
    make_tracker: MakeTracker,
) -> None:
    """「帮我提个工单 …充值2000 银行扣了钱包里没有 交易单号…」: the message as a whole is
    no question the KB answers, but the problem without the request settles the category
    (top-ups), so the form goes on to the contact."""
    text = "帮我提个工单 11月3号晚上8点多用工行卡充值2000 银行扣了钱包里没有 交易单号TX20241103A8F2"
    _, events = await run(ActionAnswerFAQ(), make_tracker(text))
    slots = slots_set(events)
    assert slots["description"] == text
    assert slots["category"] == "充值"


async def test_clarify_offers_three_faqs_as_buttons(make_tracker: MakeTracker) -> None:
    dispatcher, events = await run(ActionAnswerFAQ(), make_tracker("密码"))
    (message,) = dispatcher.messages
    assert len(message["buttons"]) == 3
    payloads = [button["payload"] for button in message["buttons"]]
    assert all(p.startswith("/ask_faq{") for p in payloads)
    chosen = {json.loads(p.removeprefix("/ask_faq"))["faq_id"] for p in payloads}
    assert {"password_reset", "payment_password_reset"} <= chosen
    assert slots_set(events)["kb_decision"] == "clarify"


async def test_clarify_button_answers_that_faq(make_tracker: MakeTracker) -> None:
    tracker = make_tracker(
        '/ask_faq{"faq_id": "payment_password_reset"}',
        entities=[{"entity": "faq_id", "value": "payment_password_reset"}],
    )
    dispatcher, events = await run(ActionAnswerFAQ(), tracker)
    assert "支付密码" in dispatcher.messages[0]["text"]
    assert slots_set(events)["kb_decision"] == "answer"


async def test_fallback_is_honest_and_the_second_offers_a_person(
    make_tracker: MakeTracker,
) -> None:
    dispatcher, events = await run(ActionAnswerFAQ(), make_tracker("今天北京天气怎么样"))
    assert dispatcher.messages[0]["text"] == FALLBACK_FIRST
    assert {b["payload"] for b in dispatcher.messages[0]["buttons"]} == {
        "/open_ticket",
        "/request_human",
    }
    assert slots_set(events)["fallback_streak"] == 1

    again = make_tracker("红烧肉怎么做", slots={"fallback_streak": 1.0})
    dispatcher, events = await run(ActionAnswerFAQ(), again)
    assert dispatcher.messages[0]["text"] == FALLBACK_AGAIN
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_human"
    assert slots_set(events)["fallback_streak"] == 2


async def test_a_question_about_something_else_hears_what_the_bot_is_for(
    make_tracker: MakeTracker,
) -> None:
    for text in ("明天上海会下雨吗", "帮我写一篇关于春天的作文"):
        dispatcher, _ = await run(ActionAnswerFAQ(), make_tracker(text, intent="out_of_scope"))
        assert [m["text"] for m in dispatcher.messages] == [OFF_TOPIC], text
        # No ticket for the weather; a person stays the way out of a misreading.
        assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/request_human"]


async def test_out_of_scope_words_that_name_the_wallet_are_still_looked_up(
    make_tracker: MakeTracker,
) -> None:
    # The NLU's guess is overruled by the wallet's own words: answered, or an honest miss
    # with a ticket, never 「只能解答钱包的问题」 to a wallet question.
    answered, _ = await run(
        ActionAnswerFAQ(), make_tracker("提现到银行卡要多久", intent="out_of_scope")
    )
    assert answered.messages[0]["text"] != OFF_TOPIC
    assert "提现" in answered.messages[0]["text"]
    for text in ("王者荣耀的点券怎么充值", "能开发票吗", "商家一直不发货怎么办"):
        missed, _ = await run(ActionAnswerFAQ(), make_tracker(text, intent="out_of_scope"))
        assert OFF_TOPIC not in [m["text"] for m in missed.messages], text


async def test_a_question_about_something_else_is_no_miss_in_a_row(
    make_tracker: MakeTracker,
) -> None:
    tracker = make_tracker("讲个笑话", intent="out_of_scope", slots={"fallback_streak": 1.0})
    dispatcher, events = await run(ActionAnswerFAQ(), tracker)
    assert dispatcher.messages[0]["text"] == OFF_TOPIC
    assert slots_set(events)["fallback_streak"] == 1


async def test_answer_resets_the_fallback_streak(make_tracker: MakeTracker) -> None:
    _, events = await run(
        ActionAnswerFAQ(), make_tracker("怎么提现到银行卡", slots={"fallback_streak": 1.0})
    )
    assert slots_set(events)["fallback_streak"] == 0


@pytest.mark.parametrize(
    ("intent", "decision", "expected", "buttons"),
    [
        ("affirm", "answer", "太好了", 0),
        ("deny", "answer", "抱歉没能解决", 2),
        ("affirm", None, "还有什么可以帮您", 0),
    ],
)
async def test_feedback_after_an_answer(
    make_tracker: MakeTracker, intent: str, decision: str | None, expected: str, buttons: int
) -> None:
    tracker = make_tracker(
        "是" if intent == "affirm" else "否", intent=intent, slots={"kb_decision": decision}
    )
    dispatcher, events = await run(ActionAnswerFeedback(), tracker)
    assert expected in dispatcher.messages[0]["text"]
    assert len(dispatcher.messages[0]["buttons"]) == buttons
    assert slots_set(events) == {"kb_decision": None}


async def test_core_fallback_reverts_and_offers_help(make_tracker: MakeTracker) -> None:
    dispatcher, events = await run(ActionCoreFallback(), make_tracker("？？"))
    assert "没有理解" in dispatcher.messages[0]["text"]
    assert events == [{"event": "rewind", "timestamp": None}]


# The ticket form


DOMAIN = yaml.safe_load((PROJECT_ROOT / "bot" / "domain.yml").read_text("utf-8"))


async def validate(tracker: Any) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await ValidateTicketForm().run(dispatcher, tracker, DOMAIN)
    return dispatcher, slots_set(events)


def form_tracker(make_tracker: MakeTracker, requested: str, text: str, **kwargs: Any) -> Any:
    """The tracker Rasa sends while the form waits for ``requested``: the user's text was
    just extracted into that slot, and the validation action is asked to check it."""
    slots = {"requested_slot": requested, requested: text} | kwargs.pop("slots", {})
    tracker = make_tracker(text, active_loop="ticket_form", slots=slots, **kwargs)
    tracker.events.append({"event": "slot", "name": requested, "value": text})
    return tracker


@pytest.mark.parametrize(
    ("slot", "good", "stored"),
    [
        ("category", "充值", "充值"),
        ("description", "充值五百元两天没到账", "充值五百元两天没到账"),
        ("contact", "138 1234 5678", "13812345678"),
        ("contact", "li.ming@example.cn", "li.ming@example.cn"),
        ("transaction_id", "PAY20261121000123", "PAY20261121000123"),
        ("transaction_id", "没有", "无"),
    ],
)
async def test_valid_values_fill_the_slot(
    make_tracker: MakeTracker, slot: str, good: str, stored: str
) -> None:
    dispatcher, slots = await validate(form_tracker(make_tracker, slot, good))
    assert slots[slot] == stored
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("slot", "bad", "message"),
    [
        ("category", "随便", "不确定属于哪一类"),
        ("description", "没到", "至少用 5 个字"),
        ("contact", "12345", "11 位中国大陆手机号"),
        ("contact", "abc@", "邮箱地址"),
        ("transaction_id", "单号?", "6–40 位字母或数字"),
    ],
)
async def test_invalid_values_are_explained_in_chinese(
    make_tracker: MakeTracker, slot: str, bad: str, message: str
) -> None:
    dispatcher, slots = await validate(form_tracker(make_tracker, slot, bad))
    assert slots[slot] is None
    assert message in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    ("text", "intent"), [("算了", "deny"), ("取消", "cancel"), ("不想弄了", "cancel")]
)
async def test_cancel_leaves_the_form_at_any_point(
    make_tracker: MakeTracker, text: str, intent: str
) -> None:
    tracker = form_tracker(make_tracker, "contact", text, intent=intent, slots={"category": "充值"})
    _, slots = await validate(tracker)
    assert slots["requested_slot"] is None
    assert slots["category"] is None

    dispatcher, events = await run(ActionSubmitTicket(), make_tracker(text, slots=slots))
    assert "已取消提交工单" in dispatcher.messages[0]["text"]
    assert all(value is None for value in slots_set(events).values())


@pytest.mark.parametrize(
    ("text", "leaves"),
    [("试了还是不行 给我提交个工单", False), ("不行 帮我提个工单吧", False),
     ("app还是打不开 帮我开个工单", False),
     ("不用提交工单了", True), ("可以不提交工单吗", True), ("不想弄了", True)],
)  # fmt: skip
async def test_a_request_to_file_heard_as_a_cancel_starts_the_form(
    make_tracker: MakeTracker, text: str, leaves: bool
) -> None:
    """The message that started the form asks for the ticket; its 「不行」 may still
    sound like a cancel to the NLU. A request turned down does leave."""
    tracker = form_tracker(make_tracker, "category", text, intent="cancel")
    _, slots = await validate(tracker)
    assert (slots.get("requested_slot", "kept") is None) is leaves


@pytest.mark.parametrize(
    ("text", "files"),
    [("帮我写个请假条", False), ("我要不要再转一次", False), ("你能帮我写首诗吗", False),
     ("我要投诉", True), ("反馈问题", True), ("我要报修", True), ("/open_ticket", True),
     ("帮我提个单", True), ("帮我上报一下", True), ("我要售后", True),
     # A secret in it: the form's own warning, as for any message to it.
     ("帮我看看 卡号 6222 0212 3456 7890 128", True)],
)  # fmt: skip
async def test_open_ticket_in_words_that_file_nothing_is_answered_as_a_question(
    make_tracker: MakeTracker, text: str, files: bool
) -> None:
    """The NLU hears 「帮我写个请假条」 as open_ticket: the form ends before its first
    question, the message is answered as any question is, and no 「已取消」 follows."""
    tracker = make_tracker(text, intent="open_ticket", active_loop="ticket_form")
    dispatcher, slots = await validate(tracker)
    assert (slots.get("requested_slot", "kept") is None) is not files
    if files:
        return
    assert dispatcher.messages  # an answer, a choice or an honest fallback
    submitted, _ = await run(
        ActionSubmitTicket(), make_tracker(text, intent="open_ticket", slots=slots)
    )
    assert submitted.messages == []


@pytest.mark.parametrize(
    ("slot", "text"),
    [
        ("contact", "不用回复了 我自己解决了"),
        ("description", "刚刚已经到账了"),
        ("category", "不用提交了"),
        ("description", "钱已经退回来了"),
        ("contact", "我刚刚自己弄好了 不好意思"),
        ("description", "已经到帐了 没事了"),
    ],
)
async def test_a_problem_that_went_away_leaves_the_form(
    make_tracker: MakeTracker, slot: str, text: str
) -> None:
    tracker = form_tracker(make_tracker, slot, text, intent="inform", slots={"category": "充值"})
    _, slots = await validate(tracker)
    assert slots["requested_slot"] is None
    dispatcher, _ = await run(ActionSubmitTicket(), make_tracker(text, slots=slots))
    assert "问题解决了就不提交工单了" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    "text",
    [
        "已经到账了但是少了十块",
        "我自己试了还是不行",
        "已经好几天了没处理",
        "现在可以了吗",
        "我已经改好了密码了",
        "我上面已经写好了啊",
        "我已经把钱转好了",
    ],
)
async def test_a_problem_still_there_stays_in_the_form(
    make_tracker: MakeTracker, text: str
) -> None:
    tracker = form_tracker(make_tracker, "description", text, intent="inform")
    _, slots = await validate(tracker)
    assert slots.get("requested_slot", "description") is not None


async def test_an_emergency_with_a_step_done_is_no_problem_gone(
    make_tracker: MakeTracker, services: Services
) -> None:
    """「被盗刷了 卡已经挂失好了」 in the form: the safety steps and a person, not 「太好了」."""
    text = "被盗刷了两千 卡已经挂失好了"
    dispatcher, _ = await validate(form_tracker(make_tracker, "description", text))
    said = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert "问题解决了" not in said and "冻结" in said
    _, escalations = services
    case = escalations.open_for_conversation("user-1")
    assert case is not None and case.urgent


async def test_a_secret_in_the_form_is_refused(make_tracker: MakeTracker) -> None:
    dispatcher, slots = await validate(
        form_tracker(make_tracker, "description", "我的验证码是 〔已隐藏〕 付不了款")
    )
    assert slots == {"description": None}
    assert dispatcher.messages[0]["text"].startswith(WARNING)


async def test_category_question_offers_the_default_list(make_tracker: MakeTracker) -> None:
    dispatcher, _ = await run(ActionAskCategory(), make_tracker())
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "登录与密码",
        "支付",
        "充值",
        "提现",
        "转账",
        "账户安全",
        "其他",
    ]
    dispatcher, _ = await run(ActionAskTransactionId(), make_tracker())
    assert dispatcher.messages[0]["buttons"] == [{"title": "无", "payload": "无"}]


async def test_the_form_follows_the_categories_configured_in_the_console(
    make_tracker: MakeTracker, services: Services, database_url: str
) -> None:
    """A category a maintainer adds is offered and accepted (an entry's ticket hint may
    pre-fill it); one removed is refused; 「其他」 is always there."""
    configured = ["登录与密码", "数字人民币钱包与跨境支付相关的问题咨询", "充值"]  # 19 characters
    KbStore(session_factory(database_url)).set_setting(CATEGORIES_KEY, configured)
    dispatcher, _ = await run(ActionAskCategory(), make_tracker())
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [*configured, "其他"]

    added = configured[1]
    _, slots = await validate(form_tracker(make_tracker, "category", added))
    assert slots == {"category": added}
    # Typed in Traditional characters, it is the same category.
    _, slots = await validate(form_tracker(make_tracker, "category", "登錄與密碼"))
    assert slots == {"category": "登录与密码"}
    _, slots = await validate(form_tracker(make_tracker, "category", "转账"))
    assert slots == {"category": None}

    tickets, _ = services
    tracker = make_tracker(
        slots={
            "category": added,
            "description": "数字人民币钱包充值后余额没变",
            "contact": "13812345678",
            "transaction_id": "无",
        }
    )
    await run(ActionSubmitTicket(), tracker)
    ticket = tickets.latest_for_sender("user-1")
    assert ticket is not None
    assert ticket.category == added


@pytest.mark.parametrize(
    ("problem", "category"),
    [
        ("充值三天了还没到账，钱已经扣了", "充值"),
        ("提现申请提交好几天了钱还没到银行卡", "提现"),
        ("提现被退回了好几次", "提现"),
    ],
)
async def test_a_problem_told_at_the_category_question_files_it_there(
    make_tracker: MakeTracker, problem: str, category: str
) -> None:
    """The problem itself, not a category: the KB's category, and it is the description."""
    dispatcher, slots = await validate(form_tracker(make_tracker, "category", problem))
    assert slots == {"category": category, "description": problem}
    assert f"「{category}」" in dispatcher.messages[0]["text"]


async def test_a_problem_the_kb_cannot_place_is_not_filed_under_a_guess(
    make_tracker: MakeTracker,
) -> None:
    """「就是钱不见了」 could be a transfer, a withdrawal or a theft: the user is asked,
    with a way out (「其他」, or saying what happened)."""
    dispatcher, slots = await validate(form_tracker(make_tracker, "category", "就是钱不见了"))
    assert slots == {"category": None}
    assert "其他" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize("slot", ["category", "description", "contact"])
async def test_an_emergency_told_in_the_form_goes_to_a_person_at_once(
    make_tracker: MakeTracker, slot: str
) -> None:
    text = "有人冒充客服让我转账，我已经转了5000"
    dispatcher, events = await run(ValidateTicketForm(), form_tracker(make_tracker, slot, text))
    assert any(e["event"] == "pause" for e in events)
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in events if e["event"] == "active_loop"
    ]
    assert slots_set(events)["requested_slot"] is None
    # The help centre's entry on scams, then the steps in one line, before the person.
    assert "不要再向对方转账" in "".join(m.get("text") or "" for m in dispatcher.messages[:-1])


async def test_a_person_asked_for_mid_form_is_one_except_in_the_description(
    make_tracker: MakeTracker,
) -> None:
    text = "填不来 能不能让人打电话给我"
    _, events = await run(ValidateTicketForm(), form_tracker(make_tracker, "contact", text))
    assert any(e["event"] == "pause" for e in events)
    described = "上次客服让我等人工回电话给我但没人打"
    _, slots = await validate(form_tracker(make_tracker, "description", described))
    assert slots == {"description": described}


@pytest.mark.parametrize("slot", ["description", "contact"])
async def test_a_cancel_that_asks_for_a_person_hands_off(
    make_tracker: MakeTracker, services: Services, slot: str
) -> None:
    """「算了不填了 你直接给我转人工吧」 leaves the form for a person, not for nothing."""
    text = "算了不填了 你直接给我转人工吧"
    tracker = form_tracker(make_tracker, slot, text, intent="cancel", slots={"category": "充值"})
    _, events = await run(ValidateTicketForm(), tracker)
    assert any(e["event"] == "pause" for e in events)
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in events if e["event"] == "active_loop"
    ]
    assert slots_set(events)["category"] is None
    # Money gone besides: the safety steps first, and the person as an emergency.
    gone = "算了不填了 我的钱被人转走了 直接给我转人工"
    tracker = form_tracker(make_tracker, slot, gone, intent="cancel", slots={"category": "充值"})
    dispatcher, events = await run(ValidateTicketForm(), tracker)
    assert any(e["event"] == "pause" for e in events)
    assert "不要再向对方转账" in "".join(m.get("text") or "" for m in dispatcher.messages)
    _, escalations = services
    case = escalations.open_for_conversation("user-1")
    assert case is not None and case.urgent


async def test_a_category_named_in_passing_is_taken(make_tracker: MakeTracker) -> None:
    text = "是转账的时候不见的"
    _, slots = await validate(form_tracker(make_tracker, "category", text))
    assert slots == {"category": "转账", "description": text}
    # Two named: which one is not guessed.
    _, slots = await validate(form_tracker(make_tracker, "category", "充值和提现都不行"))
    assert slots["category"] != "充值" and slots["category"] != "提现"


@pytest.mark.parametrize("slot", ["description", "contact", "transaction_id"])
async def test_a_category_taken_back_later_is_changed_not_kept_as_the_answer(
    make_tracker: MakeTracker, slot: str
) -> None:
    """「刚才选错了 应该是提现的问题」 where the form asks for something else: the category
    changes, and the message fills nothing (the form asks the same again)."""
    text = "刚才选错了 应该是提现的问题"
    tracker = form_tracker(make_tracker, slot, text, slots={"category": "充值"})
    dispatcher, slots = await validate(tracker)
    assert slots == {"category": "提现", slot: None}
    assert "「提现」" in dispatcher.messages[0]["text"]
    # None named: the category is asked again, whatever intent the words got.
    tracker = form_tracker(
        make_tracker, slot, "等一下 分类选错了", intent="cancel", slots={"category": "充值"}
    )
    _, slots = await validate(tracker)
    assert slots == {"category": None, slot: None}


async def test_a_slip_told_as_the_problem_is_the_description(make_tracker: MakeTracker) -> None:
    text = "我转账时点错了收款人 钱转给了别人"
    tracker = form_tracker(make_tracker, "description", text, slots={"category": "转账"})
    _, slots = await validate(tracker)
    assert slots == {"description": text}


async def test_after_two_misses_the_category_is_other(make_tracker: MakeTracker) -> None:
    """No third time: 「其他」, and an agent sorts it out."""
    tracker = form_tracker(
        make_tracker,
        "category",
        "随便吧",
        events=[
            {"event": "user", "text": "我要提交工单"},
            {"event": "bot", "text": ActionAskCategory.prompt},
            {"event": "user", "text": "不知道"},
            {"event": "bot", "text": ActionAskCategory.again},
        ],
    )
    dispatcher, slots = await validate(tracker)
    assert slots == {"category": "其他"}
    assert "「其他」" in dispatcher.messages[0]["text"]


async def test_the_category_asked_again_is_asked_briefly(make_tracker: MakeTracker) -> None:
    first = make_tracker("我要提交工单", intent="open_ticket")
    dispatcher, _ = await run(ActionAskCategory(), first)
    assert dispatcher.messages[0]["text"] == ActionAskCategory.prompt
    again = make_tracker(
        "不知道选哪个",
        events=[
            {"event": "user", "text": "我要提交工单"},
            {"event": "bot", "text": ActionAskCategory.prompt},
        ],
    )
    dispatcher, _ = await run(ActionAskCategory(), again)
    assert dispatcher.messages[0]["text"] == ActionAskCategory.again
    assert len(dispatcher.messages[0]["buttons"]) == 7


async def test_a_question_inside_the_form_is_answered_and_the_form_goes_on(
    make_tracker: MakeTracker, knowledge_base: KnowledgeBase
) -> None:
    question = "提现一般多久能到账"
    assert knowledge_base.query(question).decision is Decision.ANSWER
    answer = knowledge_base.query(question).top
    assert answer is not None
    for slot in ("contact", "transaction_id"):
        dispatcher, slots = await validate(
            form_tracker(make_tracker, slot, question, slots={"category": "提现"})
        )
        assert slots == {slot: None}
        texts = [message["text"] for message in dispatcher.messages]
        assert texts[0] == answer.faq.answer
        # No ticket or person buttons ahead of the form's own.
        assert all(not message["buttons"] for message in dispatcher.messages)
        assert "有帮助" not in "".join(texts)  # the form's question comes next, not 是/否
        assert "接着填" in texts[-1]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("好吧 137 0000 2222", "13700002222"),
        ("+86 186-0000-1111", "18600001111"),
        ("手机号是13800001111", "13800001111"),
        ("我不想留手机 留邮箱吧 abc@example.com", "abc@example.com"),
    ],
)
async def test_a_contact_inside_words_is_taken_alone(
    make_tracker: MakeTracker, typed: str, stored: str
) -> None:
    dispatcher, slots = await validate(form_tracker(make_tracker, "contact", typed))
    assert slots == {"contact": stored}
    assert dispatcher.messages == []


async def test_two_contacts_or_a_longer_number_are_not_guessed_between(
    make_tracker: MakeTracker,
) -> None:
    for typed in ("13800001111 或者 13900002222", "订单 2138000011112"):
        _, slots = await validate(form_tracker(make_tracker, "contact", typed))
        assert slots == {"contact": None}, typed


async def test_a_withheld_contact_is_explained_and_a_person_offered(
    make_tracker: MakeTracker,
) -> None:
    for text in ("我不想留手机号", "为什么要我的电话", "不用联系我", "没有", "那算了 你们自己查吧"):
        dispatcher, slots = await validate(form_tracker(make_tracker, "contact", text))
        assert slots == {"contact": None}
        assert "只用来告诉您工单的处理结果" in dispatcher.messages[0]["text"]
        assert dispatcher.messages[0]["buttons"] == [PERSON_BUTTON.as_dict()]


async def test_submit_files_the_ticket(make_tracker: MakeTracker, services: Services) -> None:
    tickets, _ = services
    slots = {
        "category": "充值",
        "description": "充值五百元两天没到账",
        "contact": "13812345678",
        "transaction_id": "无",
    }
    dispatcher, events = await run(ActionSubmitTicket(), make_tracker("无", slots=slots))
    number = slots_set(events)["ticket_id"]
    assert re.fullmatch(r"T\d{8}-\d{4}", number)
    assert number in dispatcher.messages[0]["text"]
    stored = tickets.find_for_sender(number, "user-1")
    assert stored is not None
    assert (stored.category, stored.contact, stored.transaction_id) == ("充值", "13812345678", None)
    assert stored.channel == "web"
    assert all(slots_set(events)[slot] is None for slot in slots)


# Ticket status


def _withdrawal_ticket(services: Services) -> Any:
    tickets, _ = services
    return tickets.open(
        sender_id="user-1",
        channel="web",
        category="提现",
        description="提现失败了三次",
        contact="13812345678",
    )


async def test_status_for_the_owner(make_tracker: MakeTracker, services: Services) -> None:
    ticket = _withdrawal_ticket(services)
    tracker = make_tracker(
        f"查一下 {ticket.number}",
        intent="check_ticket_status",
        entities=[{"entity": "ticket_id", "value": ticket.number}],
    )
    dispatcher, _ = await run(ActionCheckTicketStatus(), tracker)
    text = dispatcher.messages[0]["text"]
    assert ticket.number in text
    assert "已受理" in text
    assert "最近更新" in text


async def test_status_from_the_slot_or_typed_number(
    make_tracker: MakeTracker, services: Services
) -> None:
    tickets, _ = services
    ticket = tickets.open(
        sender_id="user-1",
        channel="web",
        category="其他",
        description="其他的问题描述",
        contact="a@b.cn",
    )
    typed = make_tracker(f"工单{ticket.number.lower()}怎么样了", intent="check_ticket_status")
    dispatcher, _ = await run(ActionCheckTicketStatus(), typed)
    assert ticket.number in dispatcher.messages[0]["text"]
    from_slot = make_tracker(
        "进度呢", intent="check_ticket_status", slots={"ticket_id": ticket.number}
    )
    dispatcher, _ = await run(ActionCheckTicketStatus(), from_slot)
    assert ticket.number in dispatcher.messages[0]["text"]


async def test_a_request_to_report_it_read_as_a_status_question_opens_the_form(
    make_tracker: MakeTracker, services: Services
) -> None:
    """「帮我把这个问题报给后台处理」 taken for a status question: it asks for a ticket."""
    dispatcher, events = await run(
        ActionCheckTicketStatus(), make_tracker("能不能帮我把这个问题报给后台处理")
    )
    assert not dispatcher.messages
    assert [(e["event"], e["name"]) for e in events] == [("followup", "ticket_form")]
    dispatcher, events = await run(ActionCheckTicketStatus(), make_tracker("我的工单处理到哪了"))
    assert dispatcher.messages and not any(e["event"] == "followup" for e in events)


async def test_a_payment_still_pending_is_no_ticket_status_question(
    make_tracker: MakeTracker, services: Services
) -> None:
    """「等了一晚上了还是处理中」 heard as a status question from a user with no ticket who
    names none: the KB answers it; 「我的工单呢」 from the same user is told there is none."""
    tracker = make_tracker(
        "等了一晚上了还是处理中",
        intent="check_ticket_status",
        slots={"topic": "transfer_pending", "kb_decision": "answer"},
    )
    dispatcher, events = await run(ActionCheckTicketStatus(), tracker)
    assert "没有提交过工单" not in dispatcher.messages[0]["text"]
    assert slots_set(events)["topic"] == "transfer_pending"
    complaint = make_tracker("我要投诉!!!提现5天了没到账", intent="check_ticket_status")
    dispatcher, events = await run(ActionCheckTicketStatus(), complaint)
    assert "抱歉" in dispatcher.messages[0]["text"]
    assert slots_set(events)["frustrated"] is True
    for other in ("昨天提的现怎么还没到账", "交易单号在哪里看"):
        tracker = make_tracker(other, intent="check_ticket_status")
        dispatcher, _ = await run(ActionCheckTicketStatus(), tracker)
        assert "没有提交过工单" not in dispatcher.messages[0]["text"]
    for asked in ("我提交的工单有人处理了吗", "投诉有结果了吗", "我的工單呢"):
        tracker = make_tracker(asked, intent="check_ticket_status")
        dispatcher, events = await run(ActionCheckTicketStatus(), tracker)
        assert "还没有提交过工单" in dispatcher.messages[0]["text"]
    # With a ticket on file, the same words ask after it.
    tickets, _ = services
    tickets.open(
        sender_id="user-1",
        channel="web",
        category="转账",
        description="转账一直处理中",
        contact="13812345678",
    )
    tracker = make_tracker("等了一晚上了还是处理中", intent="check_ticket_status")
    dispatcher, _ = await run(ActionCheckTicketStatus(), tracker)
    assert "当前状态" in dispatcher.messages[0]["text"]


async def test_a_ticket_number_typed_loosely_or_wrongly_is_explained(
    make_tracker: MakeTracker, services: Services
) -> None:
    ticket = _withdrawal_ticket(services)
    date, serial = ticket.number[1:9], ticket.number[10:]
    loose = make_tracker(f"查一下工单 T-{date}-{serial} 进度", intent="check_ticket_status")
    dispatcher, _ = await run(ActionCheckTicketStatus(), loose)
    assert "当前状态" in dispatcher.messages[0]["text"]
    unknown = make_tracker("查一下工单 T-20240610-0001 进度", intent="check_ticket_status")
    dispatcher, _ = await run(ActionCheckTicketStatus(), unknown)
    assert "没有找到您名下的工单 T20240610-0001" in dispatcher.messages[0]["text"]
    # No ticket number at all: what one looks like, and the user's latest ticket.
    wrong = make_tracker("单号好像是 12345 有结果没", intent="check_ticket_status")
    dispatcher, _ = await run(ActionCheckTicketStatus(), wrong)
    texts = [message["text"] for message in dispatcher.messages]
    assert "「12345」不是工单号" in texts[0]
    assert ticket.number in texts[-1]
    # Typed with a Chinese keyboard's full-width digits: the same ticket.
    wide = ticket.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    dispatcher, _ = await run(ActionCheckTicketStatus(), make_tracker(f"{wide} 怎么样了"))
    assert "当前状态" in dispatcher.messages[0]["text"]
    # A dash from a Chinese keyboard is a dash.
    for dash in ("——", " - ", "_"):
        typed = make_tracker(f"T{date}{dash}{serial}", intent="check_ticket_status")
        dispatcher, _ = await run(ActionCheckTicketStatus(), typed)
        assert "当前状态" in dispatcher.messages[0]["text"], dash
    # A digit too many is no ticket number, not the ticket its first digits name; nor is
    # a ticket the conversation spoke of what the user asks after now.
    longer = make_tracker(
        f"查一下{ticket.number}9", intent="check_ticket_status", slots={"ticket_id": ticket.number}
    )
    dispatcher, _ = await run(ActionCheckTicketStatus(), longer)
    texts = [message["text"] for message in dispatcher.messages]
    assert f"「{ticket.number}9」不是工单号" in texts[0]


async def test_a_mistyped_number_clears_what_the_nlu_filled_in(make_tracker: MakeTracker) -> None:
    # The NLU's pattern takes 「T20240610-00012」 for T20240610-0001 and fills the slot.
    tracker = make_tracker(
        "T20240610-00012 怎么样了",
        intent="check_ticket_status",
        slots={"ticket_id": "T20240610-0001"},
    )
    dispatcher, events = await run(ActionCheckTicketStatus(), tracker)
    assert "「T20240610-00012」不是工单号" in dispatcher.messages[0]["text"]
    assert slots_set(events) == {"ticket_id": None}


async def test_a_question_after_a_ticket_heard_as_a_faq_gets_its_status(
    make_tracker: MakeTracker, services: Services
) -> None:
    """「刚才那个工单多久有结果」 taken for a question: the ticket's status, not the KB."""
    ticket = _withdrawal_ticket(services)
    for asked in ("刚才那个工单多久有结果", "我的工单多久能处理完"):
        dispatcher, events = await run(ActionAnswerFAQ(), make_tracker(asked))
        assert ticket.number in dispatcher.messages[0]["text"], asked
        assert slots_set(events) == {"ticket_id": ticket.number}
    # How to file one, or another kind of number, is a question for the KB; an emergency
    # that mentions the ticket is still an emergency.
    for other in (
        "工单怎么提交",
        "我转账5000元，转账单号怎么查不到状态",
        "退款单号 4200001234567 多久到账",
    ):
        dispatcher, events = await run(ActionAnswerFAQ(), make_tracker(other))
        said = "".join(m["text"] or "" for m in dispatcher.messages)
        assert ticket.number not in said and "不是工单号" not in said, other
    dispatcher, events = await run(
        ActionAnswerFAQ(), make_tracker("工单三天都没有回复，有人冒充客服让我转了5000")
    )
    assert any(e["event"] == "pause" for e in events)


async def test_how_long_after_a_status_report_is_about_the_ticket(
    make_tracker: MakeTracker, services: Services
) -> None:
    ticket = _withdrawal_ticket(services)
    dispatcher, _ = await run(ActionCheckTicketStatus(), make_tracker("我的工单处理到哪了"))
    report = dispatcher.messages[-1]["text"]
    assert ticket.number in report
    said = [{"event": "user", "text": "我的工单处理到哪了"}, {"event": "bot", "text": report}]
    for asked in ("那要多久才能处理完", "能加急吗"):
        dispatcher, _ = await run(ActionAnswerFAQ(), make_tracker(asked, events=said))
        assert [m["text"] for m in dispatcher.messages] == [TICKET_TIMING], asked
        assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_human"
    # A new question right after the report is one for the KB.
    for other in ("还要提供什么材料吗", "提现一般几天到账", "那我什么时候可以再提现"):
        dispatcher, _ = await run(ActionAnswerFAQ(), make_tracker(other, events=said))
        assert TICKET_TIMING not in [m["text"] for m in dispatcher.messages], other
    # A ticket resolved, or waiting on the user, has nothing to hurry.
    for label in ("已解决", "等待您补充信息"):
        done = [said[0], {"event": "bot", "text": report.replace("已受理，等待处理", label)}]
        dispatcher, _ = await run(ActionAnswerFAQ(), make_tracker("要多久", events=done))
        assert TICKET_TIMING not in [m["text"] for m in dispatcher.messages], label
    # The same words with no status just before: a question for the KB.
    dispatcher, _ = await run(ActionAnswerFAQ(), make_tracker("提现要多久才能到账"))
    assert TICKET_TIMING not in [m["text"] for m in dispatcher.messages]
    # A new question after the report is answered as one.
    dispatcher, _ = await run(ActionAnswerFAQ(), make_tracker("怎么修改登录密码", events=said))
    assert TICKET_TIMING not in [m["text"] for m in dispatcher.messages]


async def test_status_is_hidden_from_strangers(
    make_tracker: MakeTracker, services: Services
) -> None:
    tickets, _ = services
    ticket = tickets.open(
        sender_id="owner",
        channel="web",
        category="支付",
        description="付款失败但扣钱了",
        contact="13812345678",
    )
    tracker = make_tracker(
        f"查询 {ticket.number}", intent="check_ticket_status", sender_id="stranger"
    )
    dispatcher, events = await run(ActionCheckTicketStatus(), tracker)
    assert "没有找到您名下的工单" in dispatcher.messages[0]["text"]
    assert "支付" not in dispatcher.messages[0]["text"]
    assert slots_set(events) == {"ticket_id": None}


# Handoff


async def test_handoff_records_the_case_and_pauses(
    make_tracker: MakeTracker, services: Services
) -> None:
    _, escalations = services
    history = [
        {"event": "user", "text": "充值没到账"},
        {"event": "bot", "text": "……"},
        {"event": "user", "text": "我的支付密码是 123456 你帮我查"},
    ]
    candidates = [{"id": "topup_delay", "question": "充值没到账？", "score": 0.44}]
    tracker = make_tracker(
        "转人工",
        intent="request_human",
        events=history,
        slots={"kb_candidates": candidates},
        metadata={"channel": "wechat"},
    )
    dispatcher, events = await run(ActionHandoff(), tracker)
    assert events[-1] == ConversationPaused()
    assert "第 1 位" in dispatcher.messages[0]["text"]
    case = escalations.open_for_conversation("user-1")
    assert case is not None
    # The gateway learns of the handoff from the reply itself.
    assert dispatcher.messages[0]["custom"] == {"handoff": {"escalation_id": case.id}}
    assert case.reason == "user_request"
    assert case.channel == "wechat"
    assert case.kb_candidates == candidates
    assert case.last_messages == ["充值没到账", "我的支付密码是 〔已隐藏〕 你帮我查", "转人工"]
    assert case.redacted


# Several things in one message, urgency, small talk with a question in it


async def test_a_person_asked_for_inside_a_question_hands_off(
    make_tracker: MakeTracker, services: Services
) -> None:
    _, escalations = services
    dispatcher, events = await run(ActionAnswerFAQ(), make_tracker("帮我转人工，充值不到账"))
    assert ConversationPaused() in events
    case = escalations.open_for_conversation("user-1")
    assert case is not None
    assert case.reason == "user_request"
    assert case.last_messages == ["充值不到账"]  # what the agent reads as the question
    assert "handoff" in dispatcher.messages[-1]["custom"]


async def test_fraud_gets_safety_steps_and_an_urgent_case(
    make_tracker: MakeTracker, services: Services
) -> None:
    _, escalations = services
    tracker = make_tracker("我被骗了，刚转了5000给一个自称客服的人，怎么办")
    dispatcher, events = await run(ActionAnswerFAQ(), tracker)
    assert "冻结" in dispatcher.messages[0]["text"]
    assert "验证码" in dispatcher.messages[0]["text"]
    assert ConversationPaused() in events
    case = escalations.open_for_conversation("user-1")
    assert case is not None and case.reason == "urgent_risk"


async def test_a_person_turned_down_is_no_handoff_whatever_the_nlu_heard(
    make_tracker: MakeTracker, services: Services
) -> None:
    """「不用转人工 就问下支付密码咋改」 may reach the handoff as request_human: the question
    is answered and nobody is queued."""
    _, escalations = services
    tracker = make_tracker("不用转人工 我自己看看 就问下支付密码咋改", intent="request_human")
    dispatcher, events = await run(ActionHandoff(), tracker)
    assert ConversationPaused() not in events
    assert escalations.open_for_conversation("user-1") is None
    assert slots_set(events)["topic"] == "payment_password_reset"
    assert "支付密码" in dispatcher.messages[0]["text"]
    # Turned down and nothing else: no person, and a reply all the same.
    declined = make_tracker("不用转人工了", intent="request_human")
    dispatcher, events = await run(ActionHandoff(), declined)
    assert ConversationPaused() not in events
    assert [message["response"] for message in dispatcher.messages] == ["utter_nothing_to_cancel"]
    # Asked for after all: handed off.
    tracker = make_tracker("不用机器人 给我转人工", intent="request_human")
    _, events = await run(ActionHandoff(), tracker)
    assert ConversationPaused() in events


async def test_a_ticket_asked_for_as_the_way_to_someone_starts_the_form(
    make_tracker: MakeTracker, services: Services
) -> None:
    """「不想跟机器人聊了 能不能留个工单 让你们的人回我电话」 may reach the handoff as
    request_human: the form begins and nobody is queued."""
    _, escalations = services
    tracker = make_tracker(
        "不想跟机器人聊了 能不能留个工单 让你们的人回我电话", intent="request_human"
    )
    _, events = await run(ActionHandoff(), tracker)
    assert FollowupAction("ticket_form") in events
    assert ConversationPaused() not in events
    assert escalations.open_for_conversation("user-1") is None


async def test_the_handoff_button_after_anger_says_why(
    make_tracker: MakeTracker, services: Services
) -> None:
    _, escalations = services
    tracker = make_tracker("/request_human", intent="request_human", slots={"frustrated": True})
    await run(ActionHandoff(), tracker)
    case = escalations.open_for_conversation("user-1")
    assert case is not None and case.reason == "frustration"


@pytest.mark.parametrize(
    ("text", "intent", "response"),
    [("谢谢", "thank", "utter_thank"), ("你好", "greet", "utter_greet"),
     ("好的 拜拜", "goodbye", "utter_goodbye")],
)  # fmt: skip
async def test_small_talk_alone_gets_a_pleasantry(
    make_tracker: MakeTracker, text: str, intent: str, response: str
) -> None:
    dispatcher, events = await run(ActionSmallTalk(), make_tracker(text, intent=intent))
    assert [message["response"] for message in dispatcher.messages] == [response]
    assert events == []


async def test_small_talk_with_a_question_answers_it(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("谢谢，另外怎么换绑手机号", intent="thank")
    dispatcher, events = await run(ActionSmallTalk(), tracker)
    assert slots_set(events)["kb_decision"] == "answer"
    assert "手机号" in dispatcher.messages[0]["text"]


# A secret in the message (the channel hid it before NLU): the warning, then the rest


async def test_a_secret_beside_a_question_is_hidden_and_the_question_answered(
    make_tracker: MakeTracker,
) -> None:
    tracker = make_tracker("我卡号 〔已隐藏〕 绑不上", intent="share_sensitive")
    dispatcher, events = await run(ActionSensitiveWarning(), tracker)
    assert dispatcher.messages[0]["response"] == "utter_sensitive_hidden"
    assert "卡" in dispatcher.messages[1]["text"]
    assert slots_set(events)["kb_decision"] == "answer"


async def test_a_card_number_hidden_is_named_in_the_warning(make_tracker: MakeTracker) -> None:
    beside = make_tracker(
        "我卡号 〔已隐藏〕 绑不上",
        intent="share_sensitive",
        metadata={"channel": "web", "redacted": ["card_number"]},
    )
    dispatcher, events = await run(ActionSensitiveWarning(), beside)
    assert dispatcher.messages[0]["text"].startswith("您刚才发送的银行卡号已被隐藏")
    assert "卡" in dispatcher.messages[1]["text"]  # the question is still answered
    alone = make_tracker(
        "〔已隐藏〕", intent="share_sensitive", metadata={"channel": "web", "redacted": ["cvv"]}
    )
    dispatcher, events = await run(ActionSensitiveWarning(), alone)
    assert [m["text"] for m in dispatcher.messages] == [hidden_notice(["cvv"], alone=True)]
    assert events == []


@pytest.mark.parametrize(
    "text", ["验证码 〔已隐藏〕 你帮我看看", "〔已隐藏〕", "我把验证码〔已隐藏〕发给你们"]
)
async def test_a_secret_with_nothing_answered_besides_gets_the_warning_alone(
    make_tracker: MakeTracker, text: str
) -> None:
    dispatcher, events = await run(
        ActionSensitiveWarning(), make_tracker(text, intent="share_sensitive")
    )
    assert [message.get("response") for message in dispatcher.messages] == [
        "utter_sensitive_warning"
    ]
    assert events == []


async def test_a_secret_given_to_a_scammer_is_hidden_and_handed_off(
    make_tracker: MakeTracker, services: Services
) -> None:
    _, escalations = services
    tracker = make_tracker("骗子让我发验证码 我已经发给他了 〔已隐藏〕", intent="share_sensitive")
    dispatcher, events = await run(ActionSensitiveWarning(), tracker)
    assert dispatcher.messages[0]["response"] == "utter_sensitive_hidden"
    assert ConversationPaused() in events
    case = escalations.open_for_conversation("user-1")
    assert case is not None and case.urgent


async def test_a_number_after_a_side_question_picks_from_the_list_before(
    make_tracker: MakeTracker,
) -> None:
    listed = ["payment_password_reset", "password_reset"]
    tracker = make_tracker("1", intent="goodbye", slots={"listed_before": listed})
    dispatcher, events = await run(ActionAnswerFeedback(), tracker)
    assert "支付密码" in dispatcher.messages[0]["text"]
    assert slots_set(events)["topic"] == "payment_password_reset"
    # Picked: the list is the one before now, for a second pick.
    assert slots_set(events)["listed_before"] == []


@pytest.mark.parametrize("intent", ["affirm", "thank"])
async def test_news_that_it_worked_is_met_with_gladness_whatever_came_before(
    make_tracker: MakeTracker, intent: str
) -> None:
    """「绑好了 多谢」 after a 「1」 that picked nothing (recorded as a miss): glad it
    worked, not 「抱歉没能帮上忙」."""
    tracker = make_tracker("绑好了 多谢", intent=intent, slots={"kb_decision": "fallback"})
    action = ActionAnswerFeedback() if intent == "affirm" else ActionAnswerFAQ()
    dispatcher, _ = await run(action, tracker)
    assert [message["text"] for message in dispatcher.messages] == [GLAD_IT_HELPED]


@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("好的谢谢 886", "utter_goodbye"),
        ("好的 多谢", "utter_thank"),
        ("好的", "utter_nothing_to_cancel"),
    ],
)
async def test_a_pleasantry_heard_as_a_question_gets_its_own_reply(
    make_tracker: MakeTracker, text: str, response: str
) -> None:
    dispatcher, _ = await run(
        ActionAnswerFAQ(), make_tracker(text, slots={"kb_decision": "answer"})
    )
    assert [message["response"] for message in dispatcher.messages] == [response]


async def test_a_goodbye_after_a_miss_is_said_goodbye_to(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("好的谢谢 886", slots={"kb_decision": "fallback"})
    dispatcher, _ = await run(ActionAnswerFAQ(), tracker)
    assert [message["response"] for message in dispatcher.messages] == ["utter_goodbye"]


async def test_a_question_about_the_staff_heard_as_a_request_is_answered(
    make_tracker: MakeTracker, services: Services
) -> None:
    """「真人客服啥时候在线」 may reach the handoff as request_human: it asks about the
    service, and the KB answers it."""
    _, escalations = services
    tracker = make_tracker("真人客服啥时候在线", intent="request_human")
    _, events = await run(ActionHandoff(), tracker)
    assert ConversationPaused() not in events
    assert escalations.open_for_conversation("user-1") is None
    assert slots_set(events)["topic"] == "contact_support"


async def test_a_number_after_a_clarify_list_picks_that_option(make_tracker: MakeTracker) -> None:
    offered = ["payment_password_reset", "password_reset"]
    tracker = make_tracker("1", intent="goodbye", slots={"offered_faqs": offered})
    dispatcher, events = await run(ActionAnswerFeedback(), tracker)
    assert "支付密码" in dispatcher.messages[0]["text"]
    assert slots_set(events)["topic"] == "payment_password_reset"


async def test_the_ticket_form_offers_a_person_to_an_angry_user(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("太差了，我要投诉你们", intent="open_ticket")
    dispatcher, _ = await run(ActionAskCategory(), tracker)
    assert "抱歉" in dispatcher.messages[0]["text"]
    assert dispatcher.messages[-1]["buttons"][-1]["payload"] == "/request_human"


@pytest.mark.parametrize(
    ("text", "slots", "reason"),
    [
        # After one angry message, 「垃圾软件 我要投诉」 is no ticket to file.
        ("垃圾软件 我要投诉", {"frustrated": True}, "frustration"),
        # A person asked for in what NLU heard as a ticket request.
        ("算了算了你帮我找个人工吧 讲不清", {}, "user_request"),
    ],
)
async def test_the_form_gives_way_to_a_person_when_its_first_message_wants_one(
    make_tracker: MakeTracker,
    services: Services,
    text: str,
    slots: dict[str, Any],
    reason: str,
) -> None:
    """The form is left and a person takes over, as the chat itself does."""
    tracker = make_tracker(text, intent="open_ticket", slots=slots)
    dispatcher, events = await run(ActionAskCategory(), tracker)
    assert ActiveLoop(None) in events
    assert events[-1] == ConversationPaused()
    assert "handoff" in dispatcher.messages[-1]["custom"]
    _, escalations = services
    case = escalations.open_for_conversation("user-1")
    assert case is not None and case.reason == reason


async def test_a_person_asked_for_when_the_form_starts_past_the_category_gets_one(
    make_tracker: MakeTracker, services: Services
) -> None:
    """The answer's hint filled the category, so the form starts at the description; the
    message that started it still asks for a person. A description that names one later
    in the form is only a description."""
    started = make_tracker(
        "算了 你帮我找个人工吧", intent="open_ticket", slots={"category": "提现"}
    )
    _, events = await run(ActionAskDescription(), started)
    assert events[-1] == ConversationPaused()
    later = make_tracker("转账失败三次了 麻烦人工尽快处理", intent="inform")
    dispatcher, events = await run(ActionAskContact(), later)
    assert ConversationPaused() not in events and "联系方式" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    "text", ["气死了，我要投诉，提现为什么三天还没到账", "我要投诉，给我提个工单"]
)
async def test_a_complaint_with_a_question_or_asking_for_the_form_still_gets_it(
    make_tracker: MakeTracker, text: str
) -> None:
    """Angry again, but with something to file, or asking for the form by name: the form,
    with a person on offer beside it."""
    tracker = make_tracker(text, intent="open_ticket", slots={"frustrated": True})
    dispatcher, events = await run(ActionAskCategory(), tracker)
    assert ConversationPaused() not in events
    assert dispatcher.messages[-1]["buttons"][-1]["payload"] == "/request_human"


async def test_a_vague_reply_after_a_miss_gets_a_person_offered(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("嗯嗯那个", intent="cancel", slots={"kb_decision": "fallback"})
    dispatcher, _ = await run(ActionSmallTalk(), tracker)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_human"


async def test_going_to_try_something_after_a_miss_is_acknowledged(
    make_tracker: MakeTracker,
) -> None:
    """「好滴 我去试试」: the user has something to try; no second apology for the miss."""
    tracker = make_tracker("好滴 我去试试", intent="ask_faq", slots={"kb_decision": "fallback"})
    dispatcher, _ = await run(ActionAnswerFAQ(), tracker)
    assert [message.get("response") for message in dispatcher.messages] == [
        "utter_nothing_to_cancel"
    ]


async def test_a_yes_with_nothing_to_confirm_and_other_words_is_looked_up(
    make_tracker: MakeTracker,
) -> None:
    dispatcher, events = await run(
        ActionAnswerFeedback(), make_tracker("阿巴阿巴", intent="affirm")
    )
    assert dispatcher.messages[0]["text"] == FALLBACK_FIRST
    assert slots_set(events)["kb_decision"] == "fallback"


# The request that starts the form may say the category, or the whole problem.


@pytest.mark.parametrize(
    ("text", "category", "described"),
    [
        ("我要提交工单 提现问题", "提现", False),
        ("帮我提个工单，转账的问题", "转账", False),
        ("我要提交工单，昨天充值了300块银行卡扣款了但余额一直没变", "充值", True),
    ],
)
async def test_the_request_that_starts_the_form_fills_what_it_tells(
    make_tracker: MakeTracker, text: str, category: str, described: bool
) -> None:
    tracker = make_tracker(text, intent="open_ticket", active_loop="ticket_form")
    dispatcher, slots = await validate(tracker)
    assert slots["category"] == category
    assert ("description" in slots) is described
    assert f"「{category}」" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize("text", ["我要提交工单", "帮我提个工单"])
async def test_a_bare_request_leaves_the_category_to_be_asked(
    make_tracker: MakeTracker, text: str
) -> None:
    tracker = make_tracker(text, intent="open_ticket", active_loop="ticket_form")
    dispatcher, slots = await validate(tracker)
    assert "category" not in slots and not dispatcher.messages


async def test_a_person_asked_for_with_a_problem_is_answered_meanwhile(
    make_tracker: MakeTracker, services: Any
) -> None:
    tracker = make_tracker("转人工，我的支付密码忘了怎么改", intent="request_human")
    dispatcher, events = await run(ActionHandoff(), tracker)
    assert events[-1] == ConversationPaused()
    texts = [message.get("text") or "" for message in dispatcher.messages]
    assert texts[0] == WHILE_A_PERSON_COMES
    assert "支付密码" in texts[1]
    assert "第 1 位" in texts[-1]


def test_the_context_keeps_what_got_the_list_on_offer(make_tracker: MakeTracker) -> None:
    """「提现的」 after the list for 「没到账」: the action reads what was asked from the
    tracker; after a button there is no typed question to narrow."""
    offered = {"offered_faqs": ["topup_delay", "refund"]}
    typed = [{"event": "user", "text": "没到账"}, {"event": "bot", "text": "……"}]
    assert context_of(make_tracker("提现的", events=typed, slots=offered)).asked == "没到账"
    pressed = [{"event": "user", "text": "/deny"}, {"event": "bot", "text": "……"}]
    assert context_of(make_tracker("提现的", events=pressed, slots=offered)).asked == ""
    assert context_of(make_tracker("提现的", events=typed)).asked == ""  # no list on offer
