"""The console's analytics, computed from the stored (redacted) conversations.

The figures are SQL aggregates. Only the unanswered queries come into Python, already
grouped by text, to be embedded with the KB's encoder and clustered by topic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
import yaml
from numpy.typing import NDArray
from sklearn.cluster import AgglomerativeClustering
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kb.knowledge_base import Decision, KnowledgeBase
from kb.text import canonicalize
from support.analytics.models import ParaphraseSuggestion
from support.conversations.models import Message, Role
from support.escalations.models import Escalation
from support.knowledge.service import KnowledgeService
from support.storage import as_utc, transaction
from support.tickets.models import Ticket

# Average-linkage cosine distance below which queries are one topic: a mean cosine
# similarity of at least 0.55. Measured with the default encoder (USE) on our FAQ:
# the same question in other words scores 0.6-0.9, while 90 % of pairs of paraphrases
# from different FAQs stay under 0.42. Looser (0.55) merged distinct wallet topics.
CLUSTER_DISTANCE = 0.45
TOP_CLUSTERS = 10
EXAMPLES_PER_CLUSTER = 8
# Distinct (query, decision) groups considered, most recent first: bounds the work of
# embedding and of the clustering (quadratic in the number of queries).
MAX_UNANSWERED = 2000
MAX_SUGGESTION_LENGTH = 200

# JSON paths into Message.kb. One object each, so a GROUP BY repeats the SELECT's
# expression with the same bound parameter (PostgreSQL compares them textually).
_kb_decision = Message.kb["decision"].as_string()
_kb_faq_id = Message.kb["faq_id"].as_string()
_kb_query = Message.kb["query"].as_string()


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


@dataclass(frozen=True)
class Suggestion:
    id: int
    query: str
    faq_id: str
    question: str | None
    created_by: str
    created_at: datetime


class UnknownFaqError(LookupError):
    pass


class InvalidSuggestionError(ValueError):
    pass


class SuggestionNotFoundError(LookupError):
    pass


def _rate(part: int, whole: int) -> float | None:
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
            conversations, deflected, handoffs, tickets = self._outcomes(session, since)
            csat = self._csat(session, since)
            hits = session.execute(
                select(_kb_faq_id, func.count())
                .where(
                    Message.role == Role.BOT.value,
                    Message.created_at >= since,
                    _kb_decision == Decision.ANSWER.value,
                )
                .group_by(_kb_faq_id)
            ).all()
            unanswered = self._unanswered(session, since)
        kb_hits = [
            KbHit(faq_id, faq.question if (faq := kb.get(faq_id)) else None, int(count))
            for faq_id, count in hits
            if faq_id
        ]
        kb_hits.sort(key=lambda hit: (-hit.count, hit.faq_id))
        return Analytics(
            period_days=days,
            conversations=conversations,
            deflected=deflected,
            deflection_rate=_rate(deflected, conversations),
            handoff_rate=_rate(handoffs, conversations),
            ticket_rate=_rate(tickets, conversations),
            handoffs=handoffs,
            tickets=tickets,
            csat=csat,
            kb_hits=kb_hits,
            unanswered=_clusters(kb, unanswered),
        )

    @staticmethod
    def _outcomes(session: Session, since: datetime) -> tuple[int, int, int, int]:
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
            .where(Escalation.sender_id == active.c.id, Escalation.created_at >= since)
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

    @staticmethod
    def _csat(session: Session, since: datetime) -> Csat:
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
        return Csat(up, down, _rate(up, up + down))

    @staticmethod
    def _unanswered(session: Session, since: datetime) -> dict[str, Counter[Reason]]:
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

    # Paraphrase suggestions: the review list that is exported to data/faq_zh.yml.

    def suggestions(self) -> list[Suggestion]:
        kb = self._knowledge.knowledge_base()
        with self._sessions() as session:
            rows = session.scalars(
                select(ParaphraseSuggestion).order_by(
                    ParaphraseSuggestion.faq_id, ParaphraseSuggestion.id
                )
            ).all()
            return [_suggestion(row, kb) for row in rows]

    def suggest(self, query: str, faq_id: str, agent: str) -> tuple[Suggestion, bool]:
        """Add ``query`` as a paraphrase suggestion for ``faq_id``; True if it is new.

        Adding the same query for the same FAQ again returns the existing suggestion.
        """
        kb = self._knowledge.knowledge_base()
        query = " ".join(query.split())
        if not query:
            raise InvalidSuggestionError("请填写要加入的问法。")
        if len(query) > MAX_SUGGESTION_LENGTH:
            raise InvalidSuggestionError(f"问法不能超过 {MAX_SUGGESTION_LENGTH} 个字符。")
        if kb.get(faq_id) is None:
            raise UnknownFaqError(faq_id)
        existing = self._find(query, faq_id, kb)
        if existing is not None:
            return existing, False
        try:
            with transaction(self._sessions) as session:
                row = ParaphraseSuggestion(
                    query=query, faq_id=faq_id, created_by=agent, created_at=datetime.now(UTC)
                )
                session.add(row)
                session.flush()
                return _suggestion(row, kb), True
        except IntegrityError:  # the same suggestion, added concurrently
            found = self._find(query, faq_id, kb)
            if found is None:
                raise
            return found, False

    def _find(self, query: str, faq_id: str, kb: KnowledgeBase) -> Suggestion | None:
        with self._sessions() as session:
            row = session.scalar(
                select(ParaphraseSuggestion).where(
                    ParaphraseSuggestion.query == query, ParaphraseSuggestion.faq_id == faq_id
                )
            )
            return _suggestion(row, kb) if row else None

    def remove(self, suggestion_id: int) -> None:
        with transaction(self._sessions) as session:
            row = session.get(ParaphraseSuggestion, suggestion_id)
            if row is None:
                raise SuggestionNotFoundError(suggestion_id)
            session.delete(row)

    def export_yaml(self, *, now: datetime | None = None) -> str:
        """The suggestions grouped by FAQ, laid out like data/faq_zh.yml's entries."""
        suggestions = self.suggestions()
        grouped: dict[str, list[Suggestion]] = {}
        for suggestion in suggestions:
            grouped.setdefault(suggestion.faq_id, []).append(suggestion)
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        lines = [
            f"# Kefu 释义建议，导出于 {moment:%Y-%m-%d %H:%M} UTC，共 {len(suggestions)} 条。",
            "# 用法：把每个条目 paraphrases 下的各行，追加到 data/faq_zh.yml 中同一 id 条目的",
            "# paraphrases 列表末尾（缩进与该文件一致，可直接粘贴）。",
            "# 这些问法来自用户原话（已脱敏），粘贴前请再核对一遍是否确实是该问题的问法。",
            "# 改完后运行 `.venv/bin/kefu kb validate`，再 `.venv/bin/kefu kb build`。",
            "faqs:" if grouped else "faqs: []",
        ]
        for faq_id, items in grouped.items():
            question = items[0].question
            title = " ".join(question.split()) if question else "（知识库中已没有这个条目）"
            entry = {"id": faq_id, "paraphrases": [item.query for item in items]}
            block = yaml.dump(
                {"faqs": [entry]},
                Dumper=_FaqFileDumper,
                allow_unicode=True,
                sort_keys=False,
                width=1000,
                indent=2,
            )
            lines.append(f"  # 标准问题：{title}")
            lines.extend(block.splitlines()[1:])  # without its own "faqs:" line
        return "\n".join(lines) + "\n"


class _FaqFileDumper(yaml.SafeDumper):
    """Indents lists under their key, as data/faq_zh.yml does ("  - id:", "      - ...")."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _suggestion(row: ParaphraseSuggestion, kb: KnowledgeBase) -> Suggestion:
    faq = kb.get(row.faq_id)
    return Suggestion(
        id=row.id,
        query=row.query,
        faq_id=row.faq_id,
        question=faq.question if faq else None,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )


def _clusters(kb: KnowledgeBase, found: dict[str, Counter[Reason]]) -> list[UnansweredCluster]:
    """The unanswered queries grouped by topic, the largest clusters first."""
    texts = list(found)
    if not texts:
        return []
    vectors = kb.encoder.encode([canonicalize(text) for text in texts])
    if len(texts) == 1:
        labels: NDArray[np.int64] = np.zeros(1, dtype=np.int64)
    else:
        labels = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=CLUSTER_DISTANCE,
            metric="cosine",
            linkage="average",
        ).fit_predict(vectors)
    weights = np.array([found[text].total() for text in texts], dtype=np.float32)
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    # Largest first; on a tie, the one asked most recently (texts are newest first).
    groups.sort(key=lambda members: (-float(weights[members].sum()), int(members.min())))
    clusters = []
    for members in groups[:TOP_CLUSTERS]:
        # The representative: the query closest to the others, weighted by how often each
        # was asked (a medoid; a centroid would not be a real query).
        similarity = vectors[members] @ vectors[members].T
        centre = texts[int(members[int(np.argmax(similarity @ weights[members]))])]
        examples = sorted(members, key=lambda index: (-weights[index], index))
        examples = examples[:EXAMPLES_PER_CLUSTER]
        reasons: Counter[Reason] = sum((found[texts[index]] for index in members), Counter())
        clusters.append(
            UnansweredCluster(
                size=int(weights[members].sum()),
                representative=centre,
                queries=[texts[index] for index in examples],
                reason=next(iter(reasons)) if len(reasons) == 1 else Reason.MIXED,
                nearest_faq=_nearest_faq(kb, [texts[index] for index in examples]),
            )
        )
    return clusters


def _nearest_faq(kb: KnowledgeBase, texts: list[str]) -> NearestFaq | None:
    """The FAQ with the best KB score averaged over the cluster's distinct queries.

    One query's best FAQ is noisy (「支持数字人民币吗」 goes to the supported regions on
    the word 支持); the cluster's phrasings together point at its topic more reliably.
    Each phrasing counts once: asking the same words again says nothing new about them.
    """
    faqs = kb.faqs
    fusion = kb.manifest.fusion
    scores = np.mean([kb.component_scores(text).fused(fusion) for text in texts], axis=0)
    if not faqs or len(scores) != len(faqs):  # an empty KB, or reloaded meanwhile
        return None
    best = int(np.argmax(scores))
    return NearestFaq(faqs[best].id, faqs[best].question, round(float(scores[best]), 4))
