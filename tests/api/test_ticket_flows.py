"""support.tickets.flows: the category of a problem told in words, from the real KB."""

from __future__ import annotations

import pytest

from kb.content import DEFAULT_CATEGORIES
from kb.knowledge_base import Decision, KnowledgeBase
from support.tickets.flows import category_named_in, category_of_problem, corrects_category


def test_a_clear_problem_gets_its_entrys_category(knowledge_base: KnowledgeBase) -> None:
    problem = "充值了三天还没到账 钱已经扣了"
    result = knowledge_base.query(problem)
    assert result.decision is not Decision.FALLBACK
    expected = result.candidates[0].faq.category.value
    assert category_of_problem(knowledge_base, problem, DEFAULT_CATEGORIES) == expected


def test_no_category_that_the_list_lacks_or_the_kb_cannot_tell(
    knowledge_base: KnowledgeBase,
) -> None:
    problem = "充值了三天还没到账 钱已经扣了"
    found = category_of_problem(knowledge_base, problem, DEFAULT_CATEGORIES)
    assert found is not None
    others = [name for name in DEFAULT_CATEGORIES if name != found]
    assert category_of_problem(knowledge_base, problem, others) is None
    # Nothing the FAQ speaks of: no category guessed.
    assert category_of_problem(knowledge_base, "今天天气怎么样", DEFAULT_CATEGORIES) is None


def test_options_in_different_categories_name_none(knowledge_base: KnowledgeBase) -> None:
    """A clarify list spanning categories is no category; one sharing a category is."""
    spanning = 0
    for text in ("钱", "密码", "银行卡", "手续费", "到账", "账户", "限额"):
        result = knowledge_base.query(text)
        if result.decision is not Decision.CLARIFY:
            continue
        named = {candidate.faq.category.value for candidate in result.candidates}
        spanning += len(named) > 1
        found = category_of_problem(knowledge_base, text, DEFAULT_CATEGORIES)
        assert found == (next(iter(named)) if len(named) == 1 else None), text
    assert spanning, "no short question got options in different categories"


def test_a_category_is_named_only_where_it_is_meant() -> None:
    assert category_named_in("是转账的时候不见的", DEFAULT_CATEGORIES) == "转账"
    assert category_named_in("提现被退回了好几次", DEFAULT_CATEGORIES) == "提现"
    # Inside another word, denied, two at once, or the catch-all: none.
    for text in (
        "支付密码忘了",
        "微信支付绑卡失败",
        "我没有转账，钱少了",
        "充值和提现都不行",
        "其他的都试过了",
    ):
        assert category_named_in(text, DEFAULT_CATEGORIES) is None, text


@pytest.mark.parametrize(
    ("text", "takes_back"),
    [("刚才选错了 应该是提现的问题", True), ("分类不对 是充值的", True), ("类别选错了", True),
     ("点错了，是转账", True), ("选错了", True), ("不是这个分类", True),
     ("選錯了 應該是提現", True),
     ("我转账时点错了收款人", False), ("选错了银行卡 钱转到另一张卡上了", False),
     ("提现失败了 提示错误", False), ("13812345678", False)],
)  # fmt: skip
def test_a_category_is_taken_back_only_in_so_many_words(text: str, takes_back: bool) -> None:
    assert corrects_category(text) is takes_back
