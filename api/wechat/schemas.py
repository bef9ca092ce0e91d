"""What a WeChat callback carries in its query string, and what the webhook answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallbackParams:
    """The query string WeChat signs its callbacks with."""

    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""


@dataclass(frozen=True)
class WeChatReply:
    body: str
    media_type: str
