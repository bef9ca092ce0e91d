"""Action tests run the real actions against the real KB and a real database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions import runtime
from kb.knowledge_base import KnowledgeBase
from support.escalations.service import EscalationService
from support.knowledge.categories import TicketCategories
from support.storage import session_factory
from support.tickets.service import TicketService

MakeTracker = Callable[..., Tracker]


@pytest.fixture
def services(
    monkeypatch: pytest.MonkeyPatch, knowledge_base: KnowledgeBase, database_url: str
) -> tuple[TicketService, EscalationService]:
    tickets = TicketService(session_factory(database_url))
    escalations = EscalationService(session_factory(database_url))
    monkeypatch.setattr(runtime, "knowledge_base", lambda: knowledge_base)
    monkeypatch.setattr(runtime, "tickets", lambda: tickets)
    monkeypatch.setattr(runtime, "escalations", lambda: escalations)
    categories = TicketCategories(session_factory(database_url), ttl=0)
    monkeypatch.setattr(runtime, "ticket_categories", lambda: categories)
    return tickets, escalations


@pytest.fixture
def make_tracker() -> MakeTracker:
    def make(
        text: str = "",
        *,
        intent: str = "ask_faq",
        entities: list[dict[str, Any]] | None = None,
        slots: dict[str, Any] | None = None,
        sender_id: str = "user-1",
        events: list[dict[str, Any]] | None = None,
        active_loop: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Tracker:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "intent_ranking": [{"name": intent, "confidence": 1.0}],
            "entities": entities or [],
            "metadata": metadata or {"channel": "web"},
        }
        return Tracker(
            sender_id=sender_id,
            slots=slots or {},
            latest_message=latest,
            events=[*(events or []), {"event": "user", "text": text, "parse_data": latest}],
            paused=False,
            followup_action=None,
            active_loop={"name": active_loop} if active_loop else {},
            latest_action_name="action_listen",
        )

    return make
