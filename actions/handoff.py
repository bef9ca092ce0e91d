"""Handing the conversation to a person: record the escalation, then pause the bot."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from kb.knowledge_base import Decision
from support.channels import Channel
from support.escalations.schemas import EscalationRequest
from support.replies.vocabulary import HandoffReason, handoff_notice


def channel_of(tracker: Tracker) -> str:
    """The user's channel: the gateway says so in metadata; Rasa's own is the fallback."""
    metadata = tracker.latest_message.get("metadata") or {}
    return str(metadata.get("channel") or tracker.get_latest_input_channel() or Channel.REST)


def handoff_reason(tracker: Tracker, *, urgent: bool) -> HandoffReason:
    """Why: fraud first, then anger, then the bot's misses, else the user asked."""
    if urgent:
        return HandoffReason.URGENT
    if tracker.get_slot("frustrated"):
        return HandoffReason.FRUSTRATION
    typed = not (tracker.latest_message.get("text") or "").startswith("/")
    if not typed and tracker.get_slot("kb_decision") == Decision.FALLBACK.value:
        return HandoffReason.BOT_FALLBACK
    return HandoffReason.USER_REQUEST


def hand_off(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    reason: HandoffReason,
    urgent: bool,
    question: str | None = None,
) -> list[EventType]:
    """Queue the conversation for a person and pause the bot.

    ``question``: what the agent should read as the user's last message (the message
    without its 「转人工」); the whole message when None.
    """
    said = [event.get("text") or "" for event in tracker.events if event.get("event") == "user"]
    said = [text for text in said if not text.startswith("/")]
    if question and said:
        said[-1] = question
    request = EscalationRequest.from_user_texts(
        # Rasa's sender id is the gateway's conversation id.
        conversation_id=tracker.sender_id,
        channel=channel_of(tracker),
        reason=reason.value,
        user_texts=said,
        kb_candidates=tracker.get_slot("kb_candidates") or [],
        urgent=urgent,
    )
    handoff = runtime.escalations().open(request)
    dispatcher.utter_message(
        text=handoff_notice(handoff.queue_position),
        # Tells the gateway to move the conversation to the agent queue.
        json_message={"handoff": {"escalation_id": handoff.escalation.id}},
    )
    # The bot stays silent from here until an agent resolves the case and resumes it.
    return [ConversationPaused()]
