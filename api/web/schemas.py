"""Request and response bodies of the web chat API."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from support.conversations.schemas import PublicMessageView

MAX_TEXT = 1000

# Control characters (but line breaks and tabs) and lone surrogates: nothing a person
# types, and PostgreSQL refuses NUL in text, which would make the message a 500.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class SessionCreated(BaseModel):
    session_id: str
    token: str


class UserMessage(BaseModel):
    """Either typed ``text`` or the ``payload`` of a button the bot offered."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=MAX_TEXT)
    payload: str | None = Field(default=None, min_length=1, max_length=256)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _UNPRINTABLE.sub("", value).strip()
        if not value:
            raise ValueError("消息不能为空")
        return value

    @field_validator("payload")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and _UNPRINTABLE.search(value):
            raise ValueError("这个选项已失效，请直接输入您的问题。")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> UserMessage:
        if (self.text is None) == (self.payload is None):
            raise ValueError("请提供 text 或 payload 其中之一")
        return self


class TurnOut(BaseModel):
    replies: list[PublicMessageView]
    state: Literal["bot", "waiting_agent", "agent"]
    user_message_id: int
    degraded: bool = False


class HistoryOut(BaseModel):
    # Typed as the public part: an agent's name or the KB's decision never reach users.
    messages: list[PublicMessageView]
    state: Literal["bot", "waiting_agent", "agent"]


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Literal["up", "down"]
