"""What the console's analytics and suggestion list show: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Reason(StrEnum):
    FALLBACK = "fallback"  # the KB had no answer
    DOWNVOTED = "downvoted"  # it answered, and the user gave the answer a 👎
    MIXED = "mixed"  # both, within one cluster


@dataclass(frozen=True)
class Csat:
    up: int
    down: int
    rate: float | None


@dataclass(frozen=True)
class KbHit:
    faq_id: str
    question: str | None
    count: int


@dataclass(frozen=True)
class HandoffReasonCount:
    reason: str  # the escalation's reason code, e.g. "urgent_risk"
    label: str  # the reason in an agent's words
    count: int


@dataclass(frozen=True)
class NearestFaq:
    faq_id: str
    question: str
    score: float


@dataclass(frozen=True)
class UnansweredCluster:
    size: int
    representative: str
    queries: list[str]
    reason: Reason
    nearest_faq: NearestFaq | None


@dataclass(frozen=True)
class Analytics:
    period_days: int
    conversations: int
    deflected: int
    deflection_rate: float | None
    handoff_rate: float | None
    ticket_rate: float | None
    handoffs: int
    tickets: int
    csat: Csat
    kb_hits: list[KbHit]
    unanswered: list[UnansweredCluster]
    # Handoffs of the period by why they happened, the most frequent first; and the two
    # that need watching: urgent ones (fraud, theft) and those of angry users.
    handoff_reasons: list[HandoffReasonCount] = field(default_factory=list)
    urgent_handoffs: int = 0
    frustration_handoffs: int = 0


@dataclass(frozen=True)
class Suggestion:
    id: int
    query: str
    faq_id: str
    question: str | None
    created_by: str
    created_at: datetime
