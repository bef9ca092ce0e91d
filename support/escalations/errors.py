"""What can go wrong with a case, as agents are told it."""

from __future__ import annotations

from support.errors import ConflictError, NotFoundError


class EscalationNotFoundError(NotFoundError):
    default_message = "没有找到这个会话。"


class EscalationResolvedError(ConflictError):
    """The case is closed: no more replies, no re-assignment."""

    default_message = "这个会话已经解决并交还机器人了。"
