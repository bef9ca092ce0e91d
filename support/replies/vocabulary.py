"""The bot's words and buttons for answering from the KB, in one place.

The action server and the gateway's degraded mode (Rasa unreachable) both reply with
these; the button payloads are the intents the dialogue model knows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

# Button payloads: Rasa intents, sent as "/intent" so NLU is skipped.
AFFIRM = "/affirm"
DENY = "/deny"
OPEN_TICKET = "/open_ticket"
REQUEST_HUMAN = "/request_human"
ASK_FAQ = "/ask_faq"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


HELPED_QUESTION = "这个回答解决您的问题了吗？"
FEEDBACK_BUTTONS = (Button("是", AFFIRM), Button("否", DENY))
CLARIFY_PROMPT = "我不太确定您问的是哪一个，请选择最接近的问题："
# Only one FAQ is plausibly right: ask whether it is the one, and leave a way out.
CLARIFY_ONE_PROMPT = (
    "您想问的是不是下面这个问题？点击即可查看；如果不是，可以换个说法再问，也可以转人工客服。"
)
# A follow-up to a clarify list (「那怎么办」) before anything was picked from it.
PICK_FIRST = "您说的是下面哪一种情况？请先选一个，我再接着回答。"
TICKET_OR_HUMAN = (Button("提交工单", OPEN_TICKET), Button("转人工客服", REQUEST_HUMAN))
# After a second miss in a row a person is the better offer.
HUMAN_FIRST = (TICKET_OR_HUMAN[1], TICKET_OR_HUMAN[0])
FALLBACK_FIRST = (
    "抱歉，这个问题我暂时回答不了。您可以换个说法再问一次，"
    "也可以提交工单由专人跟进，或者转人工客服。"
)
FALLBACK_AGAIN = (
    "抱歉，我还是没能找到答案。建议转人工客服，由客服同事直接帮您处理；也可以提交工单。"
)
# A miss on a question about something else entirely (weather, shares, homework): say
# what the assistant is for; a ticket would be for nothing, a person stays the way out.
OFF_TOPIC = (
    "抱歉，这个我帮不上忙。我是钱包的客服助手，只能解答账户登录、支付、充值、提现、转账、"
    "银行卡这类和钱包有关的问题；如果您的问题和钱包有关，可以换个说法再问，或者转人工客服。"
)
# 「那要多久才能处理完」 right after an open ticket's status: no time the seeds support.
TICKET_TIMING = (
    "工单的处理时间要看具体问题，我这里给不出确切的时间，客服处理后会通过您留下的联系方式告诉您结果。"
    "比较着急的话，可以转人工客服帮您催一下。"
)
GLAD_IT_HELPED = "太好了！还有其他问题随时问我。"
SORRY_IT_DID_NOT_HELP = "抱歉没能解决您的问题。您可以提交工单，我们会有专人跟进；也可以转人工客服。"
ANYTHING_ELSE = "好的。请问还有什么可以帮您？"
NOT_UNDERSTOOD = "抱歉，我没有理解您的意思。您可以换个说法，或者提交工单、转人工客服。"
PERSON_BUTTON = TICKET_OR_HUMAN[1]
STILL_NOT_UNDERSTOOD = "抱歉没能帮上忙。需要的话可以直接转人工客服，或者提交工单。"

# Fraud or theft: what to do right now, before a person takes over.
_FIRST_STEPS = (
    "您的资金或账户可能有风险，请先立即做这几件事：\n"
    "1. 马上修改登录密码和支付密码；如果还能登录，可以在 App 内申请临时冻结账户"
    "（入口以 App 内显示为准），人工客服也可以帮您冻结；\n"
    "2. 联系发卡银行冻结或挂失已绑定的银行卡；\n"
    "3. 不要再向对方转账，也不要把验证码、密码或助记词告诉任何人，真正的客服绝不会向您索要；\n"
    "4. 保留聊天记录、转账凭证等证据，涉及诈骗请尽快报警。\n"
)
SAFETY_STEPS = _FIRST_STEPS + "我现在就为您转接人工客服。"
# After the help centre's own entry on scams or a stolen account: the steps in one line.
SAFETY_BRIEF = (
    "情况紧急，请先修改登录密码和支付密码、联系发卡银行冻结已绑定的银行卡，不要再向对方转账，"
    "也不要把验证码、密码或助记词告诉任何人。我现在就为您转接人工客服。"
)
# The same, to a user already waiting for a person: the queue moves them up.
SAFETY_STEPS_WAITING = _FIRST_STEPS + "您的对话已标为紧急，人工客服接入后会优先处理。"
# Before the answer to a problem told with the request for a person.
WHILE_A_PERSON_COMES = "马上为您转接人工客服。在客服接入之前，您可以先看看帮助中心的说明："
# Said once to a user who writes while waiting for a person: the message is not lost.
WAITING_NOTED = "收到。人工客服接入后会看到您在这里发的所有消息，请稍候。"
# A question asked in the queue that the help centre cannot answer, after WAITING_NOTED.
QUESTION_NOTED = "这个问题已经记下，人工客服接入后会一并回复您，请稍候。"
# The same in an urgent case (fraud, theft): what helps before the agent comes.
URGENT_QUESTION_NOTED = (
    "这个问题已经记下，人工客服接入后会优先回复您。在此之前，请先按上面的步骤保护账户、"
    "保留聊天和转账记录；涉及诈骗的，请尽快向警方报案。"
)
# After the help centre answered a question asked in the queue (once a wait).
STILL_IN_QUEUE = (
    "以上是帮助中心的说明，供您先参考。您仍在人工客服的队列中，客服接入后会在这里回复您；"
    "不再需要人工的话，回复「不用人工了」即可。"
)
# 「谢谢」「拜拜」 while waiting: the case stays in the queue.
WAITING_THANKS = "不客气。人工客服接入后会在这里回复您，请稍候。"
WAITING_GOODBYE = "好的，再见。您的问题仍在人工客服的队列中，客服接入后会在这里回复您。"
# 「不用人工了」 while waiting: the user leaves the queue (the bot then takes the rest of
# the message; with nothing else said, the second form).
LEFT_QUEUE = "已为您取消人工客服排队。"
LEFT_QUEUE_DONE = "已为您取消人工客服排队。还有什么可以帮您？"
# The queue could not be left just now (the dialogue service is down).
CANNOT_LEAVE_QUEUE = (
    "暂时没能为您取消排队，您仍在人工客服的队列中。客服接入后，直接告诉客服不需要了即可。"
)
# 「不用人工了」 in an urgent case: it stays in the queue.
STAYS_URGENT = (
    "您的情况涉及资金安全，人工客服仍会尽快联系您，请留意这里的消息；等待期间也可以继续在这里提问。"
)
# An older 「提交工单」 button pressed while waiting.
WAITING_NO_FORM = (
    "排队期间不能在这里填写工单。客服接入后，直接把问题告诉客服即可，需要时客服会为您登记。"
)
# Said again while waiting, after the steps were given.
URGENT_NOTED = (
    "收到，您的对话已标为紧急，人工客服接入后会优先处理。在此之前请先按上面的步骤修改密码、"
    "联系银行冻结银行卡，不要再向对方转账或透露验证码；涉及诈骗请尽快报警。"
)
SCAM_WARNING = (
    "提醒您：任何人（包括自称客服、官方或警察的人）索要验证码、密码或助记词，"
    "或让您转账到“安全账户”、共享屏幕，都是诈骗。真正的客服绝不会这样要求，请不要照做。"
)
# The user offers us a secret (「我把验证码发给你们吧」「能不能发给你们帮我保存」).
KEEP_SECRETS = (
    "请不要把密码、验证码、CVV、助记词或私钥发给任何人，包括我们：处理您的问题不需要这些信息，"
    "我们也不会替您保管。真正的客服绝不会向您索要，有人以客服的名义要，一定是诈骗。"
)
APOLOGY = "非常抱歉给您带来不好的体验，我们很重视您的问题。"
APOLOGY_PERSON = (
    "非常抱歉给您带来不好的体验。这个问题我建议直接转人工客服，由客服同事帮您处理；也可以提交工单。"
)
# 「余额是够的」 after a list of causes: the ones left.
RULED_OUT = (
    "那可以再看看其他几种可能：{part}\n"
    "如果都排除了还是不行，可以提交工单或转人工客服，由专人帮您查看。"
)
# A follow-up on the answer just given: the part that speaks to it, or what comes next.
RELEVANT_PART = "关于这一点：{part}\n如果还是没有解决，可以提交工单或转人工客服，由专人帮您查看。"
NOTHING_MORE = (
    "上面的回答已经是帮助中心里关于这个问题的全部说明了。"
    "如果还没有解决，建议转人工客服，或者提交工单，由专人帮您查看。"
)
# The same, naming what was asked: two follow-ups in a row get two different replies.
NOTHING_MORE_ON = (
    "关于「{question}」，帮助中心里没有比上面更具体的说明了。"
    "建议转人工客服，或者提交工单，由专人帮您查看。"
)
# The same, after a message that tells (「照片拍得很清楚啊」) rather than asks.
NOTHING_MORE_TOLD = (
    "帮助中心里对这种情况没有比上面更具体的说明了。建议转人工客服，或者提交工单，由专人帮您查看。"
)
_NOTHING_MORE_ON = re.compile(
    re.escape(NOTHING_MORE_ON).replace(re.escape("{question}"), ".+"), re.DOTALL
)


def says_nothing_more(text: str) -> bool:
    """Whether a reply only says the help centre has nothing more on a follow-up."""
    return text in (NOTHING_MORE, NOTHING_MORE_TOLD) or bool(_NOTHING_MORE_ON.fullmatch(text))


# A message that was only a secret (hidden by now), after the guard's warning.
DESCRIBE_IT = "您发送的敏感内容已被隐藏，不会被保存。如有疑问，请直接描述遇到的问题。"
# 「那怎么办」 right after an answer: the answer is what to do.
WHAT_NOW_STEPS = (
    "可以先按上面的步骤逐条试一下。如果已经照做了还是不行，建议转人工客服，"
    "或者提交工单，由专人帮您查看。"
)
WHAT_NOW = (
    "上面就是目前的处理办法。如果照做以后还是没有解决，建议转人工客服，"
    "或者提交工单，由专人帮您查看。"
)
OTHER_QUESTION = "您还问到了另一个问题，点这里查看："
OTHER_QUESTIONS = "您还问到了其他问题，点这里查看："
# None of the options offered was the one.
NONE_OF_THESE = (
    "好的，看来列出的都不是您要问的。请换个说法描述一下您的问题，我再帮您找找；"
    "也可以直接转人工客服，或者提交工单。"
)
# 「不是这个问题」 to an answer.
NOT_THIS_ANSWER = (
    "抱歉，刚才的回答不是您要问的。请换个说法描述一下您的问题，我再帮您找找；"
    "也可以直接转人工客服，或者提交工单。"
)
# A typed number that picks nothing: more than the options listed, or no list at all.
NO_SUCH_OPTION = "刚才列出的问题只有 {count} 个，请回复 {numbers}，或者直接说说您遇到的问题。"
NOTHING_TO_PICK = (
    "没有找到这个编号对应的选项。请直接说说您遇到的问题，我来帮您查找；"
    "如果上面有按钮，也可以直接点选，或者说「转人工」。"
)
# The answer just given did not solve it (「还是不行」).
NOT_SOLVED = (
    "抱歉，上面的办法没能解决您的问题。这种情况建议转人工客服，由客服同事帮您查看具体原因；"
    "也可以提交工单，我们会有专人跟进。"
)
# The same, to a user who asked for a ticket in the same breath: the form follows.
NOT_SOLVED_TICKET = "抱歉，上面的办法没能解决您的问题。我这就帮您提交工单，由专人跟进。"
# An FAQ marked 「escalate: human」 usually needs a person to look at the account.
PERSON_ADVISED = "这类问题通常需要人工客服核实处理，可以直接转人工。"


class HandoffReason(StrEnum):
    """Why the conversation went to a person, as the escalation records it.

    Codes, so that the analytics can count them; REASON_LABELS has their words.
    """

    URGENT = "urgent_risk"
    FRUSTRATION = "frustration"
    USER_REQUEST = "user_request"
    BOT_FALLBACK = "bot_fallback"
    TICKET_REQUEST = "ticket_request"


REASON_LABELS = {
    HandoffReason.URGENT: "疑似诈骗或盗用（紧急）",
    HandoffReason.FRUSTRATION: "用户不满",
    HandoffReason.USER_REQUEST: "用户要求转人工",
    HandoffReason.BOT_FALLBACK: "机器人连续未能回答",
    HandoffReason.TICKET_REQUEST: "用户要求提交工单（对话服务不可用）",
}


def handoff_notice(queue_position: int) -> str:
    return (
        f"正在为您转接人工客服，您目前排在第 {queue_position} 位。"
        "客服接入后会直接在这里回复您，请稍候。"
    )


def queue_place_notice(queue_position: int) -> str:
    """「人呢」 or 「转人工」 again while waiting: where the user stands."""
    return (
        f"您已在人工客服的队列中，目前排在第 {queue_position} 位，不用重新排队。"
        "客服接入后会直接在这里回复您，请稍候。"
    )


def clarify_payload(faq_id: str) -> str:
    """A button payload that makes the bot answer this FAQ directly."""
    return ASK_FAQ + json.dumps({"faq_id": faq_id})


def chosen_faq_id(payload: str | None) -> str | None:
    """The FAQ a clarify button's payload (``clarify_payload``) picks; None for other text."""
    if not payload or not payload.startswith(ASK_FAQ):
        return None
    try:
        entities = json.loads(payload.removeprefix(ASK_FAQ) or "{}")
    except ValueError:
        return None
    faq_id = entities.get("faq_id") if isinstance(entities, dict) else None
    return faq_id if isinstance(faq_id, str) and faq_id else None
