"""Request and response bodies of the web chat API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from support.conversations.schemas import PublicMessageView

MAX_TEXT = 1000


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
        if value is not None and not value.strip():
            raise ValueError("消息不能为空")
        return value.strip() if value is not None else None

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
