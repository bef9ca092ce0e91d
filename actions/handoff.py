"""Handing the conversation to a person: record the escalation, then pause the bot."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.tickets import channel_of
from kb.knowledge_base import Decision
from support.escalations.schemas import EscalationRequest
from support.replies.vocabulary import handoff_notice


def handoff_reason(tracker: Tracker) -> str:
    if tracker.get_intent_of_latest_message() == "request_human":
        return "用户要求转人工"
    if tracker.get_slot("kb_decision") == Decision.FALLBACK.value:
        return "机器人连续未能回答"
    return "机器人建议转人工"


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        request = EscalationRequest.from_user_texts(
            # Rasa's sender id is the gateway's conversation id.
            conversation_id=tracker.sender_id,
            channel=channel_of(tracker),
            reason=handoff_reason(tracker),
            user_texts=[
                event.get("text") or "" for event in tracker.events if event.get("event") == "user"
            ],
            kb_candidates=tracker.get_slot("kb_candidates") or [],
        )
        handoff = runtime.escalations().open(request)
        dispatcher.utter_message(
            text=handoff_notice(handoff.queue_position),
            # Tells the gateway to move the conversation to the agent queue.
            json_message={"handoff": {"escalation_id": handoff.escalation.id}},
        )
        # The bot stays silent from here until an agent resolves the case and resumes it.
        return [ConversationPaused()]
