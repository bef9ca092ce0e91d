"""One user message understood in its conversation, and what the bot does about it.

The order is the order of urgency: 「都不是」 or a pick from the options just offered;
fraud or theft (safety steps, a person at once); a request for a person anywhere in the
message; 「还是不行」 right after an answer (a person offered); small talk with no
question in it; then the question itself (only anger and no question: an apology and a
person), read with the
conversation's topic (「那要多久？」 after a top-up answer), clause by clause when the
message says several things, never answered twice with the same text, with an apology
and a person offered when the user is angry.

Shared by the action server (context from Rasa's slots) and the gateway's degraded mode
(context rebuilt from the stored transcript), so both behave alike.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kb.content import FAQ
from kb.knowledge_base import CLARIFY_OPTIONS, Candidate, Decision, KnowledgeBase, QueryResult
from kb.text import canonicalize, normalize
from support.replies import signals as understanding
from support.replies.answering import (
    Answer,
    Reply,
    answer_faq,
    answer_query,
    handoff_candidates,
    kb_metadata,
)
from support.replies.signals import Signals
from support.replies.vocabulary import (
    APOLOGY,
    APOLOGY_PERSON,
    HELPED_QUESTION,
    HUMAN_FIRST,
    KEEP_SECRETS,
    NO_SUCH_OPTION,
    NONE_OF_THESE,
    NOT_SOLVED,
    NOT_SOLVED_TICKET,
    NOT_THIS_ANSWER,
    NOTHING_MORE,
    NOTHING_MORE_ON,
    NOTHING_MORE_TOLD,
    NOTHING_TO_PICK,
    OFF_TOPIC,
    OTHER_QUESTION,
    OTHER_QUESTIONS,
    PERSON_BUTTON,
    PICK_FIRST,
    RELEVANT_PART,
    RULED_OUT,
    SAFETY_BRIEF,
    SAFETY_STEPS,
    SCAM_WARNING,
    TICKET_OR_HUMAN,
    WHAT_NOW,
    WHAT_NOW_STEPS,
    WHILE_A_PERSON_COMES,
    Button,
    HandoffReason,
    chosen_faq_id,
    clarify_payload,
)

# Intents whose usual reply is a pleasantry; a question inside them is answered instead.
SMALL_TALK_INTENTS = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "cancel"}
)
# The NLU intent for messages about something other than the wallet.
OFF_TOPIC_INTENT = "out_of_scope"
# Words of the service, a merchant or a purchase: not off the wallet's topic.
_OURS_OR_A_SHOPS = re.compile(
    r"发票|投诉|客服|你们|公司|商家|商户|店家|卖家|订单|退货|退款|发货|红包|优惠|券|积分|会员|账单|扣费|收费"
)
# The head's "none of these" above this is likelier than every entry together.
SURELY_UNCOVERED = 0.5
# At most this many clauses of one message are looked up on their own.
MAX_CLAUSES = 10
# Other questions of one message offered as buttons besides the one answered.
MAX_OTHER_QUESTIONS = 2
# A typed number beyond this is no pick from a list (WeChat numbers at most nine).
MAX_OPTION_NUMBER = 9
# A follow-up this short is quoted back when the FAQ says nothing more on it.
MAX_QUOTED = 10
# What a follow-up is about, without the words that mark it as one: 「那能看到利息吗」
# is quoted back as 「能看到利息」.
_FOLLOW_UP_MARKS = re.compile(
    r"^(?:那么|那个|那|所以|还有|然后|另外|请问)+|(?:是不是|是吗|吗|呢|啊|呀|吧|(?<![什怎这那多])么|嘛|哦)+$"
)
# A message this long (after greetings and requests) may describe an option just offered
# (「登不进app那个」); a longer one is a question of its own.
MIN_DESCRIPTION = 3
MAX_DESCRIPTION = 16
# How such a description ends: 「付钱时输的那个」「充值的」「登录用的那种」.
_POINTING = re.compile(r"(?:的|那个|这个|那种|这种|那项|那条|那一个)(?:吧|啊|呀|呢)?$")
# 「两个都是的」 points at more than one option, 「没有我要的那个」 at none; 「没到账的」
# describes one (a denial, 「我说的不是这个」, is read by ``understanding.denies``).
_NOT_ONE_OPTION = re.compile(r"没有(?:我|你|这|那)|都|两个|全部")
# The option described must score at least this share of an entry the KB would answer
# instead.
MIN_DESCRIBED_SHARE = 0.5
# When the KB falls back on the words, the option must still score this share of the
# clarify threshold.
WEAKEST_DESCRIBED_SHARE = 0.9
# Aspects that are subjects of their own entries (limits, fees, rates): asked after a
# topic that says nothing of them, the entry on them may.
# 「最多能汇多少」 asks for a limit too; 「最多要等多少天」 asks for a time, which any entry has.
_CURRENCY_NAME = (
    r"(?:美|欧|日|韩|港|澳|加|台|新加坡|新西兰)(?:元|币)|新币|马币|美金|人民币|英镑|泰铢|越南盾"
    r"|卢布|卢比|林吉特|比索|法郎|瑞郎|里拉|兰特|外币|币种|货币|currenc"
)
_OWN_SUBJECT_ASPECT = re.compile(
    r"限额|上限|额度|最多.{0,4}多少(?![天小分秒久])|手续费|费用|收费|扣费|汇率|" + _CURRENCY_NAME
)
# A category with at most this many entries tells which of a list a follow-up means.
MAX_SIBLINGS = 4
# 「转账的」「信用卡的」: a message this short ending in 的 narrows the topic down.
MAX_NARROWING = 6
# A follow-up this short (or starting with 那…, ending in 呢) may lean on the topic.
ELLIPTICAL_LENGTH = 12
# 「那怎么办」「然后呢」 right after an answer: the user asks what to do, and the answer
# just given is the help center's way; it is said so, not 「nothing more on 那怎么办」.
_WHAT_NOW = re.compile(
    r"^(?:那|那我|那我们|我|那现在|现在|所以|然后)?(?:应该|该|要|得)?"
    r"(?:怎么办|咋办|咋整|怎么整|怎么弄|咋弄|怎么搞|怎么处理|如何处理|怎么做|咋做|怎么解决|如何解决"
    r"|然后呢|接下来呢|接下来怎么做|下一步呢|下一步怎么做|之后呢)(?:呀|啊|呢|啦|了)?$"
)
# An answer that lists steps: 「1. …」 or 「第一步」.
_HAS_STEPS = re.compile(r"(?m)^\s*(?:\d+[.、)）]|第[一二三1-3]步)")
# Words that point back to what was just answered: 「里面还有钱怎么办」 after closing the
# account, 「这个要手续费吗」.
_ELLIPTICAL_START = (
    "那",
    "然后",
    "接下来",
    "下一步",
    "还有",
    "另外",
    "这个",
    "这样",
    "它",
    "里面",
    "上面",
    "刚才说的",
    "你刚才说的",
    # 「是不是因为五一放假的原因啊」: a guess at the cause of the case just answered.
    "是不是因为",
    "会不会是因为",
    "难道是因为",
    "then",
    "and ",
    "what about",
    "how about",
)

_OVERDUE = re.compile(
    r"都[^，。]{0,4}(?:小时|天|分钟|礼拜|星期)了|过了[^，。]{0,6}(?:小时|天)|超过|超时|还没到"
)
# What a follow-up asks about, and the words of the answer that speak to it.
_ASPECTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), cues)
    for pattern, cues in (
        (
            r"多久|多长时间|什么时候|几天|几个小时|几分钟|时效|how long|when",
            (
                "分钟",
                "小时",
                "天",
                "工作日",
                "时效",
                "时间",
                "多久",
                "延迟",
                "尽快",
                "稍等",
                "何时",
            ),
        ),
        # Past the time it should take: 「都半小时了」「现在都过了24小时了」.
        (_OVERDUE.pattern, ("超过", "超时", "仍未", "迟迟", "未到账")),
        (
            r"为什么|为啥|什么原因|原因|怎么回事|(?:是不是|是)因为|因为什么|因为啥|why",
            ("原因", "因为", "常见于", "常见"),
        ),
        (r"手续费|费用|收费|多少钱|免费|扣费|扣钱", ("手续费", "费", "免费")),
        (r"限额|上限|最多|额度|limit", ("限额", "额度", "上限", "最多")),
        # A small charge nobody asked for: 「绑完发现被扣了0.01」 (a card check's test debit).
        (r"被扣|扣了|扣款|扣掉|扣我", ("扣款", "扣费", "扣除", "扣了")),
        (r"提额|调高|提高|提升|上调", ("提高", "提额", "调高")),
        # Whether it is worth it: 「有必要开吗」 after the two-step answer (「建议开启」).
        (r"有必要|必要吗|值得|要不要开|需不需要开|建议|推荐", ("建议", "推荐", "必要")),
        # The other side will not help: 「对方不还」 after the wrong-recipient answer.
        (
            r"不还|不退|不肯|不给退|拒绝|不配合|联系不上|不理我|拉黑",
            ("不肯", "不还", "不退", "联系不上", "不配合", "拒绝"),
        ),
        (r"兑换|换成|互换|互相换|换汇|换钱", ("兑换", "汇率")),
        # A currency by name: 「那能存新加坡元吗」「泰铢呢」; an amount (「100元」) is none.
        (_CURRENCY_NAME, ("币种", "货币", "外币")),
        # Where to find it: the sentence with the App's menus 「设置」→「安全中心」.
        (r"在哪|哪里|哪儿|入口|找不到", ("→", "「", "入口")),
        # What to bring: the sentence naming documents.
        (r"材料|资料|证件|证明|要准备|准备什么|带什么", ("材料", "资料", "证件", "身份证", "证明")),
        (r"汇率", ("汇率",)),
        (r"关掉|关闭|关了|停用|取消掉", ("关闭", "停用", "取消")),
        # Where to keep something: 「它能存在微信收藏里吗」 after the mnemonic answer.
        (r"(?:存|保存|放|记|藏)(?:在|到|进)|收藏|备份到", ("存进", "存在", "保存", "保管", "截图")),
        # Money left somewhere: 「里面还有几十块钱怎么办」「剩下的钱呢」.
        (
            r"还有[^，,。]{0,6}(?:钱|块|元)|剩[下的余]?[^，,。]{0,4}(?:钱|块|元)|余额",
            ("余额", "剩余"),
        ),
        (r"解绑|删|移除|取消绑定", ("解绑", "删除", "移除")),
        (r"导出|下载|保存|打印", ("导出", "下载", "保存")),
        (r"邮件|邮箱|短信|收不到", ("邮件", "邮箱", "短信", "收不到")),
        (r"停机|停用|不用了|丢了|换号", ("停用", "不可用", "停机", "无法接收")),
        (r"退回|退到|原路|会退(?!出)|能退|退吗|退不退", ("退回", "原路", "退还")),
        # Whether to trust someone or something: the sentence that warns (「都是骗局」).
        (
            r"靠谱|可信|可靠|能信|信得过|是真的(?:吗|么)|真的假的|正规",
            ("骗局", "诈骗", "不要相信", "冒充"),
        ),
        (r"找回|找得回|恢复", ("找回", "恢复")),
        (r"截图|截屏|拍照|拍下来", ("截图", "截屏", "拍照")),
        (r"失败|[不未没]成功|驳回|被拒", ("失败", "被拒", "驳回", "原因")),
    )
)
# A detail of the user's case, told with 「是」: 「是建行的卡」「金额是五千」「用的是招行信用卡」.
_DETAIL = re.compile(
    r"^(?:就|都)?(?:是|用的是?|我用的是?|(?:金额|钱|卡|银行|账户|账号|订单|手机|地区|国家)(?:是|在))"
    r"[^?？吗呢么嘛]{1,14}$"
)


def _gives_a_detail(question: str) -> bool:
    return _DETAIL.match(_bare(question)) is not None and not understanding.asks(question)


# A pick that names no option: 「上面那个」「就这个吧」 after a list.
_POINTS_AT_THE_LIST = re.compile(
    r"^(?:就是?|选|要)?(?:上面|上边|前面|刚才|列表里)?的?(?:那个|这个|那条|这条|那项|的)(?:吧|啊|呀|问题)?$"
)
_SENTENCES = re.compile(r"(?<=[。！？；])|\n")


@dataclass(frozen=True)
class Context:
    """What the bot keeps of the conversation between turns."""

    # The FAQ answered last: what an elliptical follow-up is about.
    topic: str | None = None
    # The FAQs of the last clarify list, in order: what 「1」 or 「第二个」 picks.
    offered: tuple[str, ...] = ()
    fallback_streak: int = 0
    # Fraud or theft came up: a later handoff is urgent.
    urgent: bool = False
    # The user was angry: a later handoff says so.
    frustrated: bool = False
    # The bot's last reply was an answer: what 「还是不行」 is about.
    answered: bool = False
    # The topic before this one: after 「怎么提现」「要手续费吗」, 「大概几天能到」 is still
    # about the withdrawal, which the fees answer says nothing of.
    earlier: str | None = None
    # The list before the reply just given, when that reply listed nothing: 「1」 after a
    # side question (「卡的问题」, then 「绑卡要手续费吗」) still picks from it.
    listed_before: tuple[str, ...] = ()
    # What the user said that got the list in ``offered``, or no answer: 「提现的」 to the
    # list for 「没到账」 narrows that question, to an entry the list may not hold.
    asked: str = ""

    def earlier_after(self, topic: str | None) -> str | None:
        """The topic before ``topic`` once the conversation moves to it."""
        return self.topic if topic != self.topic else self.earlier


@dataclass(frozen=True)
class HandoffPlan:
    reason: HandoffReason
    urgent: bool
    # What the agent sees as the user's question (the message without 「转人工」).
    question: str


@dataclass(frozen=True)
class Turn:
    answer: Answer
    context: Context
    handoff: HandoffPlan | None = None
    # Nothing to answer: the caller replies with its own pleasantry.
    small_talk: bool = False
    signals: Sequence[str] = field(default_factory=tuple)
    # The user asked for a ticket besides the question: the caller starts the form.
    opens_ticket: bool = False


def respond(
    kb: KnowledgeBase,
    text: str,
    context: Context,
    *,
    intent: str | None = None,
    ask_if_helped: bool = True,
) -> Turn:
    """What to do with the user's typed ``text`` (already redacted)."""
    turn = _respond(kb, text, context, intent=intent, ask_if_helped=ask_if_helped)
    return replace(turn, context=_with_list_before(context, turn))


def _with_list_before(before: Context, turn: Turn) -> Context:
    """The list a number may still pick from after this turn: the one just shown if the
    turn listed nothing, and none once the user turned the list down."""
    after = turn.context
    if after.offered or "none_of_these" in turn.signals:
        return replace(after, listed_before=())
    return replace(after, listed_before=before.offered)


def _respond(
    kb: KnowledgeBase, text: str, context: Context, *, intent: str | None, ask_if_helped: bool
) -> Turn:
    said = understanding.read(text)
    # 「都不是」 to a list, or 「不是这个问题」 to an answer.
    if (context.offered or context.answered) and understanding.rejects_options(text):
        return _none_of_these(context)
    # Fraud came up before, and now the user says the money or the code is gone.
    in_danger = said.urgent or (context.urgent and said.complied)
    chosen = None if in_danger else _chosen(kb, text, context, said)
    if chosen is not None:
        faq, how = chosen
        answer = answer_faq(faq, ask_if_helped=ask_if_helped)
        return Turn(answer, _after(context, answer, faq.id), signals=(how,))
    if not in_danger and (
        understanding.numbered_choice(text, MAX_OPTION_NUMBER) is not None
        or understanding.is_bare_number(text)
    ):
        return _no_such_option(context)
    if context.offered and _POINTS_AT_THE_LIST.match(said.text):
        # 「上面那个」 to a list of three: which one is not said; the list again.
        return _pick_first(kb, said.text, context)
    urgent = in_danger or ((context.urgent or said.approached) and said.wants_person)
    if in_danger:
        return _urgent(kb, said, context)
    if said.wants_person:
        reason = HandoffReason.URGENT if urgent else _reason_for(context, said)
        meanwhile = () if urgent else _before_the_person(kb, said, context)
        return _handoff(context, said, reason, urgent=urgent, replies=meanwhile)
    if (
        said.frustrated
        and context.frustrated
        # 「我要投诉，给我提个工单」 asks for the form, not for a person.
        and not said.opens_ticket
        and (not understanding.is_real_question(said) or understanding.only_accuses(said))
    ):
        # Angry again with nothing new to look up (「回话啊」, then 「我要投诉你们」): the
        # apology and the button were not enough; a person now.
        return _handoff(context, said, HandoffReason.FRUSTRATION, urgent=False)
    if (
        said.not_solved
        and (
            not understanding.names_a_subject(said.question)
            or understanding.tried_then_still(said.text)
        )
    ) or (
        # 「选了原号码不可用，身份证也传了，一个礼拜了还没审核完」 after the answer on it
        # (「提现两天了还没到卡上」 after the top-ups is another matter).
        context.answered
        and not said.asks
        and understanding.still_stuck(said.text)
        and not _sure_of_another(kb, said.question or said.text, context)
    ):
        if context.answered:
            return _not_solved(kb, said, _back_on(context, said.text))
        if context.topic and context.fallback_streak:
            # 「还是不行」 again, after 「上面的办法没能解决……建议转人工」: a person now.
            return _handoff(context, said, HandoffReason.BOT_FALLBACK, urgent=False)
    if said.offers_secret or _offers_the_topic(kb, said, context):
        return _keep_it(kb, said, context, ask_if_helped)
    if _is_small_talk(said, intent):
        return Turn(_no_answer(context), context, small_talk=True)
    # The NLU's word that the message is about something else, unless a wallet term says
    # otherwise (「王者荣耀怎么充值点券」 may still be a wallet payment) or it speaks of
    # us, a shop or an order (「能开发票吗」「商家不发货」): questions a person can take.
    normal = normalize(said.text)
    off_topic = (
        intent == OFF_TOPIC_INTENT
        and not understanding.has_domain_term(normal)
        and not _OURS_OR_A_SHOPS.search(normal)
    )
    return _answer(kb, said, context, ask_if_helped, off_topic=off_topic)


def _offers_the_topic(kb: KnowledgeBase, said: Signals, context: Context) -> bool:
    """「能不能直接发给你们帮我保存」 right after the answer on mnemonics: the secret the
    topic is about, offered to us without being named."""
    topic = kb.get(context.topic) if context.answered and context.topic else None
    return (
        topic is not None
        and understanding.names_a_secret(understanding.normalize(topic.question))
        and understanding.offers_us(said.text)
    )


def _keep_it(kb: KnowledgeBase, said: Signals, context: Context, ask_if_helped: bool) -> Turn:
    """A secret offered to us: keep it. A question besides (「我把验证码发给你们吧，另外
    提现多久到账」) is answered after that."""
    keep = Reply(KEEP_SECRETS)
    if said.offers_secret and understanding.is_real_question(said):
        turn = _answer(kb, said, context, ask_if_helped)
        answer = replace(turn.answer, replies=(keep, *turn.answer.replies))
        return replace(turn, answer=answer, signals=("keep_secret", *turn.signals))
    # No KB decision to record: the topic stays, and 「好的」 next is no reply to a miss.
    answer = Answer(Decision.FALLBACK, (keep,), [], context.fallback_streak)
    return Turn(answer, replace(context, offered=(), answered=False), signals=("keep_secret",))


# Asking what to do next: 「那怎么办」「然后呢」.
_NEXT = re.compile(r"怎么办|咋办|怎么弄|咋弄|怎么处理|然后呢|下一步|接下来")


def _pick_first(kb: KnowledgeBase, question: str, context: Context) -> Turn:
    """「那怎么办」「要准备什么材料」 right after a clarify list: a follow-up to one of the
    options, not yet chosen. The list again, rather than a fallback on three words."""
    offered = [faq for faq in (kb.get(faq_id) for faq_id in context.offered) if faq is not None]
    buttons = tuple(Button(faq.question, clarify_payload(faq.id)) for faq in offered)
    # Recorded as a clarify, so that the transcript (degraded mode) keeps the list too.
    meta = kb_metadata(Decision.CLARIFY, question)
    answer = Answer(
        Decision.CLARIFY, (Reply(PICK_FIRST, buttons, meta),), [], context.fallback_streak
    )
    return Turn(answer, replace(context, answered=False), signals=("pick_first",))


def _none_of_these(context: Context) -> Turn:
    """「都不是」 to a clarify list, 「不是这个问题」 to an answer: ask again in other words,
    or a person.

    No KB decision is recorded (「都不是」 is no question for the analytics), so the
    misses in a row stay as they were, here and in the degraded mode alike."""
    text = NONE_OF_THESE if context.offered else NOT_THIS_ANSWER
    answer = Answer(Decision.FALLBACK, (Reply(text, TICKET_OR_HUMAN),), [], context.fallback_streak)
    # An answer the user says missed was about no topic of theirs.
    topic = context.topic if context.offered else None
    kept = replace(context, topic=topic, offered=(), answered=False)
    return Turn(answer, kept, signals=("none_of_these",))


def _no_such_option(context: Context) -> Turn:
    """A bare 「3」 that picks nothing: no list, or not that many options on it. Not a
    goodbye or a question to look up: say what can be picked, and keep the list."""
    count = len(context.offered)
    numbers = "1" if count == 1 else f"1–{count} 中的一个数字"
    text = NO_SUCH_OPTION.format(count=count, numbers=numbers) if count else NOTHING_TO_PICK
    # No buttons: a digit typed next picks among the bot's last buttons (the gateway's
    # _typed_choice), and those must stay the options the user is choosing from.
    answer = Answer(Decision.FALLBACK, (Reply(text),), [], context.fallback_streak)
    return Turn(answer, context, signals=("no_such_option",))


def _not_solved(kb: KnowledgeBase, said: Signals, context: Context) -> Turn:
    """「还是不行」 right after an answer: not another FAQ, but a person first, and the
    answered FAQ's ticket category ready. Recorded as a miss of that FAQ.

    「试了还是不行 给我提交个工单」 asks for the ticket itself: the form begins, with
    that category, instead of the buttons."""
    faq = kb.get(context.topic) if context.topic else None
    category = faq.category.value if faq is not None and faq.escalate == "ticket" else None
    streak = context.fallback_streak + 1
    meta = kb_metadata(Decision.FALLBACK, said.question or said.text, faq)
    replies: tuple[Reply, ...] = (
        (Reply(NOT_SOLVED_TICKET, (), meta),)
        if said.opens_ticket
        else (Reply(NOT_SOLVED, HUMAN_FIRST, meta),)
    )
    if said.frustrated:
        replies = (Reply(APOLOGY), *replies)
    answer = Answer(Decision.FALLBACK, replies, [], streak, ticket_category=category)
    kept = replace(
        context,
        offered=(),
        fallback_streak=streak,
        frustrated=context.frustrated or said.frustrated,
        answered=False,
    )
    signals = ("not_solved", "ticket") if said.opens_ticket else ("not_solved",)
    return Turn(answer, kept, signals=signals, opens_ticket=said.opens_ticket)


def _back_on(context: Context, text: str) -> Context:
    """「回到刚才闪退那个 … 还是一点就退」 after a side question: what failed is the topic
    before the side question, not the answer just given."""
    if context.earlier and understanding.returns_to_earlier(understanding.normalize(text)):
        return replace(context, topic=context.earlier, earlier=context.topic)
    return context


def _sure_of_another(kb: KnowledgeBase, question: str, context: Context) -> bool:
    """Whether the KB, reading the message alone, is sure of an entry besides the topic."""
    result = kb.query(question)
    return result.decision is Decision.ANSWER and _top_id(result) != context.topic


def _chosen(
    kb: KnowledgeBase, text: str, context: Context, said: Signals
) -> tuple[FAQ, str] | None:
    """An option picked from a list (「2」「付钱时输的那个」), or the entry meant instead
    of the answer just given, with the signal that says which."""
    picked = _picked(kb, text, context, said) or _picked_before(kb, text, context, said)
    if picked is not None:
        return picked, "choice"
    meant = _meant_instead(kb, said, context)
    return (meant, "corrected") if meant is not None else None


def _picked(kb: KnowledgeBase, text: str, context: Context, said: Signals) -> FAQ | None:
    if not context.offered or said.wants_person or said.urgent:
        return None
    offered = [faq for faq in (kb.get(faq_id) for faq_id in context.offered) if faq is not None]
    if len(offered) == 1 and understanding.affirms(text):  # 「是的」 to 「是不是这个问题？」
        return offered[0]
    index = understanding.choice(text, [faq.question for faq in offered])
    if index is not None:
        return offered[index]
    return _corrected(kb, said, offered) or _described(kb, said, offered)


def _corrected(kb: KnowledgeBase, said: Signals, offered: Sequence[FAQ]) -> FAQ | None:
    """「不是登录那个 我说的是付钱时候要输的那串数字」: the option the words after the denial
    name or describe, among the options the denial leaves."""
    parts = understanding.correction(said.text)
    if parts is None or said.frustrated:
        return None
    denied, meant = parts
    questions = [faq.question for faq in offered]
    ruled_out = understanding.choice(denied, questions)
    # Positions count in the list as shown: 「不是第一个，是第二个」.
    index = understanding.choice(meant, questions)
    if index is not None:
        return offered[index] if index != ruled_out else None
    # The user names what they meant: an entry the KB is sure of besides the options is
    # that, not an option that happens to be near it (「不是这个 是充值失败」).
    left = [faq for i, faq in enumerate(offered) if i != ruled_out]
    return _describes(kb, meant, left, min_share=1.0)


def _meant_instead(kb: KnowledgeBase, said: Signals, context: Context) -> FAQ | None:
    """「不是这个 我说的是付款时候输的那个六位的」 right after an answer: the entry the words
    after the denial point to, when the KB ranks it first for them with an answer's score
    and lead (a description is often too short for the head, which may hold it back),
    and it is not the entry just answered."""
    if not context.answered or context.offered or context.topic is None:
        return None
    parts = understanding.correction(said.text)
    if parts is None or said.frustrated or said.wants_person:
        return None
    result = kb.query(parts[1])
    top = result.top
    if top is None or top.id == context.topic or result.outside > SURELY_UNCOVERED:
        return None
    return top.faq if result.decision is Decision.ANSWER or result.held_back else None


def _picked_before(kb: KnowledgeBase, text: str, context: Context, said: Signals) -> FAQ | None:
    """A number or ordinal alone (「1」「那就选第一个」) for the list shown before a side
    question; a description is a new question by then."""
    if context.offered or not context.listed_before or said.wants_person or said.urgent:
        return None
    index = understanding.numbered_choice(text, len(context.listed_before))
    return kb.get(context.listed_before[index]) if index is not None else None


def _described(kb: KnowledgeBase, said: Signals, offered: Sequence[FAQ]) -> FAQ | None:
    """The option a short description points to (「付钱时输的那个」 to a list of the two
    password resets, 「转给朋友的」 to the money not arrived): words that end by pointing
    (…的, …那个) without denying anything, and exactly one of the options offered among
    the KB's best three for them."""
    words = said.question
    if not MIN_DESCRIPTION <= len(words) <= MAX_DESCRIPTION or said.frustrated:
        return None
    # 「怎么充值的」 asks something new; 「两个都是的」 names no one option.
    if (
        not _POINTING.search(words)
        or understanding.denies(words)
        or _NOT_ONE_OPTION.search(words)
        or said.asks
    ):
        return None
    return _describes(kb, words, offered)


def _describes(
    kb: KnowledgeBase, words: str, offered: Sequence[FAQ], min_share: float = MIN_DESCRIBED_SHARE
) -> FAQ | None:
    """The one option among the KB's best three for ``words``, unless the KB would
    rather answer something else outright (the option scores under ``min_share`` of it)
    or can place the words nowhere."""
    ids = {faq.id for faq in offered}
    result = kb.query(words)
    named = [c for c in result.candidates[:3] if c.id in ids]
    if len(named) != 1:
        return None
    top = result.top
    # What the KB would answer outright, far ahead of the option: a new question
    # (「转错人了能撤回的」), not a description of it (「转给朋友的」).
    outright = result.decision is Decision.ANSWER and top is not None and top.id not in ids
    if outright and top is not None and named[0].score < top.score * min_share:
        return None
    # Words the KB can place nowhere (「今天早上的」) describe nothing.
    if result.decision is Decision.FALLBACK and named[0].score < _weak_score(kb):
        return None
    return named[0].faq


def _weak_score(kb: KnowledgeBase) -> float:
    """Below this a candidate the KB falls back on is too far to be what was meant."""
    return kb.manifest.thresholds.clarify * WEAKEST_DESCRIBED_SHARE


def _reason_for(context: Context, said: Signals) -> HandoffReason:
    if said.frustrated or context.frustrated:
        return HandoffReason.FRUSTRATION
    return HandoffReason.USER_REQUEST


def _is_small_talk(said: Signals, intent: str | None) -> bool:
    if said.frustrated or said.scam:
        return False
    if (
        not said.question
        or understanding.drops_the_matter(said.text)
        or understanding.tries_it_themselves(said.text)
        or understanding.says_it_worked(said.text)
        or understanding.kept_clear(said.text)
        or understanding.leaves_with_words(said.text)
    ):
        # Nothing left once the greetings and thanks are gone, or only 「不注销了」
        # 「我重新登录看看」「她收到了」.
        return True
    if intent is None and understanding.asks_who_answers(said.question):
        return True
    if intent not in SMALL_TALK_INTENTS or understanding.tells_a_fact(said):
        return False
    if intent == "bot_challenge":  # 「你是机器人吗」 asks, but not about the wallet
        return not understanding.has_domain_term(said.question)
    return not understanding.is_real_question(said)


def _no_answer(context: Context) -> Answer:
    return Answer(Decision.FALLBACK, (), fallback_streak=context.fallback_streak)


def _handoff(
    context: Context,
    said: Signals,
    reason: HandoffReason,
    *,
    urgent: bool,
    replies: tuple[Reply, ...] = (),
) -> Turn:
    answer = Answer(Decision.FALLBACK, replies, fallback_streak=context.fallback_streak)
    plan = HandoffPlan(reason, urgent, _for_the_agent(said))
    kept = replace(
        context, urgent=context.urgent or urgent or said.approached, offered=(), answered=False
    )
    return Turn(answer, kept, plan, signals=(reason.value,))


def _for_the_agent(said: Signals) -> str:
    """The user's question as the agent sees it: the message without 「转人工」, unless
    what is left says nothing (「叫你们经理出来」 → 「出来」): then the whole message."""
    question = said.question
    says_something = understanding.has_domain_term(question) or (said.asks and len(question) >= 5)
    return question if question and says_something else said.text


def _before_the_person(kb: KnowledgeBase, said: Signals, context: Context) -> tuple[Reply, ...]:
    """What comes before the handoff notice of a request for a person that is no
    emergency: an apology to an angry one (「什么破机器人 说了等于没说 给老子转人工」),
    then the answer meanwhile."""
    sorry = (Reply(APOLOGY),) if said.frustrated else ()
    return (*sorry, *_meanwhile(kb, said, context))


def _meanwhile(kb: KnowledgeBase, said: Signals, context: Context) -> tuple[Reply, ...]:
    """The help centre's answer to the problem told with the request for a person
    (「转人工，我的提现三天了还没到账」): the user still gets the person, and something
    to read until one comes. Only when the KB is sure; a list of guesses would not help."""
    question = said.question
    if not question or not understanding.has_domain_term(normalize(question)):
        return ()
    if not (said.asks or understanding.reports_trouble(question)):
        return ()
    result, _, _ = _understood(kb, question, replace(context, offered=()))
    top = result.top
    if result.decision is not Decision.ANSWER or top is None:
        return ()
    return (Reply(WHILE_A_PERSON_COMES), *_to_read_meanwhile(top.faq))


def _to_read_meanwhile(faq: FAQ) -> tuple[Reply, ...]:
    """The entry's answer beside a handoff: without 「转人工客服」「提交工单」 buttons, since
    the person is already on the way."""
    answered = answer_faq(faq, ask_if_helped=False).replies
    return tuple(replace(reply, buttons=()) for reply in answered if reply.kb)


SAFETY_REPLY = Reply(SAFETY_STEPS)


def _urgent(kb: KnowledgeBase, said: Signals, context: Context) -> Turn:
    """Money or a secret at stake: the safety steps and a person now.

    When the help centre is sure of its entry on scams or on a stolen account
    (「有人自称客服让我报验证码」「陌生人转错钱让我转回另一个账户」), that entry says why
    and what to do, and the steps shrink to one line after it; any other entry (fees,
    limits) would not, and the steps stay whole. Read without the topic before: the
    danger is the subject now."""
    question = said.question or said.text
    result, _, _ = _understood(kb, question, replace(context, topic=None, offered=()))
    if said.approached or said.scam:
        result = _on_guard(kb, question, result)
    top = result.top
    replies: tuple[Reply, ...] = (SAFETY_REPLY,)
    if result.decision is Decision.ANSWER and top is not None and _on_safety(top.faq):
        replies = (*_to_read_meanwhile(top.faq), Reply(SAFETY_BRIEF))
    return _handoff(context, said, HandoffReason.URGENT, urgent=True, replies=replies)


def _only_anger(said: Signals, context: Context) -> Turn:
    """Anger and nothing to look up (「你们客服形同虚设」): a person is the answer, unless
    the message asks for the form (「我要投诉，给我提个工单」): sorry, and the form asks."""
    kept = replace(context, offered=(), frustrated=True, answered=False)
    if said.opens_ticket:
        sorry = Answer(Decision.FALLBACK, (Reply(APOLOGY),))
        marks = (HandoffReason.FRUSTRATION.value, "ticket")
        return Turn(sorry, kept, signals=marks, opens_ticket=True)
    answer = _soothed(_no_answer(context))
    return Turn(answer, kept, signals=(HandoffReason.FRUSTRATION.value,))


def _answer(
    kb: KnowledgeBase,
    said: Signals,
    context: Context,
    ask_if_helped: bool,
    *,
    off_topic: bool = False,
) -> Turn:
    if said.frustrated and not said.question:
        return _only_anger(said, context)
    question = said.question or said.text
    # 「不是看余额，是余额少了一笔钱」 sets the topic aside: read without it.
    # 「另外日元能放钱包里吗」 after cross-border transfers: a new question, read on its own.
    aside = understanding.corrects(said.text) or understanding.opens_another_matter(said.text)
    reading = replace(context, topic=None, earlier=None) if aside else context
    result, others, leaned = _understood(kb, question, reading)
    result = _narrowing_the_list(kb, question, context, result)
    if _angry_again_at_the_answer(said, question, context, result):
        return _handoff(context, said, HandoffReason.FRUSTRATION, urgent=False)
    result = _on_the_case(kb, question, reading, result)
    result = _narrowed_to_the_subject(question, result)
    if (
        context.offered
        and result.decision is not Decision.ANSWER
        and _elliptical(question)
        and not understanding.names_a_subject(question)
        and (_says_it_goes_on(question) or _asks_an_aspect(question) or _NEXT.search(question))
    ):
        return _pick_first(kb, question, context)
    if said.approached or (
        context.urgent
        and result.decision is not Decision.ANSWER
        and understanding.speaks_of_someone(said.text)
    ):
        # Someone is working on the user, now or earlier in the conversation (「他发了个你们
        # 的官方截图」 after 「有个人说我中奖了 要先交手续费」): unless the KB is sure of
        # another entry, the one on fakes and scams.
        result = _on_guard(kb, question, result)
    if leaned:
        result = _moved_on(kb, question, context, result)
    marks: list[str] = []
    answer = answer_query(
        result, query=question, fallback_streak=context.fallback_streak, ask_if_helped=ask_if_helped
    )
    if off_topic and answer.decision is Decision.FALLBACK and not said.scam:
        # Not a wallet question the KB missed: what the assistant is for, and no ticket.
        meta = answer.replies[0].kb if answer.replies else None
        # Not a miss of a wallet question either: the next real miss is still the first.
        answer = replace(
            answer,
            replies=(Reply(OFF_TOPIC, (PERSON_BUTTON,), meta),),
            fallback_streak=context.fallback_streak,
        )
        marks.append("off_topic")
    top = result.top
    if result.decision is Decision.ANSWER and top is not None and top.id == context.topic:
        # The same FAQ again: what comes next, not the same text; or, when it has nothing
        # on that, what the topic before it has (「大概几天能到」 after withdrawal, fees).
        earlier = kb.get(context.earlier) if context.earlier else None
        answer, top = _next_step(kb, top, question, result, earlier, covered=not leaned)
        marks.append("follow_up")
    elif (
        result.decision is Decision.ANSWER
        and top is not None
        and top.id == context.earlier
        # Short, and marked as a follow-up: a whole question gets the whole answer.
        and _length(question) <= ELLIPTICAL_LENGTH
        and (_says_it_goes_on(question) or _asks_an_aspect(question))
    ):
        # Back to the topic before (「汇率呢」 after cross-border, fees): not all of it again.
        answer, top = _next_step(kb, top, question, result, None, covered=not leaned)
        marks.append("follow_up")
    elif others and result.decision is Decision.ANSWER:
        buttons = tuple(Button(faq.question, clarify_payload(faq.id)) for faq in others)
        offer = Reply(OTHER_QUESTION if len(others) == 1 else OTHER_QUESTIONS, buttons)
        answer = replace(answer, replies=(*answer.replies, offer))
        marks.append("several_questions")
    if said.frustrated:
        answer = _soothed(answer)
        marks.append(HandoffReason.FRUSTRATION.value)
    if said.scam:
        answer = _warned(answer)
        marks.append("scam")
    topic = top.id if result.decision is Decision.ANSWER and top is not None else context.topic
    offered = (
        tuple(c.id for c in result.candidates[: len(_clarify_buttons(answer))])
        if result.decision is Decision.CLARIFY
        else ()
    )
    after = Context(
        topic=topic,
        earlier=context.earlier_after(topic),
        offered=offered,
        asked=said.text if offered or answer.decision is Decision.FALLBACK else "",
        fallback_streak=answer.fallback_streak,
        urgent=context.urgent or said.approached,
        frustrated=context.frustrated or said.frustrated,
        answered=answer.decision is Decision.ANSWER,
    )
    if said.opens_ticket:
        # The form asks next: no 「解决了吗？」 in between.
        shown = tuple(reply for reply in answer.replies if reply.text != HELPED_QUESTION)
        answer = replace(answer, replies=shown)
        marks.append("ticket")
    return Turn(_marked(answer, marks), after, signals=tuple(marks), opens_ticket=said.opens_ticket)


# 「那如果朋友在国外呢」「要是对方没注册呢」: the same matter in other circumstances.
_CIRCUMSTANCE = re.compile(r"如果|要是|假如|万一|若是|换成|换作|是[^，,。？?]{1,8}的话")


def _moved_on(
    kb: KnowledgeBase, question: str, context: Context, result: QueryResult
) -> QueryResult:
    """「那如果朋友在国外呢」 after how to transfer: read with the topic, the topic comes
    first, but its answer has nothing on it, and the entry that the message alone points
    to (cross-border transfers) is close behind: that entry is the answer."""
    top = result.top
    if result.decision is not Decision.ANSWER or top is None or top.id != context.topic:
        return result
    if _asks_what_now(question) or _other_causes(top.faq.answer, question):
        return result
    # A new circumstance (「那如果…呢」), not an aspect of the topic (「要多久」, which the
    # topic before may answer), something it may offer (「那能设置提醒吗」) nor the topic
    # asked again in other words (「咋提」).
    if not _CIRCUMSTANCE.search(question) or _asks_an_aspect(question):
        return result
    earlier = kb.get(context.earlier) if context.earlier else None
    quoted, part = _part_for(kb, top, question, earlier, covered=False)
    if part is not None or quoted.id != top.id:
        return result
    alone = kb.query(question).top
    if alone is None or alone.id == top.id:
        return result
    runner_up = next((c for c in result.candidates[1:CLARIFY_OPTIONS] if c.id == alone.id), None)
    if runner_up is None or runner_up.score < kb.manifest.thresholds.clarify:
        return result
    rest = [candidate for candidate in result.candidates if candidate is not runner_up]
    return replace(result, candidates=[runner_up, *rest])


MAX_POINTER_LENGTH = 6
_POINTS_BACK = re.compile(r"(?:的|那个|那种|这个|那一个|那块)(?:吧|啊|呀|哈)?$")


def _narrowing_the_list(
    kb: KnowledgeBase, question: str, context: Context, result: QueryResult
) -> QueryResult:
    """「提现的」 to the list shown for 「没到账」, 「充值那个」 after a miss: the question
    asked before, narrowed by this message, when that reading is sure of an entry (the
    list may not hold it) and the message alone is not, or only points back."""
    if not context.asked or not (context.offered or context.fallback_streak):
        return result
    # 「充值那个」 points back at what was asked, even where it reads as a question alone
    # (「提现怎么收费的」 is a question of its own).
    points_back = _length(question) <= MAX_POINTER_LENGTH and _POINTS_BACK.search(question)
    if result.decision is Decision.ANSWER and not points_back:
        return result
    if not _elliptical(question) or not understanding.names_a_subject(normalize(question)):
        return result
    narrowed = kb.query(f"{context.asked} {question}")
    return narrowed if narrowed.decision is Decision.ANSWER else result


def _angry_again_at_the_answer(
    said: Signals, question: str, context: Context, result: QueryResult
) -> bool:
    """Angry again about what was just answered (「你这答的什么 我说的是提现没到账」): the
    same entry once more, or a list of guesses around it, would not help; a person now.
    An angry follow-up on one aspect (「急死了 到底要多久才能到」) still gets that part."""
    if not (said.frustrated and context.frustrated and context.answered):
        return False
    if _asks_an_aspect(question) or _says_it_goes_on(question):
        return False
    if result.decision is Decision.ANSWER:
        return _top_id(result) == context.topic
    return context.topic in {candidate.id for candidate in result.candidates}


def _corrects_the_kind(
    kb: KnowledgeBase, question: str, context: Context, result: QueryResult
) -> bool:
    """「是充值没到账」 after the answer on withdrawals: the message names a kind of the
    wallet's business that the entry the KB is sure of has in its question and the topic
    has not; a correction, not a detail of the case (「是用招行信用卡付的」 is one)."""
    topic = kb.get(context.topic) if context.topic else None
    top = result.top if result.decision is Decision.ANSWER else None
    if topic is None or top is None or top.id == topic.id:
        return False
    named = _wallet_words(canonicalize(question))
    asked = canonicalize(top.faq.question)
    return any(word in asked and word not in canonicalize(topic.question) for word in named)


def _on_the_case(
    kb: KnowledgeBase, question: str, context: Context, result: QueryResult
) -> QueryResult:
    """The result for a message right after an answer that speaks of the case answered:
    a detail of it (「是建行的卡」「金额是五千」「是用招行信用卡付的」), not a question of its
    own; or a list whose only choice is the entry just answered (「绑完发现被扣了0.01
    这是啥」 after binding a card), where a button for it again helps nobody. Either way,
    what the answer says on it, or a person."""
    if not context.answered or context.topic is None:
        return result
    if _gives_a_detail(question) and not _corrects_the_kind(kb, question, context, result):
        topic = context.topic
        case = kb.best_among(question, lambda faq: faq.id == topic)
        if case is not None:
            rest = [candidate for candidate in result.candidates if candidate.id != case.id]
            candidates = [case, *rest][: max(len(result.candidates), 1)]
            return replace(result, decision=Decision.ANSWER, candidates=candidates)
    if result.decision is Decision.CLARIFY and {c.id for c in result.candidates} == {context.topic}:
        return replace(result, decision=Decision.ANSWER)
    return result


# 「提现有问题」「银行卡出问题了」: something is wrong, and nothing said of what.
_VAGUE_TROUBLE = re.compile(
    r"(?:有|出了?|遇到了?)(?:点|些|个)?问题|有毛病|不对劲|不正常|异常|搞不定|用不了"
)
# What may stand beside the subject in such a message: 「我的」「这个」「你们的」.
MAX_VAGUE_REST = 3


def _narrowed_to_the_subject(question: str, result: QueryResult) -> QueryResult:
    """A subject and a vague 「有问题」 alone (「提现有问题」「我的银行卡出问题了」): too
    little for the KB to be sure of any entry, yet the user said where the trouble is.
    The entries among the KB's candidates whose own question names that subject are the
    choices (two at least), rather than a fallback that asks to say it again."""
    if result.decision is not Decision.FALLBACK:
        return result
    normal = normalize(question)
    trouble = _VAGUE_TROUBLE.search(normal)
    if trouble is None:
        return result
    rest = (normal[: trouble.start()] + normal[trouble.end() :]).strip(" ，,。.!！?？~～了啊呀")
    terms = [term for term in understanding.domain_terms() if term in rest]
    if not terms or len(rest) - max(len(term) for term in terms) > MAX_VAGUE_REST:
        return result
    named = [
        candidate
        for candidate in result.candidates
        if any(term in normalize(candidate.faq.question) for term in terms)
    ]
    if len(named) < 2:
        return result
    return replace(result, decision=Decision.CLARIFY, candidates=named)


def _understood(
    kb: KnowledgeBase, question: str, context: Context
) -> tuple[QueryResult, list[FAQ], bool]:
    """The KB's result for the question, read with the topic and clause by clause.

    Returns the result to answer with, the other FAQs that further clauses ask about
    (at most MAX_OTHER_QUESTIONS), and whether the result leaned on the topic.
    """
    result, leaned = _with_the_conversation(kb, question, context, kb.query(question))
    parts = understanding.clauses(question)
    if len(parts) < 2:
        return result, [], leaned
    looked_up = [(part, kb.query(part)) for part in _worth_looking_up(parts)]
    # When some clauses ask, they carry the question and the rest tell the story: in
    # 「…他是我以前的同事 好多年没联系了 这钱还能拿回来吗」 no clause but the last is a question
    # (「好多年没联系了」 alone would be answered with how to contact support).
    # A question the KB answers on its own is one about the wallet, in words the
    # wallet's vocabulary lacks (「另外支持美元吗」).
    asks = [
        understanding.asks_about_the_wallet(part)
        or (understanding.asks(part) and found.decision is Decision.ANSWER)
        for part, found in looked_up
    ]
    asking = [found for (_, found), question in zip(looked_up, asks, strict=True) if question]
    about_wallet = [
        found
        for (part, found), question in zip(looked_up, asks, strict=True)
        if question or understanding.has_domain_term(understanding.normalize(part))
    ]
    # The asking clauses first; if none of them is answered, the clauses that say
    # something of the wallet (「付款失败 但是扣了钱 钱呢」: 「付款失败」).
    answering = [found for found in asking if found.decision is Decision.ANSWER]
    considered = (answering or about_wallet) if asking else [found for _, found in looked_up]
    answered = [
        found for found in considered if found.decision is Decision.ANSWER and found.top is not None
    ]
    # Other questions: clauses that ask, or tell of a problem in the wallet's words
    # (「另外我的支付密码忘了」), not the story around them (「好多年没联系了」, 「他也用
    # 这个app」).
    troubled = [
        found
        for (part, found), question in zip(looked_up, asks, strict=True)
        if question or understanding.reports_trouble(part)
    ]
    if result.decision is Decision.CLARIFY:
        # The whole message already narrowed it down: a clause may settle it among those
        # choices, but one that answers something else is context, not the question
        # (「原来那张卡注销了，怎么换一张新的上去」 is no question about closing accounts).
        # Nor may it settle it away from the topic of the conversation when the topic is
        # one of the choices (「旧号已经停机了 收不到验证码」 while changing the phone number).
        offered = [candidate.id for candidate in result.candidates]
        if context.topic is not None and context.topic in offered:
            offered = [context.topic]
        settling = [found for found in answered if found.top and found.top.id in offered]
        # What the question asks after counts over the scene: in 「…以前都是去银行汇 …我要
        # 怎么转给他」 the habit alone answers remittances abroad, the question does not.
        # (A question the KB can place nowhere, 「怎么弄啊」, points at nothing.)
        asked_after = {
            candidate.id
            for part, found in looked_up
            if understanding.asks(part) and found.decision is not Decision.FALLBACK
            for candidate in found.candidates
        } & set(offered)
        if asked_after:
            settling = [found for found in settling if _top_id(found) in asked_after]
        # When the message tells of trouble, the story around it settles nothing: in
        # 「昨晚订酒店用钱包付款 一直转圈最后提示付款未成功」 the first clause alone is a
        # question about paying online.
        if troubled:
            told = [found for found in settling if any(found is t for t in troubled)]
            # No trouble told settles it, but the story keeps coming back to a choice
            # that a clause answers: 「…用的是他以前的手机号 现在那个号他已经停机了 我登陆要
            # 验证码根本收不到 想把手机号换成我自己的 怎么弄啊」 is about changing the number.
            settling = told or [
                found for found in settling if _told_again(_top_id(found), looked_up)
            ]
        if settling:
            # Among clauses that settle it differently, the message as a whole decides.
            result = min(settling, key=lambda found: offered.index(_top_id(found)))
    elif result.decision is Decision.FALLBACK:
        result = _from_the_story(result, looked_up, answered)
    if result.decision is Decision.FALLBACK and result.outside <= SURELY_UNCOVERED:
        # Lost in the story as a whole, but its question narrows it down on its own. Not
        # when the head is sure the FAQ does not cover the message (「能不能借钱啊 …
        # 想借个五千块分十二期还 利息怎么算」): a clause's guesses (what the wallet does)
        # are no plausible choices then.
        narrowed = [found for found in asking if found.decision is Decision.CLARIFY and found.top]
        # No question narrows it, but the trouble told in the wallet's words does
        # (「…她今天在菜市场摊上扫码付钱一直显示交易失败 …啥原因啊」).
        narrowed = narrowed or [
            found for found in troubled if found.decision is Decision.CLARIFY and found.top
        ]
        if narrowed:
            result = max(narrowed, key=lambda found: found.top.score if found.top else 0.0)
    main = result.top.id if result.decision is Decision.ANSWER and result.top else None
    others: dict[str, FAQ] = {}
    for found in troubled:
        if found.decision is not Decision.ANSWER:
            continue
        if found.top is not None and found.top.id != main:
            others.setdefault(found.top.id, found.top.faq)
    return result, list(others.values())[:MAX_OTHER_QUESTIONS], leaned


def _from_the_story(
    result: QueryResult,
    looked_up: list[tuple[str, QueryResult]],
    answered: list[QueryResult],
) -> QueryResult:
    """A long message the KB finds nothing for as a whole (``result``): what its clauses,
    looked up on their own, and the ``answered`` ones among them make of it."""
    # A clause of the story (「给我妈转生活费」: how to transfer) does not outvote what
    # the clauses that ask point to, even unanswered (「你们这边能直接帮我撤回吗」: a
    # wrong recipient, which 「结果通讯录里选错了人」 answers).
    pointed = {
        candidate.id
        for part, found in looked_up
        if understanding.asks(part)
        for candidate in found.candidates[:2]
    }
    whole = _top_id(result)
    backed = [found for found in answered if _top_id(found) in pointed]
    elsewhere = [found for found in answered if _top_id(found) != whole]
    if (
        result.held_back
        and result.outside <= SURELY_UNCOVERED
        and not elsewhere
        and not any(
            understanding.asks(part)
            and found.decision is not Decision.FALLBACK
            and _top_id(found) != whole
            for part, found in looked_up
        )
        and _told_again(whole, looked_up)
    ):
        # The message as a whole clears the answer's score and lead, and only the head's
        # "none of these" holds it back: the details of a story (amounts, banks, family)
        # look like nothing the head was taught. When the story keeps coming back to that
        # entry and no clause asks or answers anything else plausibly (「…往钱包里充了
        # 800块 …农行那边短信说扣款成功了 可是钱包里一直没有 …这咋整」), it is the question.
        top = result.top
        return replace(result, decision=Decision.ANSWER, candidates=[top] if top else [])
    if not backed and whole in pointed:
        # The message as a whole and its question agree on an entry that no clause
        # answers alone (「…孩子打电话说没收到 我这边看还写着处理中 想问问这钱到底去哪了」:
        # a transfer pending); a scene that answers something else (「上个月教会我用这个
        # 钱包」) is no answer. The entries they agree on are offered when the story
        # comes back to them; else nothing is plausible enough, and the fallback stays.
        if _told_again(whole, looked_up):
            agreed = [candidate for candidate in result.candidates if candidate.id in pointed]
            result = replace(result, decision=Decision.CLARIFY, candidates=agreed)
    elif answered:
        answered = backed or answered
        # Where the asking clauses point nowhere (「这是什么情况」), the clause that
        # agrees with the message as a whole: in a long top-up story, 「往钱包里充了
        # 两千」 rather than 「交易记录里这笔显示处理中」 (how to see the records).
        agreeing = [found for found in answered if _top_id(found) == whole]
        detail = max(agreeing or answered, key=lambda found: found.top.score if found.top else 0.0)
        if not agreeing and not backed and detail.top and _told_again(whole, looked_up):
            # No clause answers the entry the story keeps coming back to, and one answers
            # a detail of it: both are offered, the story's own first, not the detail as
            # though it were the question.
            story = [candidate for candidate in result.candidates if candidate.id == whole]
            return replace(result, decision=Decision.CLARIFY, candidates=[*story, detail.top])
        result = detail
    return result


def _told_again(faq_id: str, looked_up: list[tuple[str, QueryResult]]) -> bool:
    """Whether a long message comes back to the entry: it leads at least two of three or
    more clauses looked up on their own, and one of them alone would offer it (the KB, and
    its head, find it plausible there; 「两个人共用一个余额那种」 leads to the balance, but
    nothing offers it)."""
    leading = [found for _, found in looked_up if _top_id(found) == faq_id]
    offered = [found for found in leading if found.decision is not Decision.FALLBACK]
    return len(looked_up) >= 3 and len(leading) >= 2 and bool(offered)


def _worth_looking_up(parts: list[str]) -> list[str]:
    """The clauses to look up, at most MAX_CLAUSES, in their order: those that ask first,
    then the ones nearest the end. A long story puts its question last (「…我这边看还写着
    处理中 想问问这钱到底去哪了」); the first clauses are the scene."""
    indexed = [(index, part) for index, part in enumerate(parts) if len(part) >= 4]
    asking = [item for item in indexed if understanding.asks(item[1])]
    rest = [item for item in reversed(indexed) if item not in asking]
    kept = sorted((asking + rest)[:MAX_CLAUSES])
    return [part for _, part in kept]


def _top_id(result: QueryResult) -> str:
    return result.top.id if result.top is not None else ""


def _beside_the_point(topic: FAQ, question: str, result: QueryResult) -> bool:
    """An answer to another entry for a message that names nothing of its own, while
    the KB finds the topic close too: 「开了以后能关掉吗」 after the two-step answer is
    about turning that off, not about closing the account. Not when the topic's answer
    has nothing on it: 「那我人在香港能用吗」 after the currencies answer is the regions'
    question, which the KB answers."""
    return (
        result.top is not None
        and result.top.id != topic.id
        and topic.id in {candidate.id for candidate in result.candidates}
        and not understanding.names_a_subject(question)
        and relevant_part(topic.answer, question) is not None
    )


def _with_the_conversation(
    kb: KnowledgeBase, question: str, context: Context, result: QueryResult
) -> tuple[QueryResult, bool]:
    """The KB's ``result`` for a message, read with the topic and the topic before it:
    a way back to the earlier topic, a follow-up on the topic, or the topic's own kind
    among the choices. Returns the result and whether it leaned on the conversation."""
    back = _back_to_earlier(kb, question, context, result)
    if back is not None:
        return back, True
    topic = kb.get(context.topic) if context.topic else None
    if topic is None:
        return result, False
    narrowing = _narrowing_clause(topic, question)
    if narrowing is not None:
        # 「转账呢 给朋友转也扣钱？」 after the fees: the kind narrowed, then the aspect
        # that the topic's answer speaks of asked again; read as 「转账呢」.
        return _with_the_conversation(kb, narrowing, context, kb.query(narrowing))
    sibling_named = _the_sibling_named(topic, question, result)
    if sibling_named is not None:
        return sibling_named, True
    leaned_on = _leaned_on(kb, topic, question, result, answered=context.answered)
    if leaned_on is not None:
        return leaned_on, True
    # The topic's own kind among the choices, or the earlier topic's (「失败了咋办」 after
    # withdrawing, then its fees, is about the withdrawal failing).
    earlier = kb.get(context.earlier) if context.earlier else None
    sibling = _sibling_among(kb, topic, question, result) or (
        _sibling_among(kb, earlier, question, result) if earlier is not None else None
    )
    if sibling is not None:
        rest = [candidate for candidate in result.candidates if candidate is not sibling]
        result = replace(result, decision=Decision.ANSWER, candidates=[sibling, *rest])
    return result, False


def _narrowing_clause(topic: FAQ, question: str) -> str | None:
    """The first clause, when it narrows the topic to a kind (「转账呢」「那提现呢」) and the
    rest only asks after an aspect of it that the topic's answer has a sentence on
    (「给朋友转也扣钱」 after the fees answer)."""
    parts = understanding.clauses(question)
    if len(parts) < 2 or not _narrows(parts[0]):
        return None
    rest = "，".join(parts[1:])
    if not _asks_an_aspect(rest) or relevant_part(topic.answer, rest) is None:
        return None
    return parts[0]


def _the_sibling_named(topic: FAQ, question: str, result: QueryResult) -> QueryResult | None:
    """「那登录的那个密码呢」 after the answer on payment passwords: a follow-up (「那…」
    「…呢」) naming what sets the entry beside the topic apart (登录, in its question and
    not in the topic's), which the KB alone puts first, is that entry's question, not an
    aspect of the topic to quote (its answer names login passwords only to set them apart)."""
    top = result.top
    if (
        top is None
        or result.decision is Decision.FALLBACK
        or top.id == topic.id
        or top.faq.category != topic.category
        or not _says_it_goes_on(question)
    ):
        return None
    theirs, ours = canonicalize(top.faq.question), canonicalize(topic.question)
    named = [
        term
        for term in _wallet_words(understanding.normalize(question))
        if _is_a_kind(term) and term in theirs and term not in ours
    ]
    # 「那网上买东西呢」 after paying in shops: words outside the wallet's vocabulary (网上)
    # that the entry the KB answers outright has in its question and the topic has not.
    told_apart = result.decision is Decision.ANSWER and bool(
        (_content_bigrams(canonicalize(question)) & _content_bigrams(theirs))
        - _content_bigrams(ours)
        - _content_bigrams(canonicalize(topic.answer))
    )
    if not named and not told_apart:
        return None
    return replace(result, decision=Decision.ANSWER)


def _leaned_on(
    kb: KnowledgeBase, topic: FAQ, question: str, result: QueryResult, *, answered: bool
) -> QueryResult | None:
    """The KB's result for a short follow-up read together with the topic's question,
    when the message continues the topic and that reading answers it; else None."""
    if not (
        (
            result.decision is not Decision.ANSWER
            or _beside_the_point(topic, question, result)
            or _narrows(question)
            or (_speaks_to(topic, question) and not _a_sibling_says_it_all(topic, question, result))
        )
        and _elliptical(question)
        and (_leans_on(topic, question, result) or (answered and _tells_more(question, result)))
        and not _other_trouble(topic, question, result)
    ):
        return None
    kind = _narrowed_kind(question)
    if (
        _narrows(question)
        and _is_a_kind(kind)
        and kind not in canonicalize(topic.question)
        and narrowed_part(topic.answer, question) is None
    ):
        switched = _same_trouble_with(kb, topic, question, result)
        if switched is not None:
            return switched
    with_topic = kb.query(f"{topic.question} {question}")
    # A message with a subject of its own (「密码」 after a top-up answer) is a new
    # question: the topic may only settle it among the candidates it already has.
    own_subject = understanding.names_a_subject(question)
    candidates = {candidate.id for candidate in result.candidates}
    top = with_topic.top
    if (
        with_topic.decision is Decision.ANSWER
        and top is not None
        and (
            not own_subject
            or top.id in candidates
            # 「转账的」 names a kind of the topic, and the topic is what it narrows.
            or (_narrows(question) and top.id == topic.id)
            # 「余额里还有钱怎么办」 after closing the account: the message alone is no
            # question the KB is sure of, and the topic's answer speaks of what it names.
            or (
                top.id == topic.id
                and result.decision is not Decision.ANSWER
                and _names_only_what_the_answer_does(topic, question)
            )
            # 「那有没有上限」 after the top-up methods: an aspect with an entry of its own,
            # asked of the topic in so many words (「那…」「…呢」; 「汇率怎么算」 is a
            # question of its own); the reply finds the sentence on it (_part_for).
            or (
                top.id == topic.id
                and result.decision is not Decision.ANSWER
                and _says_it_goes_on(question)
                and _OWN_SUBJECT_ASPECT.search(question) is not None
            )
        )
    ):
        return with_topic
    return None


def _same_trouble_with(
    kb: KnowledgeBase, topic: FAQ, question: str, result: QueryResult
) -> QueryResult | None:
    """「提现的」 after the answer on late top-ups: a kind the topic's answer says nothing
    of is the same trouble with another thing; the entry on that thing nearest to the
    topic, among those whose question names it."""
    kind = _narrowed_kind(question)
    switched = kb.best_among(
        f"{topic.question} {question}",
        lambda faq: faq.id != topic.id and kind in canonicalize(faq.question),
    )
    if switched is None:
        return None
    rest = [candidate for candidate in result.candidates if candidate.id != switched.id]
    return replace(result, decision=Decision.ANSWER, candidates=[switched, *rest])


def _tells_more(question: str, result: QueryResult) -> bool:
    """「我什么都没干啊」 after the answer on locked accounts: a statement that names
    nothing of the wallet, which the KB alone can only match with a list of guesses."""
    normal = understanding.normalize(question)
    return (
        result.decision is Decision.CLARIFY
        and not understanding.has_domain_term(normal)
        and not understanding.asks(question)
    )


def _other_trouble(topic: FAQ, question: str, result: QueryResult) -> bool:
    """「网上买东西也付不了」 after the answer on paying in a shop: trouble of its own, in
    words that name nothing of the wallet, which the KB alone ranks under another entry;
    not more of the same case (「我什么都没干 突然就锁了」 after a locked account is)."""
    return (
        understanding.reports_trouble(question)
        and not understanding.has_domain_term(understanding.normalize(question))
        and result.top is not None
        and result.top.id != topic.id
    )


def _names_only_what_the_answer_does(topic: FAQ, question: str) -> bool:
    """Whether every word of the wallet's that ``question`` names is in the topic's
    answer too, and a sentence of it speaks to the question."""
    said = understanding.normalize(question)
    answer = understanding.normalize(topic.answer)
    named = _wallet_words(said)
    return (
        bool(named)
        and all(term in answer for term in named)
        and relevant_part(topic.answer, question) is not None
    )


def _back_to_earlier(
    kb: KnowledgeBase, question: str, context: Context, result: QueryResult
) -> QueryResult | None:
    """「那充值那个到底怎么办」 after a side question on fees: a short message pointing back
    (「那…」「…呢」) that names what the topic before was about and the current one is not,
    returns to it, when the KB finds it near."""
    earlier = kb.get(context.earlier) if context.earlier else None
    topic = kb.get(context.topic) if context.topic else None
    if (
        earlier is not None
        and topic is not None
        and understanding.returns_to_earlier(question)
        # The KB answering something else outright: a new question, not a way back.
        and not (result.decision is Decision.ANSWER and _top_id(result) not in {earlier.id, ""})
    ):
        # 「那还是说锁号的事 要多久能解开」: back in so many words; read with what the
        # earlier topic asked, the KB must still find that topic.
        back = kb.query(f"{earlier.question} {question}")
        if back.decision is Decision.ANSWER and _top_id(back) == earlier.id:
            return back
    if (
        earlier is None
        or topic is None
        or not _says_it_goes_on(question)
        or _length(question) > ELLIPTICAL_LENGTH
        # The KB answering something else outright: a new question, not a way back.
        or (result.decision is Decision.ANSWER and result.top and result.top.id != earlier.id)
    ):
        return None
    said = understanding.normalize(question)
    before, now = understanding.normalize(earlier.question), understanding.normalize(topic.question)
    points_back = any(term in before and term not in now for term in _wallet_words(said))
    found = next((c for c in result.candidates if c.id == earlier.id), None)
    if not points_back or found is None:
        return None
    rest = [candidate for candidate in result.candidates if candidate is not found]
    return replace(result, decision=Decision.ANSWER, candidates=[found, *rest])


def _sibling_among(
    kb: KnowledgeBase, topic: FAQ, question: str, result: QueryResult
) -> Candidate | None:
    """The one entry among the choices (or the near misses) from the topic's own small
    category, for a short message with no subject of its own: 「超过时间了还没到」 after
    how to withdraw is about the withdrawal being late, not the top-up or the transfer
    listed beside it."""
    if (
        result.decision is Decision.ANSWER
        or not _elliptical(question)
        or understanding.names_a_subject(question)
    ):
        return None
    if not _small_category(kb, topic):
        return None  # a broad category (「其他」) says nothing of what the user means
    siblings = [
        candidate
        for candidate in result.candidates
        if candidate.faq.category == topic.category and candidate.id != topic.id
    ]
    return siblings[0] if len(siblings) == 1 else None


def _small_category(kb: KnowledgeBase, topic: FAQ) -> list[FAQ]:
    """The other entries of the topic's category, when it is small enough to tell which
    one a follow-up means (「提现」: how, and failed or late); none for a broad one."""
    category = kb.same_category(topic)
    if len(category) > MAX_SIBLINGS:
        return []
    return [faq for faq in category if faq.id != topic.id]


def _speaks_to(topic: FAQ, question: str) -> bool:
    """A message with no subject of its own that asks after an aspect the topic's answer
    has a sentence on: 「能互相换吗」 after the currencies answer is about exchanging them,
    whatever else the KB matches the words with (changing the phone number)."""
    return (
        _asks_an_aspect(question)
        and not understanding.names_a_subject(question)
        and relevant_part(topic.answer, question) is not None
    )


def _a_sibling_says_it_all(topic: FAQ, question: str, result: QueryResult) -> bool:
    """「充完一般多久能到」 after how to top up: the KB alone answers it with the entry
    beside the topic (top-ups arriving late), which treats what the topic's answer only
    mentions in passing (「核对…预计到账时间」); unless the user marks it a follow-up."""
    top = result.top
    return (
        result.decision is Decision.ANSWER
        and top is not None
        and top.id != topic.id
        and top.faq.category == topic.category
        and not _says_it_goes_on(question)
    )


def _on_guard(kb: KnowledgeBase, question: str, result: QueryResult) -> QueryResult:
    """Someone is working on the user (「有人说能帮我提额 先交手续费 靠谱吗」): the entry
    on scams among the KB's candidates is the answer, not the fees or limits that the
    story around the scam names."""
    on_scams = [c for c in result.candidates if _is_about_scams(c.faq.question)]
    if not on_scams:
        # The story (fees, limits) may push it out of the candidates: the best of the
        # entries on scams, wherever the KB ranks it.
        best = kb.best_among(question, lambda faq: _is_about_scams(faq.question))
        on_scams = [best] if best is not None else []
    if not on_scams or (result.decision is Decision.ANSWER and result.top is on_scams[0]):
        return result
    rest = [c for c in result.candidates if c is not on_scams[0]]
    return replace(result, decision=Decision.ANSWER, candidates=[on_scams[0], *rest])


def _on_safety(faq: FAQ) -> bool:
    """Whether an entry is on scams or on a stolen account: its standard question reads
    as one (「被骗了或接到冒充客服的电话怎么办？」「账户被盗……怎么办？」)."""
    return _is_about_scams(faq.question) or _is_about_theft(faq.question)


@lru_cache(maxsize=1024)
def _is_about_theft(question: str) -> bool:
    return understanding.read(question).urgent


@lru_cache(maxsize=1024)
def _is_about_scams(question: str) -> bool:
    """Whether an entry's standard question is about scams; read once per question, not
    on every turn."""
    return understanding.read(question).scam


def _leans_on(topic: FAQ, question: str, result: QueryResult) -> bool:
    """Whether a short message continues the topic: it says so (「那…」「…呢」), asks after
    an aspect of it (多久, 手续费…), or the KB finds the topic near it on its own.
    「今天北京天气怎么样」 after a password answer does none of these."""
    return (
        _says_it_goes_on(question)
        or _asks_an_aspect(question)
        or topic.id in {candidate.id for candidate in result.candidates}
    )


def _elliptical(question: str) -> bool:
    return _length(question) <= ELLIPTICAL_LENGTH or _says_it_goes_on(question)


def _says_it_goes_on(question: str) -> bool:
    """「那…」「…呢」: the user marks the message as a follow-up."""
    stripped = _bare(question)
    return (
        stripped.startswith(_ELLIPTICAL_START)
        or stripped.endswith("呢")
        or _asks_what_now(question)
        # 「转账的」 after the limits: which kind of the topic, not a new question.
        or _narrows(question)
    )


def _narrows(question: str) -> bool:
    """「转账的」「那转账呢」 after the limits: which kind of the topic, not a new question."""
    bare = _bare(question)
    stripped = bare.removesuffix("呢").removesuffix("吗")
    if 2 <= len(stripped) <= MAX_NARROWING and stripped.endswith("的"):
        # 「转账的」 names a kind; 「不是我的」「陌生的」 name none.
        return understanding.has_domain_term(understanding.normalize(stripped))
    # 「那充值呢」: nothing but the wallet's word for the kind (「那手续费呢」 asks an
    # aspect, which has entries of its own).
    return (
        bare.endswith("呢")
        and _is_a_kind(_narrowed_kind(question))
        and not _asks_an_aspect(question)
    )


def _is_a_kind(word: str) -> bool:
    """「充值」「转账」 are kinds of the wallet's business; 「钱」 is what every answer is
    about, and one character (「卡」) is in too many questions to tell a kind."""
    return (
        len(word) >= 2
        and word in understanding.domain_terms()
        and understanding.names_a_subject(word)
    )


def _asks_what_now(question: str) -> bool:
    return _WHAT_NOW.match(_bare(question).replace(" ", "")) is not None


def _wallet_words(text: str) -> set[str]:
    """The wallet's words of two characters or more that ``text`` holds."""
    return {term for term in understanding.domain_terms() if len(term) >= 2 and term in text}


def _on_aspect(sentence: str, aspect: set[str]) -> bool:
    return not aspect or any(cue in sentence for cue in aspect)


def _bare(question: str) -> str:
    return question.strip(" ?？。.!！~～")


_LATIN_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*", re.IGNORECASE)


def _length(question: str) -> int:
    """How long a message is, a Latin word counting as one character does: 「要多久」 and
    "how long does it take" are both short follow-ups."""
    # Each word becomes one mark, and the spaces between words go with them; everything
    # else (Chinese, digits, the spaces between clauses) counts as before.
    marked = _LATIN_WORD.sub("\0", _bare(question))
    return len(marked.replace("\0 \0", "\0\0").replace("\0 \0", "\0\0"))


def relevant_part(answer: str, question: str) -> str | None:
    """The sentences of ``answer`` that speak to what ``question`` asks, if any do."""
    aspect = _aspect_cues(question)
    cues = aspect | _wallet_words(question)
    sentences = _sentences(answer)
    # A question on an aspect is answered by a sentence on it: 「到账要多久」 is not
    # answered by 「确认页会列出手续费和实际到账金额」, which only shares 到账.
    scored = [
        (sum(cue in sentence for cue in cues) if _on_aspect(sentence, aspect) else 0, index)
        for index, sentence in enumerate(sentences)
    ]
    best = max((score for score, _ in scored), default=0)
    if best == 0:
        # No known aspect: the user's own words, where a sentence repeats two of them
        # (「收银员说扫不出来」 → 「扫不出来时，可调高屏幕亮度…」).
        # Only pairs that set one sentence apart count: 「一直」「没有」 run through many.
        pairs = [_content_bigrams(sentence) for sentence in sentences]
        counts = Counter(pair for found in pairs for pair in found)
        asked = {pair for pair in _content_bigrams(question) if pair not in _COMMON_BIGRAMS}
        scored = [
            (len({pair for pair in asked & found if counts[pair] == 1}), index)
            for index, found in enumerate(pairs)
        ]
        best = max((score for score, _ in scored), default=0)
        if best < MIN_SHARED_BIGRAMS:
            return None
    return _quoted([sentences[index] for score, index in scored if score == best][:2])


# Sentences quoted when only their meaning ties them to the follow-up: the encoder picks
# the right one among its best two far more often than as its best alone.
CLOSEST_SENTENCES = 2


def _aspect_cues(question: str) -> set[str]:
    """The words of an answer that speak to the aspects ``question`` asks about."""
    return {cue for pattern, words in _ASPECTS if pattern.search(question) for cue in words}


def _asks_an_aspect(question: str) -> bool:
    return any(pattern.search(question) for pattern, _ in _ASPECTS)


def closest_part(kb: KnowledgeBase, answer: str, question: str) -> str | None:
    """The answer's sentences closest to ``question`` in meaning, in the answer's order."""
    sentences = _sentences(answer)
    if len(sentences) <= CLOSEST_SENTENCES:
        return None  # all of it was just said
    query = kb.encoder.encode([canonicalize(question)])[0]
    closeness = _sentence_vectors(kb, answer, sentences) @ query
    chosen = sorted(int(index) for index in closeness.argsort()[::-1][:CLOSEST_SENTENCES])
    return _quoted([sentences[index] for index in chosen])


# An answer's sentences encoded once per encoder weights, not on every follow-up; a
# KB's answers are few, and the cache starts over rather than grow past this.
MAX_CACHED_ANSWERS = 512
_SENTENCE_VECTORS: dict[tuple[str, str], NDArray[np.float32]] = {}


def _sentence_vectors(kb: KnowledgeBase, answer: str, sentences: list[str]) -> NDArray[np.float32]:
    key = (kb.encoder.revision, answer)
    vectors = _SENTENCE_VECTORS.get(key)
    if vectors is None:
        if len(_SENTENCE_VECTORS) >= MAX_CACHED_ANSWERS:
            _SENTENCE_VECTORS.clear()
        vectors = kb.encoder.encode([canonicalize(sentence) for sentence in sentences])
        _SENTENCE_VECTORS[key] = vectors
    return vectors


def _sentences(answer: str) -> list[str]:
    # A lead-in (「可以这样处理：」) says nothing on its own: quoted alone it dangles.
    return [s.strip() for s in _SENTENCES.split(answer) if s and s.strip() and not _is_lead_in(s)]


def _narrowed_kind(question: str) -> str:
    """「转账的呢」「那转账呢」 → 「转账」."""
    bare = _bare(question).removesuffix("呢").removesuffix("吗").removesuffix("的")
    return canonicalize(bare.removeprefix("那么").removeprefix("那"))


def narrowed_part(answer: str, question: str) -> str | None:
    """For 「转账的」 after the limits: the first sentence naming that kind; a lead-in that
    names it (「付款、转账、提现…都设有单笔限额…：」) with the sentence after it."""
    kind = _narrowed_kind(question)
    lines = [line.strip() for line in _SENTENCES.split(answer) if line and line.strip()]
    for index, line in enumerate(lines):
        if kind not in canonicalize(line):
            continue
        if not _is_lead_in(line):
            return _quoted([line])
        if index + 1 < len(lines) and not _is_lead_in(lines[index + 1]):
            return _quoted([line.rstrip().rstrip("：:") + "；", lines[index + 1]])
    return None


def _quoted(sentences: list[str]) -> str:
    """Sentences of an answer run together, without their list numbers, ending as a
    sentence does (a list item quoted last ends in 「；」)."""
    quoted = "".join(re.sub(r"^\d+[.、]\s*", "", sentence) for sentence in sentences)
    if quoted.endswith(("；", ";", "，", ",")):
        quoted = quoted[:-1] + "。"
    return quoted


# Two characters in a row that a follow-up and a sentence of the answer share: at least
# this many before the sentence is taken to speak to the follow-up.
MIN_SHARED_BIGRAMS = 2
# Characters that carry no topic: pairs with them in are left out.
_FUNCTION_CHARACTERS = frozenset(
    "的了吗呢啊吧呀么嘛我你您他她它们是在和就都也还这那个要会能可怎么啥咋办说"
)


# Pairs common in any text, that say nothing of what is asked.
_COMMON_BIGRAMS = frozenset(
    {
        "没有",
        "已经",
        "一直",
        "如果",
        "为什",
        "什么",
        "时候",
        "一下",
        "不行",
        "可以",
        "需要",
        "显示",
        "然后",
        "但是",
        "因为",
        "所以",
        "现在",
        "之后",
        "之前",
        "以后",
        "以前",
        "还是",
        "或者",
        "是否",
        "不是",
        "没法",
        "无法",
        "不到",
        "不了",
        "请问",
        "麻烦",
        "一般",
        "一定",
        "目前",
        "页面",
        "提示",
        "操作",
    }
)


def _content_bigrams(text: str) -> set[str]:
    """Pairs of adjacent Chinese characters that both carry content."""
    characters = [c if "\u4e00" <= c <= "\u9fff" else " " for c in text]
    return {
        a + b
        for a, b in itertools.pairwise(characters)
        if " " not in (a, b) and a not in _FUNCTION_CHARACTERS and b not in _FUNCTION_CHARACTERS
    }


def _is_lead_in(sentence: str) -> bool:
    return sentence.rstrip().endswith(("：", ":"))


def _part_for(
    kb: KnowledgeBase, top: Candidate, question: str, earlier: FAQ | None, *, covered: bool
) -> tuple[Candidate, str | None]:
    """The sentences that answer a follow-up on ``top``, and the entry they come from: the
    topic's own, else the topic before's, a late one's sibling, or the entry of a subject
    the topic says nothing of."""
    faq = top.faq
    part = (narrowed_part(faq.answer, question) if _narrows(question) else None) or (
        relevant_part(faq.answer, question)
    )
    if part is None and earlier is not None and _asks_an_aspect(question):
        before = relevant_part(earlier.answer, question)
        if before is not None:
            return replace(top, faq=earlier), before
    # An aspect the answer has no word of (「那最多可以绑几张」: no limit in the card
    # answer) is not in it: meaning alone would quote something else.
    if part is None and covered and not _asks_an_aspect(question):
        part = closest_part(kb, faq.answer, question)
    if part is None and _OVERDUE.search(question):
        # Late after the how-to (「现在都过了24小时了」 after how to withdraw): the entry of
        # the same small category on it being late says what to do.
        for sibling in _small_category(kb, faq):
            found = relevant_part(sibling.answer, question)
            if found is not None:
                return replace(top, faq=sibling), found
    if part is None and _OWN_SUBJECT_ASPECT.search(question):
        # An aspect of the topic that another entry speaks to: 「那有没有上限」 after the
        # top-up methods is answered by the limits, not with 「nothing more」.
        for own in _entries_besides(kb, question, faq):
            found = relevant_part(own.faq.answer, question)
            if found is not None:
                return own, found
    return top, part


def _entries_besides(kb: KnowledgeBase, question: str, topic: FAQ) -> list[Candidate]:
    """The entries that may speak to an aspect the topic says nothing of, best first: those
    the KB alone finds for ``question``, then the best entry whose own question names the
    aspect, wherever the KB ranks it (「那能存新加坡元吗」 after the regions answer: the
    place's name draws the regions, and the currencies entry is the one on currencies)."""
    found = [c for c in kb.query(question).candidates[:CLARIFY_OPTIONS] if c.id != topic.id]
    cues = _aspect_cues(question)
    named = kb.best_among(
        question,
        lambda faq: faq.id != topic.id and any(cue in faq.question for cue in cues),
    )
    if named is not None and all(c.id != named.id for c in found):
        found.append(named)
    return found


def _next_step(
    kb: KnowledgeBase,
    top: Candidate,
    question: str,
    result: QueryResult,
    earlier: FAQ | None,
    *,
    covered: bool,
) -> tuple[Answer, Candidate]:
    """A follow-up on the FAQ just answered: its relevant part, or a ticket or a person;
    returns the answer and the candidate it quotes (the topic before, when that one has
    the part and this one has not).

    ``covered``: the KB answers the follow-up with this FAQ on its own (「朋友发来一个apk
    能装吗」 after the official-app answer is one of its paraphrases), so some part of
    the answer speaks to it even when no word gives it away: the sentences closest in
    meaning are quoted rather than 「nothing more」.
    """
    top, part = _part_for(kb, top, question, earlier, covered=covered)
    faq = top.faq
    asked = echoed(question)
    other_causes = _other_causes(faq.answer, question)
    if _asks_what_now(question):
        text = what_now(faq.answer)
        part = None
    elif other_causes:
        text, part = RULED_OUT.format(part=other_causes), other_causes
    elif part:
        text = RELEVANT_PART.format(part=part)
    elif not (
        understanding.asks(question) or _says_it_goes_on(question) or _asks_an_aspect(question)
    ):
        # 「照片拍得很清楚啊」: told, not asked; no 「关于「…」」 around a statement.
        text = NOTHING_MORE_TOLD
    elif 2 <= len(asked) <= MAX_QUOTED:
        text = NOTHING_MORE_ON.format(question=asked)
    else:
        text = NOTHING_MORE
    buttons = HUMAN_FIRST if faq.escalate == "human" or not part else TICKET_OR_HUMAN
    meta = kb_metadata(Decision.ANSWER, question, top)
    category = faq.category.value if faq.escalate == "ticket" else None
    answer = Answer(
        Decision.ANSWER,
        (Reply(text, buttons, meta),),
        handoff_candidates(result.candidates),
        0,
        category,
    )
    return answer, top


# 「余额是够的」「卡也没问题」 after a list of causes: the user rules one out.
_RULES_OUT = re.compile(
    r"(?:是|也|都)?(?:够的?|足够|充足|没问题|没毛病|正常|没错|对的|没过期|有钱)(?:的|啊|呀|了)*$"
)
_CAUSES = (
    "余额",
    "额度",
    "卡",
    "网络",
    "wi-fi",
    "wifi",
    "信号",
    "版本",
    "信息",
    "有效期",
    "手机号",
    "实名",
)
OTHER_CAUSES = 2
_RULING_BREAK = re.compile(r"[，,。！!？?；;\s]+")


def _other_causes(answer: str, question: str) -> str | None:
    """The answer's list items that speak of none of the causes the user ruled out
    (「余额是够的」 after the payment failures: the wrong card data, the network), or None."""
    said = canonicalize(_bare(question))
    # The clause that rules a cause out may be followed by another (「余额是够的啊 还是不行」);
    # a space may also sit inside it (「余额 是够的」).
    ruling = [part for part in _RULING_BREAK.split(said) if part and _RULES_OUT.search(part)]
    if _RULES_OUT.search(said):
        ruling.append(said)
    ruled_out = [
        cause for part in ruling for cause in {*_CAUSES, *_wallet_words(part)} if cause in part
    ]
    if not ruled_out:
        return None
    items = [
        line.strip()
        for line in _SENTENCES.split(answer)
        if re.match(r"\s*\d+[.、]", line or "") and not any(c in line.lower() for c in ruled_out)
    ]
    return _quoted(items[:OTHER_CAUSES]) if items else None


def echoed(question: str) -> str:
    """The follow-up as the reply names it: 「那能看到利息吗」 → 「能看到利息」."""
    return _FOLLOW_UP_MARKS.sub("", _bare(question)).strip(" ，,")


def what_now(answer: str) -> str:
    """The reply to 「那怎么办」 right after ``answer``: its steps, or it, are the way."""
    return WHAT_NOW_STEPS if _HAS_STEPS.search(answer) else WHAT_NOW


def _soothed(answer: Answer) -> Answer:
    """An apology first, no 是/否 question, and a person offered without being asked."""
    replies = [reply for reply in answer.replies if reply.text != HELPED_QUESTION]
    if answer.decision is Decision.FALLBACK or not replies:
        meta = next((reply.kb for reply in answer.replies if reply.kb), None)
        return replace(answer, replies=(Reply(APOLOGY_PERSON, HUMAN_FIRST, meta),))
    replies[-1] = replace(replies[-1], buttons=_with_person_first(replies[-1].buttons))
    return replace(answer, replies=(Reply(APOLOGY), *replies))


def _warned(answer: Answer) -> Answer:
    """A scam mentioned: the warning first, and a person within reach."""
    replies = list(answer.replies) or [Reply(SCAM_WARNING)]
    if not any(PERSON_BUTTON in reply.buttons for reply in replies):
        replies[-1] = replace(replies[-1], buttons=(*replies[-1].buttons, PERSON_BUTTON))
    return replace(answer, replies=(Reply(SCAM_WARNING), *replies))


def _with_person_first(buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    if not buttons or buttons in (TICKET_OR_HUMAN, HUMAN_FIRST):
        return HUMAN_FIRST
    return (*buttons, PERSON_BUTTON) if PERSON_BUTTON not in buttons else buttons


def _clarify_buttons(answer: Answer) -> list[Button]:
    return [b for r in answer.replies for b in r.buttons if chosen_faq_id(b.payload)]


def _marked(answer: Answer, marks: Iterable[str]) -> Answer:
    """The signals recorded with the KB's metadata, for the analytics to count."""
    found = list(marks)
    if not found:
        return answer
    replies = tuple(
        replace(reply, kb={**reply.kb, "signals": found}) if reply.kb else reply
        for reply in answer.replies
    )
    return replace(answer, replies=replies)


def _after(context: Context, answer: Answer, faq_id: str) -> Context:
    return replace(
        context,
        topic=faq_id,
        earlier=context.earlier_after(faq_id),
        offered=(),
        fallback_streak=answer.fallback_streak,
        answered=True,
    )


def context_from_history(messages: Iterable[Any]) -> Context:
    """The context rebuilt from a stored transcript (degraded mode has no tracker).

    ``messages`` are MessageView-like (``role``, ``text``, ``buttons``, ``kb``), oldest
    first; the user's messages tell of fraud or anger, the bot's KB replies of the
    topic, the options offered and the misses in a row.
    """
    topic: str | None = None
    earlier: str | None = None
    offered: tuple[str, ...] = ()
    listed_before: tuple[str, ...] = ()
    streak = 0
    urgent = frustrated = answered = False
    last_said = asked = ""
    for message in messages:
        if getattr(message.role, "value", message.role) == "user":
            last_said = message.text or ""
            # As respond() keeps it: the list before this turn, unless the turn lists
            # another or turns this one down.
            listed_before = offered
            said = understanding.read(message.text or "")
            urgent = urgent or said.approached
            frustrated = frustrated or said.frustrated
            continue
        kb = message.kb or {}
        decision = kb.get("decision")
        if decision is None:
            if message.buttons and offered:
                # Newer buttons (「都不是」's): 「1」 no longer picks from the list.
                offered = listed_before = ()
            continue
        offered = ()
        answered = decision == Decision.ANSWER.value
        if decision == Decision.ANSWER.value and kb.get("faq_id"):
            answered_id = str(kb["faq_id"])
            if answered_id != topic:
                earlier = topic
            topic, streak = answered_id, 0
        elif decision == Decision.FALLBACK.value:
            streak += 1
        else:
            streak = 0
            picks = (chosen_faq_id(button.payload) for button in message.buttons)
            offered = tuple(faq_id for faq_id in picks if faq_id)
            listed_before = ()
        asked = last_said if decision in (Decision.CLARIFY.value, Decision.FALLBACK.value) else ""
    return Context(
        topic=topic,
        offered=offered,
        asked=asked if offered or streak else "",
        listed_before=listed_before,
        fallback_streak=streak,
        urgent=urgent,
        frustrated=frustrated,
        answered=answered,
        earlier=earlier,
    )
