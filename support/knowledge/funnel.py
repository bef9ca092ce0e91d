"""The funnel of each FAQ, from the stored (redacted) conversations.

Per FAQ over a period: how often it answered; how often a clarify list offered it and
how often users picked it there; 👍 and 👎 on its answer; 「否」 right after it; and a
handoff or a ticket later in the same conversation. Also the candidate paraphrases that
clarify picks make: the question the user typed, then the FAQ they picked.

Every fact comes from what the conversation store already keeps: each bot reply's
``kb`` metadata (decision, FAQ, query), its buttons (clarify payloads name the FAQs
offered), its feedback, and the user's button payloads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from support.conversations.models import Message, Role
from support.escalations.models import Escalation
from support.knowledge.schemas import FunnelRow
from support.replies.vocabulary import DENY, chosen_faq_id
from support.storage import as_utc
from support.tickets.models import Ticket

# An entry needs this many answers in the period before it can be called weak.
MIN_ANSWERS_FOR_VERDICT = 3
NEEDS_WORK_SIZE = 10


@dataclass
class Counts:
    answered: int = 0
    offered: int = 0
    picked: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    denied: int = 0
    handoff_after: int = 0
    # Conversations in which it answered, with the time of its first answer there.
    answered_in: dict[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class ClarifyPick:
    query: str  # what the user typed before the clarify list (redacted)
    faq_id: str  # what they picked
    message_id: int  # the pick's message, the harvest's watermark


def _messages(session: Session, since: datetime, after_id: int = 0) -> list[Any]:
    return list(
        session.execute(
            select(
                Message.id,
                Message.conversation_id,
                Message.role,
                Message.payload,
                Message.buttons,
                Message.feedback,
                Message.kb,
                Message.created_at,
            )
            .where(Message.created_at >= since, Message.id > after_id)
            .order_by(Message.conversation_id, Message.id)
        ).all()
    )


def _offered(buttons: Any) -> list[str]:
    offered = []
    for button in buttons or []:
        faq_id = chosen_faq_id(button.get("payload")) if isinstance(button, dict) else None
        if faq_id:
            offered.append(faq_id)
    return offered


def count_funnel(session: Session, since: datetime) -> dict[str, Counts]:
    counts: dict[str, Counts] = defaultdict(Counts)
    last_answer: dict[str, str] = {}  # conversation → FAQ its last bot answer gave
    for row in _messages(session, since):
        meta = row.kb or {}
        if row.role == Role.BOT.value:
            decision, faq_id = meta.get("decision"), meta.get("faq_id")
            if decision == "answer" and faq_id:
                entry = counts[faq_id]
                entry.answered += 1
                entry.answered_in.setdefault(row.conversation_id, as_utc(row.created_at))
                if row.feedback == "up":
                    entry.thumbs_up += 1
                elif row.feedback == "down":
                    entry.thumbs_down += 1
                last_answer[row.conversation_id] = faq_id
            elif decision:
                last_answer.pop(row.conversation_id, None)
            if decision == "clarify" or not decision:
                for offered in _offered(row.buttons):
                    counts[offered].offered += 1
        elif row.role == Role.USER.value:
            picked = chosen_faq_id(row.payload)
            if picked:
                counts[picked].picked += 1
            elif row.payload == DENY and row.conversation_id in last_answer:
                counts[last_answer.pop(row.conversation_id)].denied += 1
    _count_handoffs(session, since, counts)
    return counts


def _count_handoffs(session: Session, since: datetime, counts: Mapping[str, Counts]) -> None:
    later: dict[str, list[datetime]] = defaultdict(list)
    for conversation_id, created_at in session.execute(
        select(Escalation.conversation_id, Escalation.created_at).where(
            Escalation.created_at >= since
        )
    ):
        later[conversation_id].append(as_utc(created_at))
    for conversation_id, created_at in session.execute(
        select(Ticket.sender_id, Ticket.created_at).where(Ticket.created_at >= since)
    ):
        later[conversation_id].append(as_utc(created_at))
    for entry in counts.values():
        entry.handoff_after = sum(
            any(moment > answered_at for moment in later.get(conversation_id, ()))
            for conversation_id, answered_at in entry.answered_in.items()
        )


def funnel_rows(
    counts: Mapping[str, Counts], entries: Mapping[str, tuple[str, str]]
) -> list[FunnelRow]:
    """One row per live entry (``entries``: id → (question, category)), zeros included."""
    rows = []
    for faq_id, (question, category) in entries.items():
        entry = counts.get(faq_id, Counts())
        votes = entry.thumbs_up + entry.thumbs_down
        trouble = entry.thumbs_down + entry.denied + entry.handoff_after
        trouble_rate = min(trouble / entry.answered, 1.0) if entry.answered else None
        # Weak = often troubled, with enough answers to say so (a smoothed rate: one bad
        # answer of one does not top the list, ten of twenty does).
        weakness = (trouble + 0.0) / (entry.answered + 2) if entry.answered else 0.0
        rows.append(
            FunnelRow(
                faq_id=faq_id,
                question=question,
                category=category,
                answered=entry.answered,
                offered=entry.offered,
                picked=entry.picked,
                thumbs_up=entry.thumbs_up,
                thumbs_down=entry.thumbs_down,
                denied=entry.denied,
                handoff_after=entry.handoff_after,
                satisfaction=entry.thumbs_up / votes if votes else None,
                trouble_rate=trouble_rate,
                weakness=round(weakness, 4),
            )
        )
    return rows


def needs_work(rows: list[FunnelRow]) -> list[FunnelRow]:
    """待改进: entries with enough answers, the most troubled first."""
    judged = [row for row in rows if row.answered >= MIN_ANSWERS_FOR_VERDICT and row.weakness > 0]
    judged.sort(key=lambda row: (-row.weakness, -row.answered, row.faq_id))
    return judged[:NEEDS_WORK_SIZE]


def clarify_picks(session: Session, since: datetime, after_id: int) -> list[ClarifyPick]:
    """Each user pick from a clarify list (after message ``after_id``), with the question
    typed before it."""
    picks = []
    asked: dict[str, str] = {}  # conversation → query of its last clarify list
    for row in _messages(session, since, 0):
        meta = row.kb or {}
        if row.role == Role.BOT.value and meta.get("decision"):
            if meta.get("decision") == "clarify" and meta.get("query"):
                asked[row.conversation_id] = str(meta["query"])
            else:
                asked.pop(row.conversation_id, None)
        elif row.role == Role.USER.value:
            picked = chosen_faq_id(row.payload)
            query = asked.pop(row.conversation_id, None)
            if picked and query and row.id > after_id:
                picks.append(ClarifyPick(query, picked, row.id))
    return picks
