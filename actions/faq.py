"""Answering from the knowledge base: answer, clarify or fall back, and the 是/否 feedback.

What is said is decided in support.replies.answering (the gateway's degraded mode says
the same); here it is sent through Rasa and remembered in slots.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from guard import redact
from kb.knowledge_base import Decision
from support.replies.answering import (
    Answer,
    Reply,
    after_feedback,
    answer_faq,
    answer_query,
    not_understood,
)


def utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    # Rasa's REST channel sends the json_message as its own {"custom": ...} item right
    # after the text, so the gateway can tie the KB's decision to that reply.
    dispatcher.utter_message(
        text=reply.text,
        buttons=[button.as_dict() for button in reply.buttons],
        json_message={"kb": reply.kb} if reply.kb is not None else None,
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
        else:
            text = redact(tracker.latest_message.get("text") or "")
            streak = int(tracker.get_slot("fallback_streak") or 0)
            answer = answer_query(kb.query(text), query=text, fallback_streak=streak)
        for reply in answer.replies:
            utter(dispatcher, reply)
        return _remembered(answer)


def _remembered(answer: Answer) -> list[EventType]:
    events: list[EventType] = [
        SlotSet("kb_decision", answer.decision.value),
        SlotSet("kb_candidates", answer.candidates),
        SlotSet("fallback_streak", float(answer.fallback_streak)),
    ]
    if answer.ticket_category is not None:
        events.append(SlotSet("category", answer.ticket_category))
    return events


class ActionAnswerFeedback(Action):
    """是 / 否 after an answer; a bare yes or no at other times gets a neutral reply."""

    def name(self) -> str:
        return "action_answer_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reply = after_feedback(
            helped=tracker.get_intent_of_latest_message() == "affirm",
            after_answer=tracker.get_slot("kb_decision") == Decision.ANSWER.value,
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
