"""What can go wrong in a conversation, as users and agents are told it."""

from __future__ import annotations

from support import errors


class ConversationNotFoundError(errors.NotFoundError):
    default_message = "没有找到这个会话。"


class MessageNotFoundError(errors.NotFoundError):
    """Feedback on a message that is not a bot reply of this conversation."""

    default_message = "没有找到这条回答。"


class RateLimitedError(errors.RateLimitedError):
    default_message = "发送太频繁，请稍后再试。"


class InvalidChoiceError(errors.InvalidInputError):
    """A button payload the bot never offered in this conversation."""

    default_message = "这个选项已失效，请直接输入您的问题。"
