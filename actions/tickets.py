"""The ticket form (one validate_<slot> per slot), filing the ticket, and status checks."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import runtime
from actions.faq import ActionAnswerFAQ, for_channel, hidden_kinds, understood, utter
from actions.handoff import channel_of, hand_off, handoff_reason
from actions.ticket_status import (
    SPEAKS_OF_A_TICKET,
    last_bot_text,
    report_status,
    typed_ticket_number,
)
from guard import WARNING, contains_secret, hidden_notice, redact
from kb.knowledge_base import Decision
from kb.text import normalize
from support.knowledge.categories import CATCH_ALL
from support.replies import signals
from support.replies.answering import answer_query
from support.replies.turns import Turn
from support.replies.vocabulary import APOLOGY, PERSON_BUTTON, SAFETY_STEPS
from support.tickets.flows import (
    MIN_DESCRIPTION,
    category_named_in,
    category_of_problem,
    corrects_category,
)

logger = logging.getLogger(__name__)

FORM_SLOTS = ("category", "description", "contact", "transaction_id")
NO_TRANSACTION = "无"

# A contact, alone or inside words (「好吧 137 0000 2222」「手机号是13800001111」「+86 186
# 0000 1111」「不想留手机 留邮箱吧 abc@example.com」): an email as written, a mainland mobile
# number once the spaces and dashes between its digits and the country code are gone.
EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86|0086)?(1[3-9]\d{9})(?!\d)")
_DIGIT_GAPS = re.compile(r"(?<=\d)[\s-]+(?=\d)")
TRANSACTION = re.compile(r"^[A-Za-z0-9-]{6,40}$")
# Leaving the form must work even if NLU misreads these as something else.
CANCEL_WORDS = {
    "取消",
    "没事了",
    "不需要了",
    "算了",
    "不填了",
    "不弄了",
    "不要了",
    "退出",
    "不提交了",
    "先不提交了",
    "停止",
}
# 「不想留手机号」「为什么要电话」「不用联系我」「你们自己查吧」: the contact withheld or
# questioned, which no FAQ answers.
WITHHOLDS_CONTACT = re.compile(
    r"(?:不想|不愿意?|不方便|不能|没有|没|不给|不留|为什么要|为啥要|干[嘛吗]要|一定要|必须)"
    r"[^，,。]{0,4}(?:手机|电话|号码|邮箱|联系方式)"
    r"|不(?:用|要|必)(?:再)?(?:联系|联络|打电话|回电|回复)|(?:你们|你)自己(?:去)?(?:查|看|处理)"
    r"|^(?:没有|没|无|不给|不留|不想留?|不方便)[。.!！~]*$"
)
WHY_CONTACT = (
    "联系方式只用来告诉您工单的处理结果，不会用于别的用途。没有手机号的话留邮箱也可以；"
    "都不方便的话，可以回复“取消”，或者直接找人工客服。"
)
NONE_WORDS = {"无", "没有", "没", "跳过", "不知道", "忘了", "没有单号", "无单号", "none", "no"}


# 「不用回复了 我自己解决了」「已经到账了」 while the form asks: nothing left to file. An
# outcome, not a step done (「卡已经冻结好了」「我已经改好了密码」 is no problem gone).
_SETTLED = re.compile(
    r"(?:自己|已经|刚刚?|现在|又)[^，,。\s]{0,3}?"
    r"(?:解决|搞定|弄好|到账|到帐|到了|收到|退回来|退回|恢复正常|恢复|正常|能用|可以用|登上|登进去)了"
    r"|问题(?:已经)?解决了|不(?:用|需要)(?:再)?(?:提交|登记|填|弄|处理)了"
)
# ...unless the message still tells of a problem (「已经到账了但是少了十块」) or asks.
_STILL_A_PROBLEM = re.compile(r"没|未|失败|但|可是|却|还是|仍|吗|[?？]|不(?!用|需要)")
# Words of politeness that carry a 不 or 没 but tell of no problem.
_POLITE = re.compile(r"不好意思|没事了?|没问题了?|麻烦了")
MAX_SETTLED_LENGTH = 24


def settled(text: str) -> bool:
    """Whether ``text`` says the problem went away, so that no ticket is needed."""
    normal = normalize(text)
    return (
        len(normal) <= MAX_SETTLED_LENGTH
        and bool(_SETTLED.search(normal))
        and not _STILL_A_PROBLEM.search(_POLITE.sub("", normal))
    )


# 「不用提交工单了」「可以不提交工单吗」: a request to file, turned down.
_NO_TICKET = re.compile(
    r"(?<![打拉想])[不别甭](?:用|要|想|需要|必)?(?:再)?(?:帮我)?(?:提交|提|开|建|填|登记)"
)


def _wants_to_leave(tracker: Tracker) -> bool:
    text = (tracker.latest_message.get("text") or "").strip().strip("。！!.")
    if corrects_category(text):  # 「等一下 分类选错了」 goes back a step, not out
        return False
    if text in CANCEL_WORDS:
        return True
    if tracker.get_intent_of_latest_message() != "cancel":
        return False
    # 「试了还是不行 给我提交个工单」 started the form; its 「不行」 may sound like a cancel
    # to the NLU, but the message asks for the ticket.
    normal = normalize(redact(text))
    return not (signals.read(normal).opens_ticket and not _NO_TICKET.search(normal))


def _not_a_ticket(tracker: Tracker) -> bool:
    """The form began on the NLU's open_ticket, but the words file nothing (「帮我写个请假条」
    「我要不要再转一次」): a question like any other. A button's payload (「/open_ticket」)
    and a message naming a ticket, a complaint or a report do file."""
    text = tracker.latest_message.get("text") or ""
    return (
        tracker.get_slot("requested_slot") is None
        and tracker.get_intent_of_latest_message() == "open_ticket"
        and not text.startswith("/")
        and not signals.files_something(redact(text))
        # A secret in it is warned about by the form, as in any message to it.
        and not contains_secret(text)
    )


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        leave = [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("requested_slot", None)]
        if _not_a_ticket(tracker):
            # Answered as a question; the form ends before its first question.
            answered = await ActionAnswerFAQ().run(dispatcher, tracker, domain)
            return [*leave, *answered]
        if _wants_to_leave(tracker):
            # 「算了不填了 你直接给我转人工吧」「算了不填了 我的钱被人转走了」: the form for a
            # person (and the safety steps when urgent), not for nothing.
            for_a_person = _person_now(dispatcher, tracker, leaving=True)
            if for_a_person is not None:
                return for_a_person
            # Ending the loop with nothing filled; action_submit_ticket reports the cancel.
            return leave
        # An emergency first: 「被盗刷了 卡已经挂失好了」 is no problem gone away.
        escalated = _person_now(dispatcher, tracker)
        if escalated is not None:
            return escalated
        if settled(tracker.latest_message.get("text") or ""):
            return leave
        if contains_secret(tracker.latest_message.get("text") or ""):
            notice = (
                hidden_notice(hidden_kinds(tracker), alone=False) or WARNING + "这条内容已隐藏，"
            )
            dispatcher.utter_message(text=notice + "请换一种方式描述。")
            requested = tracker.get_slot("requested_slot")
            return [SlotSet(requested, None)] if requested else []
        recategorised = _recategorised(dispatcher, tracker)
        if recategorised is not None:
            return recategorised
        told = _told_with_the_request(dispatcher, tracker)
        events: list[EventType] = await super().run(dispatcher, tracker, domain)
        return [*told, *events]

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        # The list maintainers configure in the console (an entry's hint may name any);
        # typed in Traditional characters or full-width, 「帳戶安全」 is 「账户安全」.
        typed = normalize(text)
        categories = runtime.ticket_categories().current()
        for category in categories:
            if normalize(category) == typed:
                return {"category": category}
        # 「密码」「登录」: part of one category's name.
        partial = [c for c in categories if len(typed) >= 2 and typed in normalize(c)]
        if len(partial) == 1:
            return {"category": partial[0]}
        said = signals.read(redact(text))
        problem = said.question or said.text
        # 「充值三天了还没到账」「提现被退回了好几次」: the problem itself, not a category.
        # Its category is taken when the KB is sure of it, and the problem is the
        # description already.
        troubled = signals.reports_trouble(problem)
        if signals.is_real_question(said) or troubled:
            # 「提现多久能到账」 asks: answered, and then the category is asked again.
            if _answered_aside(dispatcher, tracker, said):
                return {"category": None}
            filed = category_of_problem(
                runtime.knowledge_base(), problem, categories
            ) or category_named_in(problem, categories)
            if filed is not None:
                return _filed_under(dispatcher, filed, redact(text))
        if last_bot_text(tracker) == ActionAskCategory.again and CATCH_ALL in categories:
            # Asked twice already: no third time. 「其他」, and an agent sorts it out.
            dispatcher.utter_message(text=f"好的，先归到「{CATCH_ALL}」，客服看过描述后会再分类。")
            filled = {"category": CATCH_ALL}
            # 「哪个都不行啊」 is about the list, not a description of the problem.
            if len(problem) >= MIN_DESCRIPTION and signals.tells_the_problem(problem):
                filled["description"] = redact(text)
            return filled
        dispatcher.utter_message(
            text="不确定属于哪一类的话，可以直接说说遇到了什么问题，或者选「其他」。"
        )
        return {"category": None}

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) >= MIN_DESCRIPTION:
            return {"description": text}
        dispatcher.utter_message(
            text=f"描述太短了，请至少用 {MIN_DESCRIPTION} 个字说明遇到的问题。"
        )
        return {"description": None}

    def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        contact = contact_in(str(value or ""))
        if contact is not None:
            return {"contact": contact}
        said = signals.read(redact(str(value or "")))
        if WITHHOLDS_CONTACT.search(said.text):
            dispatcher.utter_message(text=WHY_CONTACT, buttons=[PERSON_BUTTON.as_dict()])
            return {"contact": None}
        if _answered_aside(dispatcher, tracker, said):
            return {"contact": None}
        dispatcher.utter_message(
            text="联系方式格式不正确，请输入 11 位中国大陆手机号（如 13812345678）或邮箱地址。"
        )
        return {"contact": None}

    def validate_transaction_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if text.lower() in NONE_WORDS:
            return {"transaction_id": NO_TRANSACTION}
        if TRANSACTION.match(text):
            return {"transaction_id": text}
        if _answered_aside(dispatcher, tracker, signals.read(redact(text))):
            return {"transaction_id": None}
        dispatcher.utter_message(text="交易单号一般是 6–40 位字母或数字。没有的话请回复“无”。")
        return {"transaction_id": None}


def _recategorised(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """「刚才选错了 应该是提现的问题」 while the form asks for something after the category:
    the category is changed to the one named (or asked again when none is), and the
    message is not kept as the answer to what the form asked. None when it is no such
    correction."""
    requested = tracker.get_slot("requested_slot")
    chosen = tracker.get_slot("category")
    text = tracker.latest_message.get("text") or ""
    if requested in (None, "category") or not chosen or not corrects_category(text):
        return None
    undone = SlotSet(requested, None)  # the message was extracted into it
    named = category_named_in(text, runtime.ticket_categories().current())
    if named is not None and named != chosen:
        dispatcher.utter_message(text=f"好的，分类改为「{named}」。")
        return [SlotSet("category", named), undone]
    dispatcher.utter_message(text="好的，请重新选择问题分类。")
    return [SlotSet("category", None), undone]


def _told_with_the_request(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """「我要提交工单 提现问题」「投诉一下 转账一直没到账」: the category named or told with
    the request that starts the form is not asked for again (nor the problem, when it is
    told in full). Nothing at any later step, or when the words leave the category open."""
    text = redact(tracker.latest_message.get("text") or "")
    if (
        text.startswith("/")
        or tracker.get_slot("requested_slot") is not None
        or tracker.get_intent_of_latest_message() != "open_ticket"
    ):
        return []
    problem = signals.read(text).question
    if not problem or not signals.files_something(text):
        return []
    categories = runtime.ticket_categories().current()
    troubled = signals.reports_trouble(problem)
    named = category_named_in(problem, categories)
    if named is None and troubled:
        named = category_of_problem(
            runtime.knowledge_base(), signals.without_the_request(problem), categories
        )
    if named is None:
        return []
    told = (
        tracker.get_slot("description") is None
        and len(problem) >= MIN_DESCRIPTION
        and signals.tells_the_problem(problem)
    )
    filled = _filed_under(dispatcher, named, text if told else None)
    return [SlotSet(slot, value) for slot, value in filled.items()]


def contact_in(text: str) -> str | None:
    """The one mobile number or email address that ``text`` gives, however it is written
    around it; None when it gives none, or more than one (which to keep is not ours to
    guess)."""
    emails = set(EMAIL_IN_TEXT.findall(text))
    mobiles = set(MOBILE_IN_TEXT.findall(_DIGIT_GAPS.sub("", text)))
    found = [*emails, *mobiles]
    return found[0] if len(found) == 1 else None


def _filed_under(
    dispatcher: CollectingDispatcher, category: str, description: str | None
) -> dict[str, Any]:
    if description is None or len(description) < MIN_DESCRIPTION:
        dispatcher.utter_message(text=f"好的，归到「{category}」这一类。")
        return {"category": category}
    dispatcher.utter_message(text=f"好的，归到「{category}」这一类，问题描述就记您刚才说的这句。")
    return {"category": category, "description": description}


def _answered_aside(
    dispatcher: CollectingDispatcher, tracker: Tracker, said: signals.Signals
) -> bool:
    """A question asked while the form waits for something else (「提现多久能到账」 where a
    phone number was asked for): answered when the KB is sure of the answer, and the form
    goes on (its question is asked again). False, and nothing said, otherwise."""
    # A bare topic (「转账」) or a statement (「就用我注册的手机号」) is no question here.
    if len(said.question) < 4 or not signals.asks(said.question):
        return False
    if not signals.is_real_question(said):
        return False
    result = runtime.knowledge_base().query(said.question)
    if result.decision is not Decision.ANSWER:
        return False
    # No 「有帮助吗」 after it: the form's own question comes next.
    answer = answer_query(result, query=said.question, ask_if_helped=False)
    for reply in for_channel(answer, tracker).replies:
        # Without its buttons: the form's own come next (and on WeChat, a typed 「1」 must
        # still pick the first of those).
        utter(dispatcher, replace(reply, buttons=()))
    dispatcher.utter_message(text="工单还没提交，我们接着填；不需要了可以回复“取消”。")
    return True


def _person_now(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, leaving: bool = False
) -> list[EventType] | None:
    """An emergency told in the form (「有人冒充客服让我转账，我转了5000」), or a person asked
    for where no description is asked (which may well name one), or with the form turned
    down (``leaving``: no description then): a ticket is too slow, so the form is left, the
    safety steps said and a person takes over. None otherwise."""
    said = signals.read(redact(tracker.latest_message.get("text") or ""))
    describing = tracker.get_slot("requested_slot") == "description" and not leaving
    if not (said.urgent or (said.wants_person and not describing)):
        return None
    if said.urgent:
        # What the chat says to an emergency: the help centre's entry on scams or theft
        # when it is sure of one, and the safety steps.
        try:
            turn: Turn | None = understood(tracker)
        except Exception:
            # No KB: the steps in full, and the person.
            logger.exception("工单表单里的紧急情况：知识库不可用")
            turn = None
        if turn is not None and turn.handoff is not None and turn.handoff.urgent:
            for reply in for_channel(turn.answer, tracker).replies:
                utter(dispatcher, reply)
        else:
            dispatcher.utter_message(text=SAFETY_STEPS)
    urgent = said.urgent or bool(tracker.get_slot("urgent"))
    emptied: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
    return emptied + _leave_for_a_person(dispatcher, tracker, urgent, said.question)


def _leave_for_a_person(
    dispatcher: CollectingDispatcher, tracker: Tracker, urgent: bool, question: str
) -> list[EventType]:
    """The form left, and the conversation queued for a person."""
    reason = handoff_reason(tracker, urgent=urgent)
    leave_form: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
    return leave_form + hand_off(dispatcher, tracker, reason, urgent, question or None)


def person_instead(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """The message that started the form asks for a person (「算了你帮我找个人工吧」 heard as
    a ticket request) or is anger again with nothing new to file (「回话啊」, then 「垃圾软件
    我要投诉」): the form is left and a person takes over, as in the chat. None otherwise,
    and for every later answer in the form (a description may well name a person)."""
    if tracker.get_intent_of_latest_message() != "open_ticket":
        return None
    said = signals.read(redact(tracker.latest_message.get("text") or ""))
    angry_again = (
        said.frustrated
        and bool(tracker.get_slot("frustrated"))
        and not signals.is_real_question(said)
        # 「我要投诉，给我提个工单」 asks for the form by name: it is not left.
        and not said.opens_ticket
    )
    if not (said.wants_person or angry_again):
        return None
    return _leave_for_a_person(dispatcher, tracker, bool(tracker.get_slot("urgent")), said.question)


class _AskSlot(Action, ABC):
    """Asks for one slot of the ticket form (Rasa calls action_ask_<slot>).

    Abstract, so that rasa-sdk registers only the concrete subclasses below.
    """

    buttons: tuple[str, ...] = ()

    @property
    @abstractmethod
    def slot(self) -> str: ...

    @property
    @abstractmethod
    def prompt(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def choices(self) -> tuple[str, ...]:
        return self.buttons

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # The category may be filled already (the answer's hint): the form then starts here.
        handed_off = person_instead(dispatcher, tracker)
        if handed_off is not None:
            return handed_off
        dispatcher.utter_message(
            text=self.prompt,
            buttons=[{"title": title, "payload": title} for title in self.choices()],
        )
        return []


class ActionAskCategory(_AskSlot):
    slot = "category"
    prompt = "好的，我来帮您提交工单。请先选择问题分类："
    # Asked again after an answer that was no category: the form has begun already.
    again = "请选择问题分类："

    def choices(self) -> tuple[str, ...]:
        return runtime.ticket_categories().current()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        handed_off = person_instead(dispatcher, tracker)
        if handed_off is not None:
            return handed_off
        if last_bot_text(tracker) in (self.prompt, self.again):
            dispatcher.utter_message(
                text=self.again,
                buttons=[{"title": title, "payload": title} for title in self.choices()],
            )
            return []
        said = signals.read(redact(tracker.latest_message.get("text") or ""))
        if not said.frustrated:
            return await super().run(dispatcher, tracker, domain)
        # 「我要投诉你们」: an apology, and a person as well as the form.
        dispatcher.utter_message(text=APOLOGY)
        dispatcher.utter_message(
            text=self.prompt,
            buttons=[
                *({"title": title, "payload": title} for title in self.choices()),
                PERSON_BUTTON.as_dict(),
            ],
        )
        return []


class ActionAskDescription(_AskSlot):
    slot = "description"
    prompt = (
        f"请简单描述遇到的问题（至少 {MIN_DESCRIPTION} 个字），例如时间、金额和现象。"
        "请不要填写密码、验证码或助记词。"
    )


class ActionAskContact(_AskSlot):
    slot = "contact"
    prompt = "请留下联系方式：中国大陆手机号或邮箱地址。"


class ActionAskTransactionId(_AskSlot):
    slot = "transaction_id"
    prompt = "如果有相关的交易单号，请发给我；没有的话回复“无”。"
    buttons = (NO_TRANSACTION,)


class ActionSubmitTicket(Action):
    def name(self) -> str:
        return "action_submit_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        values = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS}
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if not all(values[slot] for slot in ("category", "description", "contact")):
            if _not_a_ticket(tracker):
                return reset  # no ticket was asked for; the question was answered
            if settled(tracker.latest_message.get("text") or ""):
                dispatcher.utter_message(
                    text="太好了，问题解决了就不提交工单了。还有其他问题随时问我。"
                )
            else:
                dispatcher.utter_message(text="好的，已取消提交工单。还有什么可以帮您？")
            return reset
        transaction = values["transaction_id"]
        ticket = runtime.tickets().open(
            sender_id=tracker.sender_id,
            channel=channel_of(tracker),
            category=values["category"],
            description=values["description"],
            contact=values["contact"],
            transaction_id=None if transaction in (None, NO_TRANSACTION) else transaction,
        )
        dispatcher.utter_message(
            text=(
                f"工单已提交，工单号：{ticket.number}。我们会通过 {ticket.contact} 联系您，"
                f"之后发送“查询工单 {ticket.number}”即可查看进度。"
            )
        )
        return [*reset, SlotSet("ticket_id", ticket.number)]


class ActionCheckTicketStatus(Action):
    def name(self) -> str:
        return "action_check_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        typed = typed_ticket_number(text)
        if typed is None and signals.read(redact(text)).opens_ticket:
            # 「帮我把这个问题报给后台处理」 asks for a new ticket, not after an old one.
            return [FollowupAction("ticket_form")]
        # The text, not the NLU's entity: its pattern has no boundaries, and would read
        # 「T20240610-00012」 as T20240610-0001, someone else's or a wrong ticket.
        reported = report_status(dispatcher, tracker, typed)
        if reported is not None:
            return reported
        if not SPEAKS_OF_A_TICKET.search(normalize(text)):
            # 「等了一晚上了还是处理中」: heard as a status question, but the user has
            # no ticket and names none; the status is a payment's, for the KB. Answered
            # here rather than by a follow-up action, after which the policies would
            # add a fallback of their own.
            return await ActionAnswerFAQ().run(dispatcher, tracker, domain)
        dispatcher.utter_message(text="您还没有提交过工单。请告诉我工单号，或者说“提交工单”。")
        return []
