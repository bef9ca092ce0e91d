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
from support.replies.vocabulary import (
    OPEN_TICKET,
    REQUEST_HUMAN,
    chosen_faq_id,
    says_nothing_more,
)

# What may come before a decline: 「哦」「算了算了」「太慢了」「先」.
_LEAD = (
    r"^(?:(?:哦|噢|喔|嗯|那|好吧|好的|行|没事了?|算了|太慢了|先|暂时|不用了|不用不用)"
    r"[\s,，。!！~]*)*(?:我)?(?:就|还是)?"
)
_CLAUSE_BREAK = re.compile(r"[\s,，。!！]+")
# The wait complained of: 「排这么久也没人」「等了半天」「人呢」.
_WAITED_IN_VAIN = re.compile(
    r"^(?:(?:排|等)(?:队|了)*[^，,。\s]{0,6}(?:没人|没有人|太久|好久|半天|这么久|那么久)[^，,。\s]{0,4}"
    r"|人呢|还没人|怎么还没人)$"
)
# Someone who did it themselves needs the person no more.
_SELF_SOLVED = r"自己(?:解决|弄好|搞定|处理好?)了"
# Solved meanwhile, said anywhere in the message: 「我自己弄好了」「没事了 问题已经解决了」
# 「哦 找到了」 (not 「还没解决」).
_SOLVED_MEANWHILE = re.compile(
    r"(?<![没未不])(?:自己|问题|已经|都)(?:已经)?(?:解决|弄好|搞定|处理好|找到|弄明白)了(?!吗|么|没|嘛)"
    r"|^(?:哦|噢|喔|嗯|啊)?[\s,，。!！~]*(?:找到了|搞定了|弄好了|解决了)(?!吗|么|没|嘛)"
)
# While waiting, the pending person is what a bare 「不用了」 turns down: 「哦不用了 我自己
# 点开明细看看」「算了算了不等了」「不用了谢谢」「太慢了 我不等了」「取消排队」. 「不要了，直接给
# 我退款」 and 「取消 自动续费在哪关」 turn down something else.
_NO_LONGER = re.compile(
    _LEAD + r"(?:不用了|不用啦|不用不用|不需要了|不用转(?:人工)?了|不等(?:人工|客服)?了|不想等了"
    r"|先不用了?|取消(?:排队|转人工|人工)|撤(?:了|回)?吧|撤(?:销|回)?(?:排队|人工)"
    rf"|{_SELF_SOLVED})(?:[\s,，。!！~]|谢谢|哈|吧|啦|了|$)"
)
# 「算了，我还是自己先把余额提出来再说」: the user will do it alone after all.
_ON_THEIR_OWN = re.compile(_LEAD + r"还是(?:我)?自己(?:来|先|弄|处理|搞|办|看|试|把|去)")
# A decline of a person that opens the message (「不用人工了 我就想知道……」), not one
# inside a complaint (「你们是不是不要客服了」).
_OPENS_WITH_A_NO = re.compile(
    _LEAD + r"(?:不用|不要|别|无需|不需要|不必|不想|不找|不转|不接|没必要|不麻烦)"
)
# What a decline may leave unsaid besides (「不用了 谢谢」): nothing for the bot to take.
_ONLY_THE_NO = re.compile(
    _LEAD + r"(?:(?:不用|不要|不需要|无需|不必|没必要|不想|不|取消)?(?:转|找|接|等)?"
    rf"(?:人工客服|人工|真人|客服|排队|了|啦|等了)*|{_SELF_SOLVED}|撤(?:了|回)?吧?)"
    r"[\s,，。!！~]*(?:谢谢|哈|吧|啦|了)*[\s,，。!！~]*"
    # The user's own plan after it: 「我再等等看」「我自己再看看」「回头再说吧」.
    r"(?:(?:我)?(?:再|先|自己)*(?:等等|等一等|等一下|看看|试试|找找)(?:看|吧|再说)?"
    r"|(?:下次|以后|回头|改天|过两天|明天)再说(?:吧)?|(?:排队|等(?:得)?)?太(?:慢|久)了)?[\s,，。!！~]*(?:谢谢|哈|吧|啦)*[\s,，。!！~]*$"
)


class WaitingMove(StrEnum):
    # 「不用人工了」「算了不等了」「没事了」: the user leaves the queue and the bot has them
    # back (with the message, if it says more).
    LEAVE_QUEUE = "leave_queue"
    # The same in an urgent case (fraud, theft): it stays, and the user is told why.
    STAYS_URGENT = "stays_urgent"
    # Money or a code handed over after the fraud told earlier: the urgent path.
    URGENT = "urgent"
    # 「人呢」「转人工」 again: where they stand in the queue.
    QUEUE_PLACE = "queue_place"
    # An old 「提交工单」 button: no form while waiting; the agent takes it down.
    NO_FORM = "no_form"
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
    # For LEAVE_QUEUE: whether the message says more than the decline (the bot takes it).
    says_more: bool = False


def _only_the_wait_besides(normal: str) -> bool:
    """「排这么久也没人 算了不等了」: the wait complained of, then the decline; nothing else
    for the bot to take."""
    clauses = [clause for clause in _CLAUSE_BREAK.split(normal) if clause]
    declined = [i for i, clause in enumerate(clauses) if _NO_LONGER.search(clause)]
    return (
        bool(declined)
        and all(_WAITED_IN_VAIN.match(clause) for clause in clauses[: declined[0]])
        and all(_ONLY_THE_NO.match(clause) for clause in clauses[declined[0] :])
    )


def no_longer_waits(text: str) -> bool:
    """Whether a user in the queue says they no longer need the person (「不用人工了」
    「哦不用了 我自己看看」「没事了 我自己解决了」)."""
    normal = signals.normalize(text)
    # 「排这么久也没人 算了不等了」: a complaint first, then the decline.
    later = [clause for clause in _CLAUSE_BREAK.split(normal)[1:] if clause]
    return (
        bool(_NO_LONGER.search(normal))
        # (Each clause must open with it: 「你们是不是不等了」 is no decline.)
        or any(_NO_LONGER.search(clause) for clause in later)
        or bool(_ON_THEIR_OWN.search(normal))
        # Solved meanwhile, unless asked (「我的问题解决了吗」) or still in trouble.
        or (
            bool(_SOLVED_MEANWHILE.search(normal))
            and not signals.read(text).asks
            and not signals.reports_trouble(normal)
        )
        # Opening with it, or anywhere but in a question (「你们是不是不要客服了」).
        or (
            signals.declines_person(text)
            and (bool(_OPENS_WITH_A_NO.search(normal)) or not signals.read(text).asks)
        )
        or signals.says_it_worked(text)
    )


def while_waiting(
    kb: KnowledgeBase | None,
    text: str,
    context: Context,
    *,
    payload: str | None = None,
    urgent_case: bool = False,
) -> WaitingTurn:
    """The bot's move for ``text`` (typed, redacted) or a pressed ``payload`` from a user
    in the queue. ``context`` is rebuilt from the transcript before this message.

    An urgent case (fraud, theft) is not left on a 「不用人工」: the person still calls.
    Without a KB (it failed to load) the user can still leave the queue; the rest waits
    for the agent.
    """
    if payload is not None:
        return _pressed(kb, payload)
    if no_longer_waits(text):
        if urgent_case:
            return WaitingTurn(WaitingMove.STAYS_URGENT)
        normal = signals.normalize(text)
        said = signals.read(text)
        solved = bool(_SOLVED_MEANWHILE.search(normal)) and not (
            said.asks or signals.reports_trouble(said.question)
        )
        says_more = not (
            _ONLY_THE_NO.match(normal)
            or signals.says_it_worked(text)
            or solved
            or _only_the_wait_besides(normal)
        )
        return WaitingTurn(WaitingMove.LEAVE_QUEUE, says_more=says_more)
    if kb is None:
        return WaitingTurn(WaitingMove.FOR_THE_AGENT)
    turn = respond(kb, text, context, ask_if_helped=False)
    if turn.handoff is not None:
        return WaitingTurn(WaitingMove.URGENT if turn.handoff.urgent else WaitingMove.QUEUE_PLACE)
    if turn.small_talk:
        pleasantry = signals.pleasantry_of(text)
        if pleasantry == "goodbye":
            return WaitingTurn(WaitingMove.GOODBYE)
        if pleasantry == "thank":
            return WaitingTurn(WaitingMove.THANKS)
        return WaitingTurn(WaitingMove.FOR_THE_AGENT)
    if (
        turn.answer.decision in (Decision.ANSWER, Decision.CLARIFY)
        and any(reply.kb for reply in turn.answer.replies)
        # 「帮助中心里没有比上面更具体的说明了，建议转人工」 is no answer to someone already
        # waiting for the person.
        and not all(says_nothing_more(reply.text) for reply in turn.answer.replies)
    ):
        return WaitingTurn(WaitingMove.ANSWER, _choices_only(turn.answer))
    return WaitingTurn(WaitingMove.FOR_THE_AGENT)


def _pressed(kb: KnowledgeBase | None, payload: str) -> WaitingTurn:
    """A button pressed while waiting: a choice is answered; an older 「转人工」 hears the
    place in the queue, 「提交工单」 that the agent takes it down."""
    if payload == REQUEST_HUMAN:
        return WaitingTurn(WaitingMove.QUEUE_PLACE)
    if payload == OPEN_TICKET:
        return WaitingTurn(WaitingMove.NO_FORM)
    faq = kb.get(chosen_faq_id(payload) or "") if kb is not None else None
    if faq is None:
        return WaitingTurn(WaitingMove.FOR_THE_AGENT)
    return WaitingTurn(WaitingMove.ANSWER, _choices_only(answer_faq(faq, ask_if_helped=False)))


def _choices_only(answer: Answer) -> Answer:
    """The answer with the FAQ choices as its only buttons: 「转人工」 and 「提交工单」
    mean nothing to a user already waiting for a person."""
    replies = tuple(
        replace(reply, buttons=tuple(b for b in reply.buttons if chosen_faq_id(b.payload)))
        for reply in answer.replies
    )
    return replace(answer, replies=replies)
