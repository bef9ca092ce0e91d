"""Handing the conversation to a person: record the escalation, then pause the bot."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.tickets import channel_of
from guard import redact

RECENT_MESSAGES = 5


def recent_user_messages(tracker: Tracker, limit: int = RECENT_MESSAGES) -> list[str]:
    texts = [
        redact(event.get("text") or "")
        for event in tracker.events
        if event.get("event") == "user" and (event.get("text") or "").strip()
    ]
    return texts[-limit:]


def handoff_reason(tracker: Tracker) -> str:
    if tracker.get_intent_of_latest_message() == "request_human":
        return "用户要求转人工"
    if tracker.get_slot("kb_decision") == "fallback":
        return "机器人连续未能回答"
    return "机器人建议转人工"


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        handoff = runtime.escalations().open(
            sender_id=tracker.sender_id,
            channel=channel_of(tracker),
            reason=handoff_reason(tracker),
            last_messages=recent_user_messages(tracker),
            kb_candidates=tracker.get_slot("kb_candidates") or [],
        )
        dispatcher.utter_message(
            text=(
                f"正在为您转接人工客服，您目前排在第 {handoff.queue_position} 位。"
                "客服接入后会直接在这里回复您，请稍候。"
            ),
            # Tells the gateway to move the conversation to the agent queue.
            json_message={"handoff": {"escalation_id": handoff.escalation.id}},
        )
        # The bot stays silent from here until an agent resolves the case and resumes it.
        return [ConversationPaused()]
