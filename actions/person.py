"""The request for a person (NLU intent request_human): handed off, unless the words
themselves turn a person down."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import carry_out, understood
from actions.handoff import hand_off, handoff_reason
from guard import redact
from support.replies import signals
from support.replies.vocabulary import SAFETY_STEPS

logger = logging.getLogger(__name__)


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
        if said is not None and said.opens_ticket and not said.wants_person and not said.urgent:
            # 「不想跟机器人聊了 能不能留个工单 让你们的人回我电话」: the NLU heard a person;
            # the user named the ticket as the way to reach one.
            return [FollowupAction("ticket_form")]
        if said is not None:
            # Decided as the gateway decides a typed person request: the safety steps
            # first when money is at stake, the answer to a problem told with it.
            try:
                turn = understood(tracker)
            except Exception as exc:
                # Whatever broke the KB must not stop the handoff (it needed no KB before):
                # the person all the same, and the steps if urgent.
                logger.warning("转人工时知识库不可用：%s", exc)
                if said.urgent:
                    dispatcher.utter_message(text=SAFETY_STEPS)
                urgent = said.urgent or bool(tracker.get_slot("urgent"))
                reason = handoff_reason(tracker, urgent=urgent)
                return hand_off(dispatcher, tracker, reason, urgent, said.question or None)
            if turn.handoff is not None:
                return await carry_out(dispatcher, tracker, turn)
        # A button, or a request only the NLU heard: the person, as asked.
        urgent = bool(tracker.get_slot("urgent"))
        question = said.question if said is not None and said.question else None
        return hand_off(
            dispatcher, tracker, handoff_reason(tracker, urgent=urgent), urgent, question
        )
