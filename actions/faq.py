"""Answering from the knowledge base: answer, clarify or fall back, and the 是/否 feedback."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from guard import redact
from kb.content import FAQ
from kb.knowledge_base import Candidate, Decision, QueryResult

HELPED_QUESTION = "这个回答解决您的问题了吗？"
FEEDBACK_BUTTONS = [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]
CLARIFY_PROMPT = "我不太确定您问的是哪一个，请选择最接近的问题："
TICKET_OR_HUMAN = [
    {"title": "提交工单", "payload": "/open_ticket"},
    {"title": "转人工客服", "payload": "/request_human"},
]
FALLBACK_FIRST = (
    "抱歉，这个问题我暂时回答不了。您可以换个说法再问一次，"
    "也可以提交工单由专人跟进，或者转人工客服。"
)
FALLBACK_AGAIN = (
    "抱歉，我还是没能找到答案。建议转人工客服，由客服同事直接帮您处理；也可以提交工单。"
)
HUMAN_FIRST = [TICKET_OR_HUMAN[1], TICKET_OR_HUMAN[0]]


def clarify_payload(faq_id: str) -> str:
    """A button payload that makes the bot answer this FAQ directly."""
    return "/ask_faq" + json.dumps({"faq_id": faq_id})


def kb_metadata(
    decision: Decision, query: str, top: Candidate | FAQ | None = None
) -> dict[str, Any]:
    """What the KB decided for a reply, for the analytics; sent as ``{"kb": ...}``.

    ``top`` is the best candidate with its score (for a fallback: the nearest FAQ, which
    did not answer), or the FAQ a clarify button chose. ``query`` is redacted text.
    """
    faq_id = top.id if top is not None else None
    score = round(top.score, 4) if isinstance(top, Candidate) else None
    return {"decision": decision.value, "faq_id": faq_id, "score": score, "query": query}


def result_metadata(result: QueryResult, query: str) -> dict[str, Any]:
    return kb_metadata(result.decision, query, result.top)


def candidates_for_handoff(candidates: list[Candidate]) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "question": c.faq.question, "score": round(c.score, 3)} for c in candidates
    ]


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
            # The gateway stores the button's title, the FAQ's question, as the user's text.
            picked = {"kb": kb_metadata(Decision.ANSWER, faq.question, faq)}
            return self._answer(dispatcher, faq, [{"id": faq.id, "question": faq.question}], picked)

        text = redact(tracker.latest_message.get("text") or "")
        result = kb.query(text)
        candidates = candidates_for_handoff(result.candidates)
        # Rasa's REST channel sends the json_message as its own {"custom": ...} item
        # right after the text, so the gateway can tie it to that reply.
        meta = {"kb": result_metadata(result, text)}
        if result.decision is Decision.ANSWER and result.top is not None:
            return self._answer(dispatcher, result.top.faq, candidates, meta)
        if result.decision is Decision.CLARIFY:
            dispatcher.utter_message(
                text=CLARIFY_PROMPT,
                buttons=[
                    {"title": c.faq.question, "payload": clarify_payload(c.id)}
                    for c in result.candidates[:3]
                ],
                json_message=meta,
            )
            return [
                SlotSet("kb_decision", Decision.CLARIFY.value),
                SlotSet("kb_candidates", candidates),
                SlotSet("fallback_streak", 0.0),
            ]
        streak = int(tracker.get_slot("fallback_streak") or 0) + 1
        if streak >= 2:
            dispatcher.utter_message(text=FALLBACK_AGAIN, buttons=HUMAN_FIRST, json_message=meta)
        else:
            dispatcher.utter_message(
                text=FALLBACK_FIRST, buttons=TICKET_OR_HUMAN, json_message=meta
            )
        return [
            SlotSet("kb_decision", Decision.FALLBACK.value),
            SlotSet("kb_candidates", candidates),
            SlotSet("fallback_streak", float(streak)),
        ]

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher,
        faq: FAQ,
        candidates: list[dict[str, Any]],
        meta: dict[str, Any],
    ) -> list[EventType]:
        # The metadata goes with the answer itself: that is the message users rate 👍/👎.
        dispatcher.utter_message(text=faq.answer, json_message=meta)
        dispatcher.utter_message(text=HELPED_QUESTION, buttons=FEEDBACK_BUTTONS)
        events: list[EventType] = [
            SlotSet("kb_decision", Decision.ANSWER.value),
            SlotSet("kb_candidates", candidates),
            SlotSet("fallback_streak", 0.0),
        ]
        # The FAQ's hint: this problem usually needs a ticket, so have its category ready.
        if faq.escalate == "ticket":
            events.append(SlotSet("category", faq.category.value))
        return events


class ActionAnswerFeedback(Action):
    """是 / 否 after an answer; a bare yes or no at other times gets a neutral reply."""

    def name(self) -> str:
        return "action_answer_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        helped = tracker.get_intent_of_latest_message() == "affirm"
        after_answer = tracker.get_slot("kb_decision") == Decision.ANSWER.value
        if after_answer and helped:
            dispatcher.utter_message(text="太好了！还有其他问题随时问我。")
        elif after_answer:
            dispatcher.utter_message(
                text="抱歉没能解决您的问题。您可以提交工单，我们会有专人跟进；也可以转人工客服。",
                buttons=TICKET_OR_HUMAN,
            )
        else:
            dispatcher.utter_message(text="好的。请问还有什么可以帮您？")
        return [SlotSet("kb_decision", None)]


class ActionCoreFallback(Action):
    """When no dialogue policy is sure what to do next: say so, and offer a person."""

    def name(self) -> str:
        return "action_core_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # No KB query here: the analytics finds the nearest FAQ itself. A "/intent"
        # text is a button's payload (typed text never starts with "/"), not a question.
        text = redact(tracker.latest_message.get("text") or "")
        question = bool(text) and not text.startswith("/")
        dispatcher.utter_message(
            text="抱歉，我没有理解您的意思。您可以换个说法，或者提交工单、转人工客服。",
            buttons=TICKET_OR_HUMAN,
            json_message={"kb": kb_metadata(Decision.FALLBACK, text)} if question else None,
        )
        return [UserUtteranceReverted()]
