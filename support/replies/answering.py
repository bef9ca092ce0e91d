"""The KB's decision turned into the bot's replies: answer, clarify or fall back.

Written once, for both who answer: the action server (actions.faq) and the gateway's
degraded mode when Rasa is unreachable (support.conversations.flows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kb.content import FAQ
from kb.knowledge_base import Candidate, Decision, QueryResult
from support import metrics
from support.replies.vocabulary import (
    ANYTHING_ELSE,
    CLARIFY_ONE_PROMPT,
    CLARIFY_PROMPT,
    FALLBACK_AGAIN,
    FALLBACK_FIRST,
    FEEDBACK_BUTTONS,
    GLAD_IT_HELPED,
    HELPED_QUESTION,
    HUMAN_FIRST,
    NOT_UNDERSTOOD,
    PERSON_ADVISED,
    PERSON_BUTTON,
    SORRY_IT_DID_NOT_HELP,
    STILL_NOT_UNDERSTOOD,
    TICKET_OR_HUMAN,
    Button,
    clarify_payload,
)

# Clarify buttons: more than three near-equal questions is no help.
CLARIFY_OPTIONS = 3
# Fallbacks in a row after which a person is offered first.
FALLBACKS_BEFORE_HUMAN_FIRST = 2


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    # What the KB decided (kb_metadata), on the reply it concerns: the one users rate.
    kb: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    """The replies for one question, and what the bot keeps for the next turn."""

    decision: Decision
    replies: tuple[Reply, ...]
    # What the KB retrieved, recorded with a later handoff (handoff_candidates).
    candidates: list[dict[str, Any]] = field(default_factory=list)
    # Fallbacks in a row, this one included; 0 after an answer or a clarify.
    fallback_streak: int = 0
    # The answered FAQ usually needs a ticket: its category, to have the form ready.
    ticket_category: str | None = None


def kb_metadata(
    decision: Decision, query: str, top: Candidate | FAQ | None = None
) -> dict[str, Any]:
    """What the KB decided for a reply, stored with it for the analytics.

    ``top`` is the best candidate with its score (for a fallback: the nearest FAQ, which
    did not answer), or the FAQ a clarify button chose. ``query`` is redacted text.
    """
    faq_id = top.id if top is not None else None
    score = round(top.score, 4) if isinstance(top, Candidate) else None
    return {"decision": decision.value, "faq_id": faq_id, "score": score, "query": query}


def handoff_candidates(candidates: Sequence[Candidate]) -> list[dict[str, Any]]:
    """The KB's candidates as an escalation records them for the agent."""
    return [
        {"id": c.id, "question": c.faq.question, "score": round(c.score, 3)} for c in candidates
    ]


def answer_query(
    result: QueryResult,
    *,
    query: str | None,
    fallback_streak: int = 0,
    ask_if_helped: bool = True,
) -> Answer:
    """The replies for the KB's ``result``.

    ``query`` is the redacted question, recorded for the analytics; None when the text
    was a button's payload, not a question. ``fallback_streak`` counts the fallbacks
    before this one. ``ask_if_helped``: whether a 是/否 question may follow an answer
    (only the dialogue model can take the reply to it).
    """
    meta = kb_metadata(result.decision, query, result.top) if query is not None else None
    if query is not None:  # a question, not a button's payload
        metrics.kb_decisions_total.labels(result.decision.value).inc()
    candidates = handoff_candidates(result.candidates)
    if result.decision is Decision.ANSWER and result.top is not None:
        return _answered(result.top.faq, candidates, meta, ask_if_helped)
    if result.decision is Decision.CLARIFY:
        options = tuple(
            Button(c.faq.question, clarify_payload(c.id))
            for c in result.candidates[:CLARIFY_OPTIONS]
        )
        if len(options) == 1:  # a yes-or-no on one question, with a person as the way out
            reply = Reply(CLARIFY_ONE_PROMPT, (*options, PERSON_BUTTON), meta)
        else:
            reply = Reply(CLARIFY_PROMPT, options, meta)
        return Answer(Decision.CLARIFY, (reply,), candidates)
    streak = fallback_streak + 1
    if streak >= FALLBACKS_BEFORE_HUMAN_FIRST:
        reply = Reply(FALLBACK_AGAIN, HUMAN_FIRST, meta)
    else:
        reply = Reply(FALLBACK_FIRST, TICKET_OR_HUMAN, meta)
    return Answer(Decision.FALLBACK, (reply,), candidates, streak)


def answer_faq(faq: FAQ, *, ask_if_helped: bool = True) -> Answer:
    """The replies when the user picked ``faq`` from the clarify buttons.

    Its question is what the user's message shows (the button's title), so it is the query.
    """
    picked = kb_metadata(Decision.ANSWER, faq.question, faq)
    return _answered(faq, [{"id": faq.id, "question": faq.question}], picked, ask_if_helped)


def _answered(
    faq: FAQ, candidates: list[dict[str, Any]], meta: dict[str, Any] | None, ask_if_helped: bool
) -> Answer:
    replies: tuple[Reply, ...]
    if faq.escalate == "human":
        # A person usually has to look at the account: offer one right away.
        replies = (Reply(faq.answer, kb=meta), Reply(PERSON_ADVISED, HUMAN_FIRST))
    elif ask_if_helped:
        # The metadata goes with the answer itself: that is the message users rate 👍/👎.
        replies = (Reply(faq.answer, kb=meta), Reply(HELPED_QUESTION, FEEDBACK_BUTTONS))
    else:
        # No one would take a 是/否: offer the ways on right away.
        replies = (Reply(faq.answer, TICKET_OR_HUMAN, meta),)
    # The FAQ's hint: this problem usually needs a ticket, so have its category ready.
    category = faq.category.value if faq.escalate == "ticket" else None
    return Answer(Decision.ANSWER, replies, candidates, 0, category)


def briefly(answer: Answer, faq_of: Callable[[str], FAQ | None]) -> Answer:
    """``answer`` for a channel that shows answers briefly (support.channels.BRIEF_CHANNELS).

    A reply that gives an entry's whole answer says the entry's short version instead,
    when the maintainer wrote one (``wechat_answer``). Follow-ups that quote one part of an
    answer, and every other reply, stay as they are.
    """
    # A reply without the KB's metadata (a button's payload answered in degraded mode)
    # may still be the answer of the entry the KB ranked first.
    answered = (
        str(answer.candidates[0]["id"])
        if answer.decision is Decision.ANSWER and answer.candidates
        else None
    )
    return replace(
        answer, replies=tuple(_brief(reply, faq_of, answered) for reply in answer.replies)
    )


def _brief(reply: Reply, faq_of: Callable[[str], FAQ | None], answered: str | None) -> Reply:
    meta = reply.kb
    if meta is not None:
        faq_id = meta.get("faq_id") if meta.get("decision") == Decision.ANSWER.value else None
    else:
        faq_id = answered
    if not faq_id:
        return reply
    faq = faq_of(str(faq_id))
    if faq is None or not faq.wechat_answer or reply.text != faq.answer:
        return reply
    return replace(reply, text=faq.wechat_answer)


def after_feedback(*, helped: bool, after_answer: bool, after_fallback: bool = False) -> Reply:
    """The reply to 是 / 否: about the answer just given, or neutral at other times.

    Right after the bot could not answer, a vague reply is no reason to stop helping:
    a person is offered.
    """
    if after_answer and helped:
        return Reply(GLAD_IT_HELPED)
    if after_answer:
        return Reply(SORRY_IT_DID_NOT_HELP, TICKET_OR_HUMAN)
    if after_fallback:
        return Reply(STILL_NOT_UNDERSTOOD, HUMAN_FIRST)
    return Reply(ANYTHING_ELSE)


def not_understood(text: str) -> Reply:
    """When the dialogue model is unsure what to do: say so, and offer a person.

    No KB query here: the analytics finds the nearest FAQ itself. A "/intent" text is a
    button's payload (typed text never starts with "/"), not a question.
    """
    question = bool(text) and not text.startswith("/")
    meta = kb_metadata(Decision.FALLBACK, text) if question else None
    return Reply(NOT_UNDERSTOOD, TICKET_OR_HUMAN, meta)
