"""What the ticket form makes of an answer that is not the one it asked for.

Users answer the category question with their problem (「充值三天了还没到账」) or ask
something in the middle of the form (「提现多久能到账」 where a phone number was asked
for). The form reads the problem for its category and answers the question, instead of
repeating its own question as if nothing had been said.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb.knowledge_base import Decision, KnowledgeBase
from kb.text import normalize
from support.knowledge.categories import CATCH_ALL

# The fewest characters a ticket's description may have.
MIN_DESCRIPTION = 5

# Words that hold a category's name without meaning it: 「支付密码忘了」 is a password,
# 「微信支付绑卡失败」 another service.
_OTHER_WORDS = re.compile(r"支付密码|支付宝|微信支付|云闪付|银联支付")
# 「我没有转账，钱少了」: the named thing is what did not happen.
_NEGATION = re.compile(r"[没不未无]|没有")


# 「分类不对 是充值的」「类别选错了」: the chosen category, called wrong in so many words.
_CATEGORY_CALLED_WRONG = re.compile(
    r"(?:分类|类别)[^，,。\s]{0,3}(?:错|不对|有误)"
    r"|(?:选|点|按|搞|弄)错[^，,。\s]{0,2}(?:分类|类别)"
    r"|不(?:是|属于)(?:这个|这一|这)(?:分类|类别|类)"
)
# 「刚才选错了 应该是提现的问题」「点错了，是转账」: a slip, then what was meant. A slip
# alone inside a story (「我转账时点错了收款人」) is the problem, not the form's answer.
_SLIP_THEN_MEANT = re.compile(
    r"(?:选|点|按)错了?[，,。\s]*(?:应该|应当|其实|我要的|我想选的)?是"
    r"|^(?:刚才|刚刚)?(?:我)?(?:选|点|按)错了?[。!！~]*$"
)


def corrects_category(text: str) -> bool:
    """Whether ``text`` takes back the category chosen a moment ago, whatever the form
    asks now (it is then no description, contact or transaction number)."""
    normal = normalize(text)
    return bool(_CATEGORY_CALLED_WRONG.search(normal) or _SLIP_THEN_MEANT.search(normal))


def category_named_in(text: str, categories: Sequence[str]) -> str | None:
    """The one category that ``text`` names among its words (「是转账的时候不见的」
    「提现被退回了好几次」); None when it names none or several. 「其他」 is no name here
    (「其他的都试过了」)."""
    normal = _OTHER_WORDS.sub(" ", normalize(text))
    named = [
        c
        for c in categories
        if c != CATCH_ALL
        and (found := re.search(re.escape(normalize(c)), normal)) is not None
        and not _NEGATION.search(normal[: found.start()][-2:])
    ]
    return named[0] if len(named) == 1 else None


def category_of_problem(kb: KnowledgeBase, problem: str, categories: Sequence[str]) -> str | None:
    """The configured category that a problem told in words belongs to, when the KB is
    sure of it: the category of the entry it would answer with, or the one that all the
    options it would offer share. None when the options span categories (「就是钱不见了」
    could be a transfer, a withdrawal or a theft), or when the maintainers' list has no
    such category."""
    result = kb.query(problem)
    if result.decision is Decision.FALLBACK or result.top is None:
        return None
    # The options of a clarify list, when they all share a category, settle it as well as
    # an answer would (「…充值2000 银行扣了钱包里没有 交易单号…」 offers only the top-ups).
    shown = result.candidates if result.decision is Decision.CLARIFY else [result.top]
    kinds = {normalize(candidate.faq.category.value) for candidate in shown}
    if len(kinds) != 1:
        return None
    (wanted,) = kinds
    return next((category for category in categories if normalize(category) == wanted), None)
