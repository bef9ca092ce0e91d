"""Answering a message: from the KB, with the conversation's context, or by handing off.

What is said is decided in support.replies (turns.respond: the gateway's degraded mode
decides the same way); here it is sent through Rasa, and the context is kept in slots:
the topic, the options just offered, fraud or anger seen earlier.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.handoff import channel_of, hand_off
from actions.ticket_status import (
    after_a_status_report,
    asks_after_a_ticket,
    report_status,
    typed_ticket_number,
)
from guard import hidden_notice, redact
from kb.knowledge_base import Decision
from support.channels import BRIEF_CHANNELS
from support.replies import signals
from support.replies.answering import (
    Answer,
    Reply,
    after_feedback,
    answer_faq,
    briefly,
    not_understood,
)
from support.replies.turns import Context, Turn, respond
from support.replies.vocabulary import PERSON_BUTTON, TICKET_TIMING
from support.tickets.flows import MIN_DESCRIPTION, category_of_problem

# What each small-talk intent says when there is nothing else in the message.
SMALL_TALK_RESPONSES = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_thank",
    "bot_challenge": "utter_bot_challenge",
    "cancel": "utter_nothing_to_cancel",
}


def _has_other_words(tracker: Tracker) -> bool:
    """Whether the message says more than yes, no, thanks or hello."""
    return bool(signals.read(redact(tracker.latest_message.get("text") or "")).question)


# Clear pleasantries: whatever came before, they get their own reply.
PLEASANTRIES = frozenset({"greet", "goodbye", "thank"})


def _pleasantry(
    dispatcher: CollectingDispatcher, tracker: Tracker, response: str
) -> list[EventType]:
    """A vague message with nothing to look up. Right after the bot could not answer,
    the user is still stuck: a person is offered rather than a pleasantry."""
    text = redact(tracker.latest_message.get("text") or "")
    if signals.says_it_worked(text):  # 「绑好了 多谢」: whatever came before, it is solved
        utter(dispatcher, after_feedback(helped=True, after_answer=True))
        return []
    if tracker.get_slot("kb_decision") == Decision.FALLBACK.value and not (
        signals.tries_it_themselves(text)  # 「好滴 我去试试」: they have something to try
    ):
        utter(dispatcher, after_feedback(helped=False, after_answer=False, after_fallback=True))
        return []
    dispatcher.utter_message(response=response)
    return []


def _calm(said: signals.Signals) -> bool:
    return not (said.urgent or said.scam or said.wants_person or said.frustrated)


def hidden_kinds(tracker: Tracker) -> list[str]:
    """The kinds of secret the gateway hid in the latest message (its metadata)."""
    return list((tracker.latest_message.get("metadata") or {}).get("redacted") or [])


def utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    # Rasa's REST channel sends the json_message as its own {"custom": ...} item right
    # after the text, so the gateway can tie the KB's decision to that reply.
    dispatcher.utter_message(
        text=reply.text,
        buttons=[button.as_dict() for button in reply.buttons],
        json_message={"kb": reply.kb} if reply.kb is not None else None,
    )


def context_of(tracker: Tracker) -> Context:
    offered = tracker.get_slot("offered_faqs") or []
    not_answered = tracker.get_slot("kb_decision") == Decision.FALLBACK.value
    listed_before = tracker.get_slot("listed_before") or []
    return Context(
        topic=tracker.get_slot("topic"),
        asked=_said_before(tracker) if offered or not_answered else "",
        earlier=tracker.get_slot("earlier_topic"),
        offered=tuple(str(faq_id) for faq_id in offered),
        listed_before=tuple(str(faq_id) for faq_id in listed_before),
        fallback_streak=int(tracker.get_slot("fallback_streak") or 0),
        urgent=bool(tracker.get_slot("urgent")),
        frustrated=bool(tracker.get_slot("frustrated")),
        answered=tracker.get_slot("kb_decision") == Decision.ANSWER.value,
    )


def _said_before(tracker: Tracker) -> str:
    """The user's message before the latest one (redacted), when it was typed: what got
    the list still offered. Empty after a button."""
    said = [event.get("text") or "" for event in tracker.events if event.get("event") == "user"]
    before = said[-2] if len(said) >= 2 else ""
    return "" if before.startswith("/") else redact(before)


def remembered(answer: Answer, context: Context) -> list[EventType]:
    events: list[EventType] = [
        SlotSet("kb_decision", answer.decision.value),
        SlotSet("kb_candidates", answer.candidates),
        SlotSet("fallback_streak", float(answer.fallback_streak)),
        *_context_slots(context),
    ]
    if answer.ticket_category is not None:
        events.append(SlotSet("category", answer.ticket_category))
    return events


def _context_slots(context: Context) -> list[EventType]:
    return [
        SlotSet("topic", context.topic),
        SlotSet("earlier_topic", context.earlier),
        SlotSet("offered_faqs", list(context.offered)),
        SlotSet("listed_before", list(context.listed_before)),
        SlotSet("urgent", context.urgent),
        SlotSet("frustrated", context.frustrated),
    ]


def for_channel(answer: Answer, tracker: Tracker) -> Answer:
    """The answer as the user's channel shows it: WeChat says an entry's short version."""
    if channel_of(tracker) in BRIEF_CHANNELS:
        return briefly(answer, runtime.knowledge_base().get)
    return answer


async def carry_out(
    dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn
) -> list[EventType]:
    """Say the turn's replies, keep its context, and hand off if it says so."""
    for reply in for_channel(turn.answer, tracker).replies:
        utter(dispatcher, reply)
    if turn.handoff is not None:
        events = _context_slots(turn.context)
        plan = turn.handoff
        return [*events, *hand_off(dispatcher, tracker, plan.reason, plan.urgent, plan.question)]
    if turn.opens_ticket:  # 「充值三天了没到账，帮我登记一下」: answered, and the form begins
        told = _problem_told(tracker)
        described = [SlotSet("description", told)] if told is not None else []
        if told is not None and turn.answer.ticket_category is None:
            described += _category_of(told)
        return [*remembered(turn.answer, turn.context), *described, FollowupAction("ticket_form")]
    return remembered(turn.answer, turn.context)


def _category_of(problem: str) -> list[EventType]:
    """The category of a problem told with the request to file, when the KB settles it
    (「帮我提个工单 …充值2000 银行扣了钱包里没有」: top-ups), so the form does not ask."""
    category = category_of_problem(
        runtime.knowledge_base(),
        signals.without_the_request(signals.read(problem).question),
        runtime.ticket_categories().current(),
    )
    return [SlotSet("category", category)] if category is not None else []


def _problem_told(tracker: Tracker) -> str | None:
    """The problem told with the request to file (「想提交个工单 昨天充值了300 银行卡扣款了
    余额一直没变」): the ticket's description already, so the form does not ask for it."""
    text = redact(tracker.latest_message.get("text") or "")
    problem = signals.read(text).question
    if len(problem) >= MIN_DESCRIPTION and signals.tells_the_problem(problem):
        return text
    return None


def understood(tracker: Tracker, *, intent: str | None = None) -> Turn:
    text = redact(tracker.latest_message.get("text") or "")
    return respond(
        runtime.knowledge_base(),
        text,
        context_of(tracker),
        intent=intent or tracker.get_intent_of_latest_message(),
    )


class ActionAnswerFAQ(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        kb = runtime.knowledge_base()
        chosen = next(tracker.get_latest_entity_values("faq_id"), None)
        faq = kb.get(chosen) if chosen else None
        if faq is not None:  # a clarify button: the user picked this FAQ
            answer = answer_faq(faq)
            for reply in for_channel(answer, tracker).replies:
                utter(dispatcher, reply)
            context = context_of(tracker)
            kept = Context(
                topic=faq.id,
                earlier=context.earlier_after(faq.id),
                urgent=context.urgent,
                frustrated=context.frustrated,
                # As a typed 「1」 leaves it (turns.respond): a second pick may follow.
                listed_before=context.offered,
            )
            return remembered(answer, kept)
        text = redact(tracker.latest_message.get("text") or "")
        # 「刚才那个工单多久有结果」, heard as a question; an emergency that names the ticket
        # is still an emergency (the cheap pattern first: most turns name no ticket).
        if asks_after_a_ticket(text) and _calm(signals.read(text)):
            reported = report_status(dispatcher, tracker, typed_ticket_number(text))
            if reported is not None:
                return reported
        if after_a_status_report(tracker, text) and _calm(signals.read(text)):
            dispatcher.utter_message(text=TICKET_TIMING, buttons=[PERSON_BUTTON.as_dict()])
            return []
        turn = understood(tracker)
        if turn.small_talk:  # 「好的」「好的谢谢 886」 read as a question: nothing to look up
            heard = signals.pleasantry_of(text)
            if heard is not None and not signals.says_it_worked(text):
                # Thanks or goodbye: their own reply, as ActionSmallTalk's.
                dispatcher.utter_message(response=SMALL_TALK_RESPONSES[heard])
                return []
            return _pleasantry(dispatcher, tracker, "utter_nothing_to_cancel")
        return await carry_out(dispatcher, tracker, turn)


class ActionSmallTalk(Action):
    """Greetings, thanks, goodbyes: a pleasantry, unless the message asks something too."""

    def name(self) -> str:
        return "action_small_talk"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        turn = understood(tracker)
        if not turn.small_talk:
            return await carry_out(dispatcher, tracker, turn)
        intent = tracker.get_intent_of_latest_message() or "cancel"
        if intent in PLEASANTRIES:
            dispatcher.utter_message(response=SMALL_TALK_RESPONSES[intent])
            return []
        response = SMALL_TALK_RESPONSES.get(intent, "utter_nothing_to_cancel")
        return _pleasantry(dispatcher, tracker, response)


class ActionSensitiveWarning(Action):
    """A message with a secret in it, hidden by now: the warning, then what the rest of
    the message asks (「我卡号〔已隐藏〕 绑不上」 is a question about binding the card), or
    the handoff it calls for (「骗子让我发的验证码〔已隐藏〕 我已经发了」). With nothing
    answered besides, the warning alone asks the user to describe the problem."""

    def name(self) -> str:
        return "action_sensitive_warning"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        turn = understood(tracker)
        text = redact(tracker.latest_message.get("text") or "")
        # As the gateway's degraded mode decides (support.conversations.flows).
        asks = not turn.small_talk and signals.asks_besides_secrets(text)
        alone = turn.handoff is None and not asks
        # The gateway says which kinds it hid; a card's or an identity's are named.
        notice = hidden_notice(hidden_kinds(tracker), alone=alone)
        if notice is not None:
            dispatcher.utter_message(text=notice)
        else:
            dispatcher.utter_message(
                response="utter_sensitive_warning" if alone else "utter_sensitive_hidden"
            )
        if alone:
            return []
        return await carry_out(dispatcher, tracker, turn)


class ActionAnswerFeedback(Action):
    """是 / 否 after an answer; a bare yes or no at other times gets a neutral reply.

    A 「好的，那提现要手续费吗」 or a 「1」 after a list is no yes or no: it is answered.
    """

    def name(self) -> str:
        return "action_answer_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        turn = understood(tracker)
        after_answer = tracker.get_slot("kb_decision") == Decision.ANSWER.value
        if turn.small_talk and not after_answer and _has_other_words(tracker):
            # A 「是 / 否」 with nothing to say yes or no to, and words besides: a question.
            turn = understood(tracker, intent="ask_faq")
        if not turn.small_talk:
            return await carry_out(dispatcher, tracker, turn)
        # 「绑好了 多谢」 heard as a yes: glad it worked, whatever came just before.
        worked = signals.says_it_worked(redact(tracker.latest_message.get("text") or ""))
        reply = after_feedback(
            helped=worked or tracker.get_intent_of_latest_message() == "affirm",
            after_answer=worked or tracker.get_slot("kb_decision") == Decision.ANSWER.value,
            after_fallback=tracker.get_slot("kb_decision") == Decision.FALLBACK.value,
        )
        utter(dispatcher, reply)
        return [SlotSet("kb_decision", None)]


class ActionCoreFallback(Action):
    """When no dialogue policy is sure what to do next: say so, and offer a person."""

    def name(self) -> str:
        return "action_core_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        utter(dispatcher, not_understood(redact(tracker.latest_message.get("text") or "")))
        return [UserUtteranceReverted()]
