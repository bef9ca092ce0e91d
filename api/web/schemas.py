"""Request and response bodies of the web chat API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class ButtonOut(BaseModel):
    title: str
    payload: str


class ReplyOut(BaseModel):
    id: int
    text: str
    buttons: list[ButtonOut]
    role: Literal["bot", "agent", "system"] = "bot"


class TurnOut(BaseModel):
    replies: list[ReplyOut]
    state: Literal["bot", "waiting_agent", "agent"]
    user_message_id: int
    degraded: bool = False


class HistoryMessage(BaseModel):
    id: int
    role: Literal["user", "bot", "agent", "system"]
    text: str
    buttons: list[ButtonOut]
    feedback: Literal["up", "down"] | None
    created_at: str


class HistoryOut(BaseModel):
    messages: list[HistoryMessage]
    state: Literal["bot", "waiting_agent", "agent"]


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Literal["up", "down"]
