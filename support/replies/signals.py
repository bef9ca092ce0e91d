"""What a user's message says besides its question: a request for a person, a risk of
fraud or theft, anger, a pick from the options just offered, small talk around it.

Read from the message's normalised text (kb.text.canonicalize: width, case,
traditional → simplified, common typos), so 「轉人工」「转认工」 and 「转人工」 are one
request. Used by the action server and by the gateway's degraded mode alike, so both
understand a message the same way. Patterns describe how people phrase each thing,
not particular messages: a person requested by any verb, money lost in any words.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache

from kb.text import SYNONYMS_FILE, USER_DICTIONARY, canonicalize

# A request for a person: a verb of asking or moving, then a human; or the bare noun.
_PERSON_NOUN = r"(?:人工|真人|活人|人类|人工服务|坐席|客服专员|客服人员)"
_PERSON = re.compile(
    rf"(?:转|接|找|要|换|叫|请|呼叫|联系|需要|给我|帮我转|我要|我想找|让)[个一位名]?(?:个)?{_PERSON_NOUN}"
    # 「需要人工审核吗」「人工费」 are about a process or a fee, not a request for a person.
    r"(?!审核|核实|复核|处理|费|智能)"
    # 「人工客服几点上班」 asks about the service; the FAQ answers it.
    rf"|{_PERSON_NOUN}客服(?!的?(?:工作|上班|服务)?时间|的?电话|几点|在哪)"
    r"|^[\s\W]*(?:人工|转人工|真人)[\s\W]*$"
    r"|转(?:认|仁|任|忍)工|人\s+工客服"
    r"|(?<![a-z])(?:human|real person|live agent|live person|real agent|someone real"
    r"|talk to (?:an? |the )?(?:agent|person|representative|someone)"
    r"|speak (?:to|with) (?:an? |the )?(?:agent|person|representative|someone))"
)
# 「不用转人工」「不要人工」 say the opposite.
_NOT_PERSON = re.compile(
    rf"(?:不用|不要|别|无需|不需要|不必|不想)(?:帮我|给我)?(?:转|找|接|要)?{_PERSON_NOUN}"
)

# Money or access already lost: someone else acted, or the user was deceived.
_LOSS = re.compile(
    r"被骗|受骗|上当|被诈骗|诈骗了|骗了我|骗走|被盗|盗刷|盗号|被黑|账户被.{0,3}(?:盗|黑|登)"
    r"|不是(?:我|本人)(?:本人)?(?:的)?(?:操作|转|付|消费|买|登录|提现|授权)"
    r"|我(?:没|没有|从没|从来没)(?:有)?(?:操作|转账|付款|消费|登录|授权|提现)过?"
    r"|陌生(?:交易|扣款|转账|设备|登录)|莫名其妙.{0,4}(?:扣|少|转|没)|不翼而飞|被转走|全没了"
    r"|(?:转|汇|付|打)(?:了|给)?.{0,8}骗子|骗子.{0,6}(?:转|汇|付|钱)"
    r"|(?<![a-z])(?:scam(?:med)?|hacked|stolen|stole|fraud|unauthori[sz]ed)(?![a-z])"
)
# Signs of a scam in progress or a question about one: impersonation, codes asked for,
# "safe accounts", screen sharing.
_SCAM = re.compile(
    r"冒充|自称.{0,4}(?:客服|官方|工作人员|警察)|假(?:冒)?客服|诈骗|骗子|骗局|安全账户|刷单|刷信誉"
    r"|共享屏幕|屏幕共享|远程(?:控制|协助)|钓鱼|可疑链接|陌生链接"
    # Someone else asking for a secret (「修改密码要验证码吗」 is a plain question).
    r"|(?:索要|问我要|找我要|跟我要|向我要|骗"
    r"|(?:对方|他|她|陌生人|骗子|有人|客服|警察|工作人员)(?:让|叫|要)我)"
    r".{0,8}(?:验证码|密码|助记词|私钥)"
    r"|(?:验证码|密码|助记词|私钥).{0,6}(?:发给|告诉|给)(?:他|她|对方|客服|你们|陌生人)"
    r"|(?:发给|告诉|给)(?:他|她|对方|陌生人).{0,6}(?:验证码|密码|助记词|私钥)"
    r"|(?<![a-z])phishing(?![a-z])"
)
# The user is personally involved (not asking in general): "让我…", money moved, "刚…".
_INVOLVED = re.compile(
    r"让我|叫我|要我|给我打|我刚|刚才|刚刚|已经|转了|付了|汇了|打了.{0,4}钱|我被"
)

# Anger, contempt or asking again and again.
_FRUSTRATION = re.compile(
    r"垃圾|气死|气炸|烦死|急死|无语|投诉|太差|差劲|烂透|很烂|真烂|什么玩意|搞什么|有毛病|有病吧|智障|废物"
    r"|坑人|坑钱|骗钱|破(?:app|软件|机器人|平台|系统|玩意)"
    # Asking again, not counting: 「都第三次了」, not 「第二次转账」.
    r"|(?:都|已经)第[二三四五六七八九十几两\d]+次"
    r"|第[二三四五六七八九十几两\d]+次(?:了|问|说|联系|找|来|打|反映|咨询|投诉)"
    r"|说了(?:多少|几|好几|n)(?:次|遍)|问了(?:多少|几|好几|n)(?:次|遍)|一直没人|没人管|没人理"
    r"|[!！]{3,}|[?？]{3,}"
    r"|(?<![a-z])(?:terrible|useless|worst|ridiculous|awful|wtf|angry|unacceptable"
    r"|nobody helps)(?![a-z])"
)

# Asking to leave a message for the support team.
_TICKET = re.compile(
    r"(?:提交|提|开|建|填|留)(?:个|一个|一张)?(?:工单|单子)|工单|留言|(?<![a-z])ticket(?![a-z])"
)

# A question, by its mark or its question words (not "好的" with a question in tow).
_ASKS = re.compile(
    r"[?？]|(?:吗|嘛|么|呢|没)[\s。.!！~～]*$|怎么|怎样|如何|为什么|为啥|咋|啥|什么|多少|多久|多长"
    r"|几[天点个号次分小]|哪|能不能|能否|可不可以|可以.{0,12}吗|是否|有没有|会不会|要不要|行不行|是不是|在哪"
    r"|^(?:how|what|why|when|where|can|could|is|are|do|does|will|which|who|should)(?![a-z])"
)

# Words around a question that carry nothing of it: greetings, thanks, yes/no, goodbyes.
_FILLER = re.compile(
    # Openers that may run straight into the question: 「请问怎么…」.
    r"^(?:你好|您好|请问|麻烦(?:问一下|问下|问)|打扰(?:一下)?|在吗|在不在|有人吗)[\s,，.。!！~～、:：?？]*"
    # Words that stand alone: 「好的，…」, but 「好用吗」 is a question.
    r"|^(?:哈喽|哈啰|嗨|客服|亲|谢谢|多谢|感谢|好的|好吧|好|行|嗯+|哦+|噢|ok|okay|yes|no|thanks"
    r"|thank you|hi|hello|hey|是的|是|对|对的|对了|不是|不对|没有|不用了|算了|那个|还有|另外|顺便"
    r"|拜拜|再见|bye)(?:[\s,，.。!！~～、:：]+|$|(?=谢谢|多谢|拜拜|再见|bye))"
)

_CLAUSE_BREAK = re.compile(
    r"[，,。.!！?？;；\n]+|(?:还有|另外|顺便问一下|顺便问下|顺便|以及|and also)"
)
_SPACES = re.compile(r"\s+")

# A pick from a numbered list: 「1」「第一个」「①」「选2」「the first one」.
_ORDINALS = "一二三四五六七八九"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨"
_ENGLISH_ORDINALS = ("first", "second", "third", "fourth", "fifth")
_CHOICE = re.compile(
    rf"^(?:我)?(?:选|选择|要|是)?(?:第)?(?P<n>[1-9]|[{_ORDINALS}])(?:个|项|条|种|号|个吧)?(?:吧|的)?$"
    rf"|^(?P<c>[{_CIRCLED}])$"
    r"|^(?:the |option )?(?P<e>first|second|third|fourth|fifth|[1-9])(?: one| option)?$"
)
_LAST = re.compile(r"^(?:最后一个|最后那个|the last one|last)$")
# What people add to an option's words: 「登录的那个」「选支付密码」.
_CHOICE_WORDS = re.compile(r"^(?:我)?(?:选|选择|要|是)?|(?:的)?(?:那个|这个|那项|那条|吧|啊|呀)$")


@dataclass(frozen=True)
class Signals:
    """What one message says, besides (or instead of) its question."""

    text: str
    wants_person: bool
    # Money or access already lost, or a scam the user is caught in right now.
    urgent: bool
    # Any sign of fraud or impersonation, even a question about it in general.
    scam: bool
    frustrated: bool
    wants_ticket: bool
    asks: bool
    # The message without what is said around the question (requests, greetings, anger).
    question: str


def normalize(text: str) -> str:
    return _SPACES.sub(" ", canonicalize(text)).strip()


def read(text: str) -> Signals:
    normal = normalize(text)
    wants_person = bool(_PERSON.search(normal)) and not _NOT_PERSON.search(normal)
    loss = bool(_LOSS.search(normal))
    scam = bool(_SCAM.search(normal))
    urgent = loss or (scam and bool(_INVOLVED.search(normal)))
    return Signals(
        text=normal,
        wants_person=wants_person,
        urgent=urgent,
        scam=scam or loss,
        frustrated=bool(_FRUSTRATION.search(normal)),
        wants_ticket=bool(_TICKET.search(normal)),
        asks=bool(_ASKS.search(normal)),
        question=question_part(normal),
    )


def clauses(text: str) -> list[str]:
    """The message's clauses, each long enough to mean something on its own."""
    return [part.strip() for part in _CLAUSE_BREAK.split(text) if len(part.strip()) >= 3]


def question_part(normal: str) -> str:
    """The clauses that carry the question: person requests and filler words dropped."""
    kept = []
    for clause in _CLAUSE_BREAK.split(normal):
        rest = _PERSON.sub("", clause).strip()
        while True:  # 「好的谢谢」: one filler word after another
            stripped = _FILLER.sub("", rest, count=1).strip()
            if stripped == rest:
                break
            rest = stripped
        rest = rest.strip(" ，,。.!！~～、:：")
        if rest:
            kept.append(rest)
    return "，".join(kept)


@cache
def domain_terms() -> frozenset[str]:
    """The wallet's own words (the KB's jieba dictionary and synonym targets)."""
    words = {
        line.split()[0] for line in USER_DICTIONARY.read_text("utf-8").splitlines() if line.strip()
    }
    for line in SYNONYMS_FILE.read_text("utf-8").splitlines():
        head = line.split(":", 1)[0].strip()
        if head and not head.startswith("#"):
            words.add(head)
    words |= {"钱", "余额", "银行卡", "卡", "付款", "转账", "密码", "手续费", "汇率", "限额"}
    return frozenset(normalize(word) for word in words if len(word) >= 1)


def has_domain_term(normal: str) -> bool:
    return any(term in normal for term in domain_terms())


def is_real_question(signals: Signals) -> bool:
    """Whether the words left after the small talk ask or tell something about the wallet.

    「好的，那提现要手续费吗」 is a question with 好的 in front; 「好的 拜拜」 is not.
    """
    rest = signals.question
    if len(rest) < 2:
        return False
    return has_domain_term(rest) or bool(_ASKS.search(rest))


def choice(text: str, options: list[str]) -> int | None:
    """The index of the option that ``text`` picks (a number, an ordinal or its words).

    ``options`` are the titles offered, in order. A message that picks none (a new
    question) gives None.
    """
    if not options:
        return None
    normal = normalize(text).strip(" 。.!！~～")
    if _CHOICE.match(normal) or _LAST.match(normal):
        return numbered_choice(text, len(options))
    return _choice_by_words(normal, [normalize(option) for option in options])


def numbered_choice(text: str, count: int) -> int | None:
    """The index that ``text`` picks among ``count`` options by position alone (「1」
    「第二个」「②」「最后一个」), or None: words are not read here."""
    if count <= 0:
        return None
    normal = normalize(text).strip(" 。.!！~～")
    found = _CHOICE.match(normal)
    if found:
        if found.group("n"):
            token = found.group("n")
            number = int(token) if token.isdigit() else _ORDINALS.index(token) + 1
        elif found.group("c"):
            number = _CIRCLED.index(found.group("c")) + 1
        else:
            token = found.group("e")
            number = int(token) if token.isdigit() else _ENGLISH_ORDINALS.index(token) + 1
        return number - 1 if number <= count else None
    if _LAST.match(normal):
        return count - 1
    return None


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if c.strip() and c not in "，,。.!！?？、的了吗呢"]
    return {a + b for a, b in itertools.pairwise(chars)}


def _choice_by_words(normal: str, options: list[str]) -> int | None:
    """A short message naming words that only one option has: 「支付密码」「登录的那个」."""
    words = _CHOICE_WORDS.sub("", normal).strip()
    if not 2 <= len(words) <= 10:
        return None
    mine = _bigrams(words)
    hits = []
    for index, option in enumerate(options):
        others = set().union(*(_bigrams(o) for i, o in enumerate(options) if i != index))
        hits.append(len(mine & (_bigrams(option) - others)))
    best = max(hits)
    if best == 0 or hits.count(best) > 1:
        return None
    return hits.index(best)
