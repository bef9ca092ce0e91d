"""Telling a user how their ticket stands: asked for outright (action_check_ticket_status)
or in a question the NLU took for another (「刚才那个工单多久有结果」)."""

from __future__ import annotations

import re
import unicodedata

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from kb.text import normalize
from support.tickets.models import TicketStatus

# T20261121-0042, typed as people type it: 「T-20261121-0042」「t20261121 0042」.
# A dash from a Chinese keyboard (——, –) or an underscore is a dash too.
_DASH = r"[\s\-_\u2010-\u2015]{0,3}"
TICKET_NUMBER = re.compile(rf"(?<![A-Za-z0-9])[Tt]{_DASH}(\d{{8}}){_DASH}(\d{{4}})(?!\d)")
# Words that make a status question one about a ticket rather than about a payment.
SPEAKS_OF_A_TICKET = re.compile(
    # (Not a transaction's or an order's number, nor 「我提交的提现申请」「昨天提的现」.)
    r"工单|(?<!交易)(?<!订)单号|我的单子|ticket|(?:提交|提|报)的(?:工单|问题|反馈|投诉)"
    # 「投诉有结果了吗」, not 「我要投诉!!!提现5天了没到账」.
    r"|(?:投诉|反馈|举报|报障)[^，,。!！]{0,6}(?:结果|进度|进展|回复|回音|处理得|怎么样|到哪)",
    re.I,
)
# How it goes, as opposed to how to file one (「工单怎么提交」).
_HOW_IT_GOES = re.compile(
    r"进度|进展|结果|状态|处理(?:到|得|完|好|了)|怎么样了|到哪|多久|什么时候|有消息|回复|回音"
    r"|没记|忘了|找不到|查(?:一下|查|询)?(?:我的|那个|刚才)?(?:工单|单号)"
)
# A number given as the ticket's that is no ticket number (「单号好像是 12345」); not an
# amount, a date or another kind of number (「退款单号 4200001234567」).
_NUMBER_LIKE = re.compile(
    r"(?:工单号?|(?<![\u4e00-\u9fff])单号|(?:我的|那个|这个)单号)[^，,。!！?？0-9A-Za-z]{0,6}"
    r"([A-Za-z]*[0-9]{3,}[0-9-]*)"
)
# Typed like a ticket number but not one (「T20240610-00012」, a digit too many or few).
_MISTYPED_TICKET = re.compile(
    rf"(?<![A-Za-z0-9])([Tt]{_DASH}\d{{6,}}(?:{_DASH}\d+)?)(?![\dA-Za-z])"
)
# A ticket named in so many words: for a message NLU took for a question.
_NAMES_A_TICKET = re.compile(r"工单|工單|ticket", re.I)
# How long until it is done, or faster: what a user asks next about an open ticket
# (「那要多久才能处理完」「能加急吗」), not a new question that asks when (「提现一般几天到账」
# 「那我什么时候可以再提现」) or whether (「还要提供什么材料吗」).
_WHEN_DONE = re.compile(
    r"(?:多久|多长时间|什么时候|啥时候|几天)[^，,。?？]{0,4}(?:处理|弄好|办好|好|完|结果|回复|解决|有消息|有进展)"
    r"|(?:处理|解决|弄好|有结果|有消息)[^，,。?？]{0,4}(?:多久|多长时间|几天|什么时候|啥时候)"
    r"|^(?:那|那么)?(?:还)?(?:要|得|需要)?(?:等)?(?:多久|多长时间|几天)(?:啊|呢|呀|吗)?[?？]*$"
    r"|加急|催(?:一下|催|促)|快点处理|处理快点|能不能快点|能快点吗"
)
MAX_STATUS_FOLLOW_UP = 20
STATUS_MARK = "当前状态："
# The states in which a ticket waits on the support team; a resolved one, or one that
# waits on the user, has nothing to hurry.
_OPEN_FOR_US = tuple(
    STATUS_MARK + status.label for status in (TicketStatus.NEW, TicketStatus.IN_PROGRESS)
)
TICKET_FORMAT = "工单号是 T 加 8 位日期和 4 位序号，例如 T20261202-0001，提交工单时会发给您"


def typed_ticket_number(text: str) -> str | None:
    """The ticket number in ``text``, written the way the system writes it (full-width
    digits from a Chinese keyboard included)."""
    found = TICKET_NUMBER.search(unicodedata.normalize("NFKC", text))
    return f"T{found.group(1)}-{found.group(2)}" if found else None


def asks_after_a_ticket(text: str) -> bool:
    """Whether ``text``, taken for a question, asks how a ticket stands (「刚才那个工单多久
    有结果」, a ticket number typed), not how to file one; 「转账单号怎么查不到状态」 is a
    question about a payment."""
    normal = normalize(text)
    if typed_ticket_number(normal) is not None:
        return True
    return bool(_NAMES_A_TICKET.search(normal) and _HOW_IT_GOES.search(normal))


def last_bot_text(tracker: Tracker) -> str | None:
    """What the bot said last before the user's latest message."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
        elif event.get("event") == "bot" and users:
            return str(event.get("text") or "")
    return None


def after_a_status_report(tracker: Tracker, text: str) -> bool:
    """「那要多久才能处理完」「能加急吗」 right after a ticket's status: about that ticket,
    not a question for the KB (which would offer entries on withdrawals' times)."""
    last = last_bot_text(tracker) or ""
    normal = normalize(text)
    return (
        last.startswith("工单 ")
        and any(state in last for state in _OPEN_FOR_US)
        and len(normal) <= MAX_STATUS_FOLLOW_UP
        and bool(_WHEN_DONE.search(normal))
    )


def report_status(
    dispatcher: CollectingDispatcher, tracker: Tracker, number: str | None
) -> list[EventType] | None:
    """The status of ticket ``number`` (typed in the message), else of the one the
    conversation spoke of, else of the user's latest. None, with nothing said, when
    there is no number and the user has filed no ticket. A number typed that is no
    ticket number is said to be none, before the latest ticket's status."""
    text = unicodedata.normalize("NFKC", tracker.latest_message.get("text") or "")
    service = runtime.tickets()
    typed = _NUMBER_LIKE.search(text) or _MISTYPED_TICKET.search(text)
    if number is None and typed is None:
        number = tracker.get_slot("ticket_id")
    if number is None and typed is not None:
        latest = service.latest_for_sender(tracker.sender_id)
        hint = f"「{typed.group(1)}」不是工单号。{TICKET_FORMAT}。"
        if latest is None:
            dispatcher.utter_message(text=hint + "您在这里还没有提交过工单。")
            # The NLU may have filled the slot with the number's first digits.
            return [SlotSet("ticket_id", None)]
        dispatcher.utter_message(text=hint + "您最近的一张：")
        number = latest.number
    ticket = (
        service.find_for_sender(number, tracker.sender_id)
        if number
        else service.latest_for_sender(tracker.sender_id)
    )
    if ticket is None and number:
        # Same reply whether the ticket does not exist or belongs to someone else.
        dispatcher.utter_message(
            text=f"没有找到您名下的工单 {number.upper()}，请核对工单号后再试（{TICKET_FORMAT}）。"
        )
        return [SlotSet("ticket_id", None)]
    if ticket is None:
        return None
    dispatcher.utter_message(
        text=(
            f"工单 {ticket.number}（{ticket.category}）{STATUS_MARK}{ticket.status.label}。"
            f"最近更新：{service.local_time(ticket.updated_at)}。"
            "处理时间视问题而定，有进展会通过您留下的联系方式通知您。"
        )
    )
    return [SlotSet("ticket_id", ticket.number)]
