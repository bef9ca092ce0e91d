"""The bot's words and buttons for answering from the KB, in one place.

The action server and the gateway's degraded mode (Rasa unreachable) both reply with
these; the button payloads are the intents the dialogue model knows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

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
GLAD_IT_HELPED = "太好了！还有其他问题随时问我。"
SORRY_IT_DID_NOT_HELP = "抱歉没能解决您的问题。您可以提交工单，我们会有专人跟进；也可以转人工客服。"
ANYTHING_ELSE = "好的。请问还有什么可以帮您？"
NOT_UNDERSTOOD = "抱歉，我没有理解您的意思。您可以换个说法，或者提交工单、转人工客服。"


def handoff_notice(queue_position: int) -> str:
    return (
        f"正在为您转接人工客服，您目前排在第 {queue_position} 位。"
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
