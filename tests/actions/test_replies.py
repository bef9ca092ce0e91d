"""The one answering module: what the action server and the gateway's degraded mode say."""

from __future__ import annotations

from kb.knowledge_base import Candidate, Decision, KnowledgeBase, QueryResult
from support.escalations.schemas import RECENT_MESSAGES, EscalationRequest
from support.replies.answering import Answer, Reply, answer_faq, answer_query, briefly
from support.replies.vocabulary import (
    CLARIFY_ONE_PROMPT,
    FEEDBACK_BUTTONS,
    HELPED_QUESTION,
    PERSON_BUTTON,
    TICKET_OR_HUMAN,
    chosen_faq_id,
    clarify_payload,
)
from support.tokens import hash_token, token_matches


def test_an_answer_asks_whether_it_helped_only_when_someone_can_take_the_reply(
    knowledge_base: KnowledgeBase,
) -> None:
    result = knowledge_base.query("怎么注销账户")
    with_rasa = answer_query(result, query="怎么注销账户")
    alone = answer_query(result, query="怎么注销账户", ask_if_helped=False)
    assert with_rasa.decision is alone.decision is Decision.ANSWER
    answer, question = with_rasa.replies
    assert (question.text, question.buttons) == (HELPED_QUESTION, FEEDBACK_BUTTONS)
    (only,) = alone.replies
    assert only.text == answer.text
    assert only.buttons == TICKET_OR_HUMAN
    # The KB's decision goes with the answer, the message users rate.
    assert answer.kb == only.kb
    assert answer.kb is not None
    assert answer.kb["decision"] == "answer"


def test_clarify_buttons_lead_back_to_the_faq(knowledge_base: KnowledgeBase) -> None:
    answer = answer_query(knowledge_base.query("密码"), query="密码")
    (reply,) = answer.replies
    assert answer.decision is Decision.CLARIFY
    assert len(reply.buttons) == 3
    picked = chosen_faq_id(reply.buttons[0].payload)
    assert picked is not None
    faq = knowledge_base.get(picked)
    assert faq is not None
    assert reply.buttons[0].title == faq.question
    assert answer_faq(faq).replies[0].text == faq.answer


def test_one_plausible_question_is_offered_as_a_question_with_a_way_out(
    knowledge_base: KnowledgeBase,
) -> None:
    faq = knowledge_base.faqs[0]
    only = Candidate(faq, score=0.4, dense=0.4, lexical=0.0)
    answer = answer_query(QueryResult(Decision.CLARIFY, [only], 1.0), query="那个怎么弄")
    (reply,) = answer.replies
    # Not 「哪一个」 over a list of one: is it this one, and a person if it is not.
    assert reply.text == CLARIFY_ONE_PROMPT
    assert [chosen_faq_id(b.payload) for b in reply.buttons] == [faq.id, None]
    assert reply.buttons[1] == PERSON_BUTTON


def test_a_button_payload_is_not_recorded_as_a_question(knowledge_base: KnowledgeBase) -> None:
    answer = answer_query(knowledge_base.query("/p3"), query=None)
    assert all(reply.kb is None for reply in answer.replies)


def test_the_clarify_payload_round_trips() -> None:
    assert chosen_faq_id(clarify_payload("topup_delay")) == "topup_delay"
    assert chosen_faq_id("/ask_faq{not json") is None
    assert chosen_faq_id("/open_ticket") is None
    assert chosen_faq_id(None) is None


def test_an_escalation_keeps_the_last_things_the_user_said() -> None:
    said = [f"第{n}句" for n in range(1, 8)] + ["  "]
    request = EscalationRequest.from_user_texts(
        conversation_id="c1", channel="web", reason="用户要求转人工", user_texts=said
    )
    assert list(request.last_messages) == said[-1 - RECENT_MESSAGES : -1]


def test_a_token_matches_only_its_own_hash() -> None:
    stored = hash_token("secret")
    assert token_matches("secret", stored)
    assert not token_matches("guess", stored)
    assert not token_matches("secret", None)


def test_only_a_whole_answer_is_said_briefly(knowledge_base: KnowledgeBase) -> None:
    """The short version replaces the entry's answer, and nothing else: not a follow-up
    that quotes one part of it, not a clarify list, not an entry without a short version."""
    faq = knowledge_base.get("close_account")
    assert faq is not None
    short = faq.model_copy(update={"wechat_answer": "简短的回答"})
    faq_of = {faq.id: short}.get
    answered = answer_faq(faq)
    brief = briefly(answered, faq_of)
    assert [reply.text for reply in brief.replies] == [
        "简短的回答",
        *[reply.text for reply in answered.replies[1:]],
    ]
    assert brief.replies[0].kb == answered.replies[0].kb

    meta = {"decision": "answer", "faq_id": faq.id}
    part = Answer(Decision.ANSWER, (Reply("注销前需要先提现。", kb=meta),))
    assert briefly(part, faq_of) == part
    offered = Answer(Decision.CLARIFY, (Reply(faq.answer, kb={**meta, "decision": "clarify"}),))
    assert briefly(offered, faq_of) == offered
    assert briefly(answered, {faq.id: faq}.get) == answered
    # A button's payload answered without the KB's metadata: the entry ranked first.
    bare = Answer(Decision.ANSWER, (Reply(faq.answer),), [{"id": faq.id}])
    assert [reply.text for reply in briefly(bare, faq_of).replies] == ["简短的回答"]
