"""Where a conversation comes from."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    WEB = "web"
    WECHAT = "wechat"
    # Rasa's REST channel used directly, without the gateway (tests, curl).
    REST = "rest"
