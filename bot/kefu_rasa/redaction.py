"""Secrets never reach Rasa's tracker, whatever the channel.

Every user message, from any channel or from the HTTP API's
``/conversations/<id>/messages``, enters the tracker through
``MessageProcessor._handle_message_with_tracker``, which stores
``UserUttered(message.text, …)`` after parsing it. ``install`` wraps that one method: the
text (and any parse data sent with it) is redacted before NLU, the actions, the logs or
the tracker store see it.

The guard looks across the user's last few messages, so that a recovery phrase sent in
parts (6 + 6 words) is found when its last part arrives; the earlier parts are then
redacted in the tracker, and rewritten where the tracker store already holds them
(SQL and Redis, the stores Kefu configures).
The redacted text keeps 〔已隐藏〕, which SensitiveDataGuard recognises, so the user is
still warned.
"""

from __future__ import annotations

import json
import logging
from typing import Any, List

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from guard import scan_recent

logger = logging.getLogger(__name__)

# The new message and the user's messages before it that a split phrase may span
# (4 + 4 + 4 words is the finest split the guard looks for).
RECENT_USER_MESSAGES = 4


def redact_message(message: UserMessage, tracker: DialogueStateTracker) -> List[UserUttered]:
    """Redact ``message`` in place; returns the earlier user events it also redacted."""
    if not isinstance(message.text, str) or not message.text:
        return []
    earlier = [
        event
        for event in tracker.events
        if isinstance(event, UserUttered) and isinstance(event.text, str) and event.text
    ][-(RECENT_USER_MESSAGES - 1) :]
    results = scan_recent([event.text for event in earlier] + [message.text])
    message.text = results[-1].text
    if isinstance(message.parse_data, dict) and "text" in message.parse_data:
        message.parse_data = {**message.parse_data, "text": message.text}
    changed: List[UserUttered] = []
    for event, result in zip(earlier, results):
        if result.text != event.text:
            event.text = result.text
            if isinstance(event.parse_data, dict):
                event.parse_data["text"] = result.text
            changed.append(event)
    return changed


def _innermost(store: Any) -> Any:
    """The tracker store under Rasa's wrappers (AwaitableTrackerStore, FailSafeTrackerStore)."""
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    return store


def rewrite_stored(store: TrackerStore, sender_id: str, events: List[UserUttered]) -> None:
    """Rewrite, in the tracker store, user events it already holds.

    The SQL store only appends new events, and the Redis store merges what it holds with
    the tracker it is given (keeping the old event beside the new one): both are
    rewritten here. The in-memory store just keeps the tracker it is given next.
    """
    store = _innermost(store)
    if not events:
        return
    if isinstance(store, SQLTrackerStore):
        _rewrite_sql(store, sender_id, events)
    elif isinstance(store, RedisTrackerStore):
        _rewrite_redis(store, sender_id, events)


def _rewrite_sql(store: SQLTrackerStore, sender_id: str, events: List[UserUttered]) -> None:
    table = store.SQLEvent
    with store.session_scope() as session:
        for event in events:
            rows = session.query(table).filter(
                table.sender_id == sender_id,
                table.type_name == UserUttered.type_name,
                table.timestamp == event.timestamp,
            )
            for row in rows:
                row.data = json.dumps(event.as_dict())
        session.commit()


def _rewrite_redis(store: RedisTrackerStore, sender_id: str, events: List[UserUttered]) -> None:
    key = store.key_prefix + sender_id
    stored = store.red.get(key)
    if stored is None:
        return
    dialogue = json.loads(stored)
    redacted = {event.timestamp: event.as_dict() for event in events}
    dialogue["events"] = [
        redacted.get(event.get("timestamp"), event)
        if event.get("event") == UserUttered.type_name
        else event
        for event in dialogue.get("events", [])
    ]
    store.red.set(key, json.dumps(dialogue), ex=store.record_exp)


def install() -> None:
    """Wrap MessageProcessor once per process (Kefu's components and channel call this)."""
    if getattr(MessageProcessor, "_kefu_redacting", False):
        return
    handle = MessageProcessor._handle_message_with_tracker

    async def redacting_handle(
        self: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker
    ) -> None:
        earlier = redact_message(message, tracker)
        if earlier:
            logger.info(
                "已隐藏会话 %s 之前消息中的敏感信息（%d 条）", tracker.sender_id, len(earlier)
            )
            rewrite_stored(self.tracker_store, tracker.sender_id, earlier)
        await handle(self, message, tracker)

    MessageProcessor._handle_message_with_tracker = redacting_handle  # type: ignore[method-assign]
    MessageProcessor._kefu_redacting = True  # type: ignore[attr-defined]
