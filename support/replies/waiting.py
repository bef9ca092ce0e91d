"""What the bot does for a user who waits in the queue for a person.

The bot is paused for the conversation (the agent will answer it), but a queue may take
minutes, and a user who asks 「人工来之前我先问一下，跨境汇款手续费怎么算」 or 「要去报警吗」
meanwhile should not be met with silence. Until an agent takes the case, the help
centre still answers what it can; a user who no longer wants a person leaves the queue;
one who asks for a person again is told where they stand. The urgent path (money or a
secret gone) is the gateway's own (support.conversations.flows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from kb.knowledge_base import Decision, KnowledgeBase
from support.replies import signals
from support.replies.answering import Answer, answer_faq
from support.replies.turns import Context, respond
from support.replies.vocabulary import chosen_faq_id

# While waiting, the pending person is what a bare 「不用了」 turns down: 「哦不用了 我自己
# 点开明细看看」「算了不等了」「取消排队」.
_NO_LONGER = re.compile(
    r"^(?:哦|噢|喔|嗯|那|好吧|好的|行|算了)?[\s,，。!！~]*(?:算了)?[\s,，]*"
    r"(?:不用了|不需要了|不要了|不等了|先不用了?|取消(?:排队|转人工|人工)?)"
    r"(?:[\s,，。!！~]|$)"
)


class WaitingMove(StrEnum):
    # 「不用人工了」「算了不等了」: the user leaves the queue and the bot has them back.
    LEAVE_QUEUE = "leave_queue"
    # 「人呢」「转人工」 again: where they stand in the queue.
    QUEUE_PLACE = "queue_place"
    # A question the help centre answers or narrows to a few choices.
    ANSWER = "answer"
    # 「谢谢」: a word back.
    THANKS = "thanks"
    # 「拜拜」: a word back; the case stays in the queue.
    GOODBYE = "goodbye"
    # Anything else waits for the agent.
    FOR_THE_AGENT = "for_the_agent"


@dataclass(frozen=True)
class WaitingTurn:
    move: WaitingMove
    # For ANSWER: the help centre's answer (its choice buttons only).
    answer: Answer | None = None


def while_waiting(
    kb: KnowledgeBase,
    text: str,
    context: Context,
    *,
    payload: str | None = None,
    urgent_case: bool = False,
) -> WaitingTurn:
    """The bot's move for ``text`` (typed, redacted) or a pressed ``payload`` from a user
    in the queue. ``context`` is rebuilt from the transcript before this message.

    An urgent case (fraud, theft) is not left on a 「不用人工」: the person still calls.
    """
    if payload is not None:
        faq = kb.get(chosen_faq_id(payload) or "")
        if faq is None:
            return WaitingTurn(WaitingMove.FOR_THE_AGENT)
        return WaitingTurn(WaitingMove.ANSWER, _choices_only(answer_faq(faq, ask_if_helped=False)))
    no_longer = signals.declines_person(text) or bool(_NO_LONGER.search(signals.normalize(text)))
    if no_longer and not urgent_case:
        return WaitingTurn(WaitingMove.LEAVE_QUEUE)
    turn = respond(kb, text, context, ask_if_helped=False)
    if turn.handoff is not None:
        return WaitingTurn(WaitingMove.QUEUE_PLACE)
    if turn.small_talk:
        pleasantry = signals.pleasantry_of(text)
        if pleasantry == "goodbye":
            return WaitingTurn(WaitingMove.GOODBYE)
        if pleasantry == "thank":
            return WaitingTurn(WaitingMove.THANKS)
        return WaitingTurn(WaitingMove.FOR_THE_AGENT)
    if turn.answer.decision in (Decision.ANSWER, Decision.CLARIFY) and any(
        reply.kb for reply in turn.answer.replies
    ):
        return WaitingTurn(WaitingMove.ANSWER, _choices_only(turn.answer))
    return WaitingTurn(WaitingMove.FOR_THE_AGENT)


def _choices_only(answer: Answer) -> Answer:
    """The answer with the FAQ choices as its only buttons: 「转人工」 and 「提交工单」
    mean nothing to a user already waiting for a person."""
    replies = tuple(
        replace(reply, buttons=tuple(b for b in reply.buttons if chosen_faq_id(b.payload)))
        for reply in answer.replies
    )
    return replace(answer, replies=replies)
