"""What the ticket form makes of an answer that is not the one it asked for.

Users answer the category question with their problem (「充值三天了还没到账」) or ask
something in the middle of the form (「提现多久能到账」 where a phone number was asked
for). The form reads the problem for its category and answers the question, instead of
repeating its own question as if nothing had been said.
"""

from __future__ import annotations

from collections.abc import Sequence

from kb.knowledge_base import Decision, KnowledgeBase
from kb.text import normalize


def category_of_problem(kb: KnowledgeBase, problem: str, categories: Sequence[str]) -> str | None:
    """The configured category that a problem told in words belongs to, when the KB is
    sure of it: the category of the entry it answers with, or the one category that every
    option it would offer shares. None when the KB has no idea, when its options span
    categories, or when the maintainers' list has no such category."""
    result = kb.query(problem)
    if result.decision is Decision.FALLBACK or not result.candidates:
        return None
    considered = result.candidates[:1] if result.decision is Decision.ANSWER else result.candidates
    named = {normalize(candidate.faq.category.value) for candidate in considered}
    if len(named) != 1:
        return None
    (wanted,) = named
    return next((category for category in categories if normalize(category) == wanted), None)
