"""Where a conversation comes from."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    WEB = "web"
    WECHAT = "wechat"
    # Rasa's REST channel used directly, without the gateway (tests, curl).
    REST = "rest"


# Channels whose users read answers on a phone, in a chat app's bubbles: an FAQ entry's
# short version (its ``wechat_answer``, written by the maintainer) is said there instead.
BRIEF_CHANNELS = frozenset({Channel.WECHAT})
