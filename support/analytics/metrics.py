"""The console's figures, computed from the stored (redacted) conversations.

Deflection, handoff and ticket rates, CSAT and KB hits are SQL aggregates. Only the
unanswered queries come into Python, already grouped by text, to be clustered by topic
(support.analytics.clustering).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from kb.knowledge_base import Decision, KnowledgeBase
from support.analytics.clustering import cluster_unanswered
from support.analytics.schemas import Analytics, Csat, HandoffReasonCount, KbHit, Reason
from support.conversations.models import Message, Role
from support.escalations.models import Escalation
from support.escalations.schemas import reason_label
from support.knowledge.service import KnowledgeService
from support.replies.vocabulary import HandoffReason
from support.tickets.models import Ticket

# Distinct (query, decision) groups considered, most recent first: bounds the work of
# embedding and of the clustering (quadratic in the number of queries).
MAX_UNANSWERED = 2000

# JSON paths into Message.kb. One object each, so a GROUP BY repeats the SELECT's
# expression with the same bound parameter (PostgreSQL compares them textually).
_kb_decision = Message.kb["decision"].as_string()
_kb_faq_id = Message.kb["faq_id"].as_string()
_kb_query = Message.kb["query"].as_string()


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class AnalyticsService:
    def __init__(self, sessions: sessionmaker[Session], knowledge: KnowledgeService) -> None:
        self._sessions = sessions
        self._knowledge = knowledge

    def compute(self, days: int = 30, *, now: datetime | None = None) -> Analytics:
        """The figures for the conversations with a user message in the last ``days``."""
        since = (now or datetime.now(UTC)) - timedelta(days=days)
        kb = self._knowledge.knowledge_base()
        with self._sessions() as session:
            conversations, deflected, handoffs, tickets = outcomes(session, since)
            satisfaction = csat(session, since)
            hits = kb_hits(session, since, kb)
            unanswered = unanswered_queries(session, since)
            reasons, urgent = handoff_reasons(session, since)
        return Analytics(
            period_days=days,
            conversations=conversations,
            deflected=deflected,
            deflection_rate=rate(deflected, conversations),
            handoff_rate=rate(handoffs, conversations),
            ticket_rate=rate(tickets, conversations),
            handoffs=handoffs,
            tickets=tickets,
            csat=satisfaction,
            kb_hits=hits,
            unanswered=cluster_unanswered(kb, unanswered),
            handoff_reasons=reasons,
            urgent_handoffs=urgent,
            frustration_handoffs=sum(
                row.count for row in reasons if row.reason == HandoffReason.FRUSTRATION.value
            ),
        )


def outcomes(session: Session, since: datetime) -> tuple[int, int, int, int]:
    """Conversations in the period; deflected, handed off, and with a ticket.

    Only tickets and handoffs of the period count: a conversation (a WeChat user's
    is long-lived) that needed a person months ago may be deflected now.
    """
    active = (
        select(Message.conversation_id.label("id"))
        .where(Message.role == Role.USER.value, Message.created_at >= since)
        .distinct()
        .subquery()
    )
    ticketed = (
        select(Ticket.id)
        .where(Ticket.sender_id == active.c.id, Ticket.created_at >= since)
        .exists()
    )
    handed = (
        select(Escalation.id)
        .where(Escalation.conversation_id == active.c.id, Escalation.created_at >= since)
        .exists()
    )
    total, with_ticket, with_handoff, with_either = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((ticketed, 1), else_=0)), 0),
            func.coalesce(func.sum(case((handed, 1), else_=0)), 0),
            func.coalesce(func.sum(case((or_(ticketed, handed), 1), else_=0)), 0),
        ).select_from(active)
    ).one()
    total = int(total)
    return total, total - int(with_either), int(with_handoff), int(with_ticket)


def handoff_reasons(session: Session, since: datetime) -> tuple[list[HandoffReasonCount], int]:
    """The period's handoffs counted by reason (most frequent first), and how many were urgent.

    Every handoff of the period counts, one per escalation: a user handed off twice in a
    month was twice in the queue.
    """
    rows = session.execute(
        select(
            Escalation.reason,
            func.count(),
            func.coalesce(func.sum(case((Escalation.urgent.is_(True), 1), else_=0)), 0),
        )
        .where(Escalation.created_at >= since)
        .group_by(Escalation.reason)
    ).all()
    counts = [
        HandoffReasonCount(reason, reason_label(reason), int(count)) for reason, count, _ in rows
    ]
    counts.sort(key=lambda row: (-row.count, row.reason))
    return counts, sum(int(urgent) for _, _, urgent in rows)


def csat(session: Session, since: datetime) -> Csat:
    """👍 and 👎 on the bot's replies of the period."""
    votes: dict[str | None, int] = {
        feedback: int(count)
        for feedback, count in session.execute(
            select(Message.feedback, func.count())
            .where(
                Message.role == Role.BOT.value,
                Message.created_at >= since,
                Message.feedback.in_(("up", "down")),
            )
            .group_by(Message.feedback)
        )
    }
    up, down = votes.get("up", 0), votes.get("down", 0)
    return Csat(up, down, rate(up, up + down))


def kb_hits(session: Session, since: datetime, kb: KnowledgeBase) -> list[KbHit]:
    """How often each FAQ answered in the period, the most used first."""
    rows = session.execute(
        select(_kb_faq_id, func.count())
        .where(
            Message.role == Role.BOT.value,
            Message.created_at >= since,
            _kb_decision == Decision.ANSWER.value,
        )
        .group_by(_kb_faq_id)
    ).all()
    hits = [
        KbHit(faq_id, faq.question if (faq := kb.get(faq_id)) else None, int(count))
        for faq_id, count in rows
        if faq_id
    ]
    hits.sort(key=lambda hit: (-hit.count, hit.faq_id))
    return hits


def unanswered_queries(session: Session, since: datetime) -> dict[str, Counter[Reason]]:
    """Each unanswered query's text, with how often it fell back or was downvoted.

    Most recent first: the order decides which queries a full cluster shows.
    """
    rows = session.execute(
        select(_kb_query, _kb_decision, func.count())
        .where(
            Message.role == Role.BOT.value,
            Message.created_at >= since,
            or_(
                _kb_decision == Decision.FALLBACK.value,
                and_(_kb_decision == Decision.ANSWER.value, Message.feedback == "down"),
            ),
        )
        .group_by(_kb_query, _kb_decision)
        .order_by(func.max(Message.id).desc())
        .limit(MAX_UNANSWERED)
    ).all()
    found: dict[str, Counter[Reason]] = {}
    for text, decision, count in rows:
        query = (text or "").strip()
        if query:
            reason = Reason.FALLBACK if decision == Decision.FALLBACK else Reason.DOWNVOTED
            found.setdefault(query, Counter())[reason] += int(count)
    return found
