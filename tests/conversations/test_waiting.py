"""The bot's moves for a user in the queue for a person, and the urgent turn's replies
(support.replies.waiting, support.replies.turns): decisions read from the words, with the
KB's decision fixed for every text so that each test says what it depends on."""

from __future__ import annotations

from typing import cast

import pytest

from kb.knowledge_base import Candidate, Decision, KnowledgeBase, QueryResult
from support.replies.turns import Context, respond
from support.replies.vocabulary import (
    OPEN_TICKET,
    REQUEST_HUMAN,
    SAFETY_BRIEF,
    SAFETY_STEPS,
    WHILE_A_PERSON_COMES,
    HandoffReason,
    clarify_payload,
    says_nothing_more,
)
from support.replies.waiting import WaitingMove, while_waiting
from tests.conversations.test_understanding import ScriptedKB


class FixedKB(ScriptedKB):
    """The real entries; every query gets the same decision over the same entries."""

    def __init__(self, kb: KnowledgeBase, decision: Decision, ids: list[str]) -> None:
        super().__init__(kb, {})
        self._decision = decision
        self._ids = ids

    def query(self, text: str, top_k: int = 3) -> QueryResult:
        top = 0.15 if self._decision is Decision.FALLBACK else 0.6
        candidates = []
        for rank, faq_id in enumerate(self._ids):
            faq = self.get(faq_id)
            assert faq is not None
            candidates.append(Candidate(faq, top - rank / 20, 0.5, 0.5))
        return QueryResult(self._decision, candidates, 1.0)


def fixed(kb: KnowledgeBase, decision: Decision, *ids: str) -> KnowledgeBase:
    return cast(KnowledgeBase, FixedKB(kb, decision, list(ids)))


# Urgent: the safety steps, or the help centre's entry on scams and the steps in a line.

MONEY_GONE = "刚才有人把我钱包里的钱转走了"


def test_an_urgent_turn_with_the_entry_on_scams_gives_it_and_the_steps_in_a_line(
    knowledge_base: KnowledgeBase,
) -> None:
    kb = fixed(knowledge_base, Decision.ANSWER, "suspicious_activity", "fees")
    turn = respond(kb, MONEY_GONE, Context())
    assert turn.handoff is not None and turn.handoff.urgent
    assert turn.handoff.reason is HandoffReason.URGENT
    entry = knowledge_base.get("suspicious_activity")
    assert entry is not None
    texts = [reply.text for reply in turn.answer.replies]
    assert texts == [entry.answer, SAFETY_BRIEF]
    # No 「转人工」 buttons under it: the person is on the way.
    assert not [b for reply in turn.answer.replies for b in reply.buttons]


@pytest.mark.parametrize(
    ("decision", "ids"),
    [
        (Decision.ANSWER, ["fees"]),  # sure, but of an entry that says nothing of the danger
        (Decision.CLARIFY, ["withdraw_failed", "fees"]),  # not sure, and neither is on safety
        (Decision.FALLBACK, []),
    ],
)
def test_an_urgent_turn_without_a_sure_entry_on_safety_gives_the_whole_steps(
    knowledge_base: KnowledgeBase, decision: Decision, ids: list[str]
) -> None:
    turn = respond(fixed(knowledge_base, decision, *ids), MONEY_GONE, Context())
    assert turn.handoff is not None and turn.handoff.urgent
    assert [reply.text for reply in turn.answer.replies] == [SAFETY_STEPS]


# In the queue.


@pytest.mark.parametrize(
    ("text", "says_more"),
    [
        ("不用人工了 我就想知道钱能不能追回来", True),
        ("哦不用了 我自己点开明细看看", True),
        ("算了算了不等了", False),
        ("不用了谢谢", False),
        ("太慢了 我不等了", False),
        ("没事了 我自己解决了", False),
        ("取消排队", False),
        # The wait complained of first.
        ("排这么久也没人 算了不等了", False),
        ("等了半天也没人 不等了 我想问下提现多久到账", True),
    ],
)
def test_declining_a_person_leaves_the_queue_unless_the_case_is_urgent(
    knowledge_base: KnowledgeBase, text: str, says_more: bool
) -> None:
    kb = fixed(knowledge_base, Decision.ANSWER, "fraud_scam")
    left = while_waiting(kb, text, Context())
    assert left.move is WaitingMove.LEAVE_QUEUE
    assert left.says_more is says_more  # whether the bot is to take the rest of it
    stays = while_waiting(kb, text, Context(), urgent_case=True)
    assert stays.move is WaitingMove.STAYS_URGENT


@pytest.mark.parametrize(
    "text",
    [
        "用不用等很久",
        "不用密码也能付款吗",
        "要等多久",
        "你们是不是不要客服了",  # anger at the service, not a decline
        "不要了，直接给我退款",
        "取消 自动续费在哪关",
    ],
)
def test_what_only_sounds_like_a_no_stays_in_the_queue(
    knowledge_base: KnowledgeBase, text: str
) -> None:
    kb = fixed(knowledge_base, Decision.FALLBACK)
    assert while_waiting(kb, text, Context()).move is not WaitingMove.LEAVE_QUEUE


def test_money_handed_over_after_the_fraud_told_earlier_is_urgent(
    knowledge_base: KnowledgeBase,
) -> None:
    """The case in the queue is not urgent, but the transcript tells of someone at work
    on the user: 「我已经转过去了」 now is the urgent path, not the place in the queue."""
    kb = fixed(knowledge_base, Decision.FALLBACK)
    told = Context(urgent=True)
    assert while_waiting(kb, "我已经转过去了", told).move is WaitingMove.URGENT


@pytest.mark.parametrize("text", ["人呢？我要人工客服", "转人工", "叫你们经理出来"])
def test_asking_for_a_person_again_is_told_the_place_in_the_queue(
    knowledge_base: KnowledgeBase, text: str
) -> None:
    kb = fixed(knowledge_base, Decision.FALLBACK)
    assert while_waiting(kb, text, Context()).move is WaitingMove.QUEUE_PLACE


@pytest.mark.parametrize(
    ("text", "move"),
    [
        ("好的谢谢", WaitingMove.THANKS),
        ("thx", WaitingMove.THANKS),
        ("好 拜拜", WaitingMove.GOODBYE),
        ("嗯嗯", WaitingMove.FOR_THE_AGENT),
        # Thanks or goodbye with a word of the user's own: no follow-up to look up.
        ("好险 还没给 谢谢提醒", WaitingMove.THANKS),
        ("好 那我不理他了 拜拜", WaitingMove.GOODBYE),
        # With a problem, a request or a question in it, no mere pleasantry.
        ("谢谢 钱还是没到", WaitingMove.FOR_THE_AGENT),
        ("谢谢 帮我转人工", WaitingMove.QUEUE_PLACE),
    ],
)
def test_pleasantries_while_waiting(
    knowledge_base: KnowledgeBase, text: str, move: WaitingMove
) -> None:
    kb = fixed(knowledge_base, Decision.FALLBACK)
    assert while_waiting(kb, text, Context()).move is move


def test_a_question_gets_the_help_centre_without_buttons_for_a_person(
    knowledge_base: KnowledgeBase,
) -> None:
    answered = while_waiting(
        fixed(knowledge_base, Decision.ANSWER, "fees"), "提现手续费怎么收", Context()
    )
    assert answered.move is WaitingMove.ANSWER and answered.answer is not None
    fees = knowledge_base.get("fees")
    assert fees is not None and answered.answer.replies[0].text == fees.answer
    payloads = {b.payload for reply in answered.answer.replies for b in reply.buttons}
    assert not payloads & {REQUEST_HUMAN, OPEN_TICKET}

    narrowed = while_waiting(
        fixed(knowledge_base, Decision.CLARIFY, "withdraw_how", "withdraw_failed"),
        "提现的问题",
        Context(),
    )
    assert narrowed.move is WaitingMove.ANSWER and narrowed.answer is not None
    payloads = {b.payload for reply in narrowed.answer.replies for b in reply.buttons}
    assert {clarify_payload("withdraw_how"), clarify_payload("withdraw_failed")} <= payloads
    assert not payloads & {REQUEST_HUMAN, OPEN_TICKET}


def test_what_the_help_centre_cannot_answer_waits_for_the_agent(
    knowledge_base: KnowledgeBase,
) -> None:
    kb = fixed(knowledge_base, Decision.FALLBACK, "fees")
    assert while_waiting(kb, "上周三那笔的事你们查清楚没有", Context()).move is (
        WaitingMove.FOR_THE_AGENT
    )


def test_thanks_with_a_question_besides_gets_the_answer_while_waiting(
    knowledge_base: KnowledgeBase,
) -> None:
    kb = fixed(knowledge_base, Decision.ANSWER, "close_account")
    assert while_waiting(kb, "谢谢 我想注销账户", Context()).move is WaitingMove.ANSWER


def test_nothing_more_on_a_follow_up_is_no_answer_while_waiting(
    knowledge_base: KnowledgeBase,
) -> None:
    """A follow-up on the entry just answered that the help centre says nothing more on
    would be told to ask for a person, whom the user already waits for."""
    context = Context(topic="fraud_scam", answered=True)
    asked = "那他还会再打过来吗"
    told = respond(knowledge_base, asked, context, ask_if_helped=False)
    assert [says_nothing_more(reply.text) for reply in told.answer.replies] == [True]
    assert while_waiting(knowledge_base, asked, context).move is WaitingMove.FOR_THE_AGENT


def test_a_pressed_choice_is_answered_and_another_button_waits(
    knowledge_base: KnowledgeBase,
) -> None:
    kb = fixed(knowledge_base, Decision.FALLBACK)
    chosen = while_waiting(kb, "", Context(), payload=clarify_payload("bind_card"))
    bind_card = knowledge_base.get("bind_card")
    assert chosen.move is WaitingMove.ANSWER and chosen.answer is not None
    assert bind_card is not None and chosen.answer.replies[0].text == bind_card.answer
    other = while_waiting(kb, "", Context(), payload="/affirm")
    assert other.move is WaitingMove.FOR_THE_AGENT
    # Older buttons under an earlier answer: the place in the queue; no form meanwhile.
    person = while_waiting(kb, "", Context(), payload=REQUEST_HUMAN)
    assert person.move is WaitingMove.QUEUE_PLACE
    ticket = while_waiting(kb, "", Context(), payload=OPEN_TICKET)
    assert ticket.move is WaitingMove.NO_FORM


# A person asked for with the problem told: the person, and the answer meanwhile.


def test_a_person_asked_for_with_a_problem_gets_the_answer_while_one_comes(
    knowledge_base: KnowledgeBase,
) -> None:
    kb = fixed(knowledge_base, Decision.ANSWER, "withdraw_failed")
    turn = respond(kb, "转人工，我的提现三天了还没到账", Context())
    assert turn.handoff is not None and not turn.handoff.urgent
    entry = knowledge_base.get("withdraw_failed")
    assert entry is not None
    texts = [reply.text for reply in turn.answer.replies]
    assert texts == [WHILE_A_PERSON_COMES, entry.answer]
    # The person is on the way: no 「转人工客服」「提交工单」 under the answer to read.
    assert all(not reply.buttons for reply in turn.answer.replies)


@pytest.mark.parametrize(
    ("text", "decision", "ids"),
    [
        ("转人工", Decision.ANSWER, ["withdraw_failed"]),  # no problem told
        ("转人工，我的提现三天了还没到账", Decision.CLARIFY, ["withdraw_failed", "fees"]),
        ("叫你们经理出来", Decision.ANSWER, ["contact_support"]),  # nothing of the wallet
    ],
)
def test_a_person_asked_for_gets_no_answer_the_kb_is_not_sure_of(
    knowledge_base: KnowledgeBase, text: str, decision: Decision, ids: list[str]
) -> None:
    turn = respond(fixed(knowledge_base, decision, *ids), text, Context())
    assert turn.handoff is not None
    assert not turn.answer.replies


# Leaving the queue: the ways of saying it, and without a KB.


@pytest.mark.parametrize(
    ("text", "says_more"),
    [
        ("算了不用了，我再等等看", False),
        ("哦不用了不用了，刚看到有一笔已经退回来了", True),
        ("不用不用", False),
        ("算了，我还是自己先把余额提出来再说", True),
        ("算了不用了，排队太久了。我就问一下账单怎么导出来", True),
        ("没事了 问题已经解决了", False),
        ("哦 找到了 不需要客服了 撤了吧", False),
        ("不用轉了，我自己弄好了", False),
        ("行 那我就不等人工了", False),
        ("不等了 太慢了", False),
        ("算了算了不麻烦人工了，你直接告诉我支付密码忘了怎么改就行", True),
    ],
)
def test_more_ways_of_leaving_the_queue(
    knowledge_base: KnowledgeBase, text: str, says_more: bool
) -> None:
    kb = fixed(knowledge_base, Decision.ANSWER, "transaction_history")
    turn = while_waiting(kb, text, Context())
    assert turn.move is WaitingMove.LEAVE_QUEUE
    assert turn.says_more is says_more


def test_the_queue_is_left_without_a_kb_and_the_rest_waits_for_the_agent() -> None:
    assert while_waiting(None, "不用人工了", Context()).move is WaitingMove.LEAVE_QUEUE
    assert while_waiting(None, "提现多久到账", Context()).move is WaitingMove.FOR_THE_AGENT
    assert while_waiting(None, "", Context(), payload=REQUEST_HUMAN).move is (
        WaitingMove.QUEUE_PLACE
    )


@pytest.mark.parametrize(
    "text",
    [
        "你们是不是不要客服了",
        "还没解决",
        "提现还没到 人工什么时候来",
        "我的问题解决了吗",
        "问题解决了没有 等了好久",
        "找到了 但是点不进去",
        "我撤回了转账 钱还没退",
        "不转了 手续费太贵",
    ],
)
def test_words_near_a_decline_do_not_leave_the_queue(
    knowledge_base: KnowledgeBase, text: str
) -> None:
    kb = fixed(knowledge_base, Decision.FALLBACK)
    assert while_waiting(kb, text, Context()).move is not WaitingMove.LEAVE_QUEUE
