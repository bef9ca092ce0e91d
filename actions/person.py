"""The request for a person (NLU intent request_human): handed off, unless the words
themselves turn a person down."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import carry_out, understood
from actions.handoff import hand_off, handoff_reason
from guard import redact
from support.replies import signals
from support.replies.answering import Reply
from support.replies.vocabulary import SAFETY_STEPS


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = redact(tracker.latest_message.get("text") or "")
        said = signals.read(text) if not text.startswith("/") else None
        if (
            said is not None
            and not said.urgent
            and (
                signals.declines_person(text)
                or (not said.wants_person and signals.asks_about_the_service(text))
            )
        ):
            # 「不用转人工 就问下支付密码咋改」「真人客服啥时候在线」: the NLU heard 人工 or
            # 客服; the user asked for nobody.
            turn = understood(tracker)
            if turn.small_talk:  # 「不用转人工了」 and nothing else
                dispatcher.utter_message(response="utter_nothing_to_cancel")
                return []
            return await carry_out(dispatcher, tracker, turn)
        urgent = bool(tracker.get_slot("urgent")) or bool(said and said.urgent)
        if said is not None and said.urgent:  # safety first, then the person
            dispatcher.utter_message(text=Reply(SAFETY_STEPS).text)
        question = said.question if said is not None and said.question else None
        return hand_off(
            dispatcher, tracker, handoff_reason(tracker, urgent=urgent), urgent, question
        )
