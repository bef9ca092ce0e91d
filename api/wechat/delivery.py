"""客服消息: messages to a WeChat user outside the 5-second passive reply.

Used for answers that missed the deadline, the rest of a long answer, and (from the
agent console) agents' replies. WeChat only accepts them within 48 hours of the user's
last message (error 45015) and at most 20 per user message (45047); a message that
cannot be delivered is logged and reported as not sent, never dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from api.wechat.text import split_text
from support.settings import Settings

if TYPE_CHECKING:
    from support.conversations.schemas import ConversationView

logger = logging.getLogger(__name__)

WINDOW_EXPIRED = 45015
QUOTA_EXCEEDED = 45047
API_TIMEOUT_SECONDS = 10


class _Client(WeChatClient):
    def fetch_access_token(self) -> Any:
        # wechatpy hard-codes api.weixin.qq.com here; use the configured base like every call.
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


_clients: dict[tuple[str, str, str, str | None], Any] = {}
_clients_lock = threading.Lock()


def wechat_client(settings: Settings) -> Any:
    """One wechatpy client per account, so the access token is fetched once and reused.

    With Redis the token is kept there: every gateway worker then uses the same token
    instead of each fetching its own (a new token soon invalidates the previous one).
    """
    key = (
        settings.wechat_app_id,
        settings.wechat_app_secret,
        settings.wechat_api_base,
        settings.redis_url,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            session = (
                RedisStorage(redis.Redis.from_url(settings.redis_url), prefix="kefu:wechatpy")
                if settings.redis_url
                else None
            )
            client = _Client(
                settings.wechat_app_id,
                settings.wechat_app_secret,
                session=session,
                timeout=API_TIMEOUT_SECONDS,
            )
            client.API_BASE_URL = settings.wechat_api_base
            _clients[key] = client
        return client


class CustomerMessenger:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, openid: str, parts: Sequence[str]) -> bool:
        """Send the parts in order; stops at the first failure (the rest would fail too)."""
        for part in parts:
            if not await asyncio.to_thread(self._send_text, openid, part):
                return False
        return True

    def _send_text(self, openid: str, text: str) -> bool:
        if not (self._settings.wechat_app_id and self._settings.wechat_app_secret):
            logger.error("未配置公众号 AppID / AppSecret，无法发送客服消息（openid=%s）", openid)
            return False
        try:
            wechat_client(self._settings).message.send_text(openid, text)
        except WeChatClientException as exc:
            if exc.errcode == WINDOW_EXPIRED:
                logger.warning("客服消息未送达：用户超过 48 小时未互动（openid=%s）", openid)
            elif exc.errcode == QUOTA_EXCEEDED:
                logger.warning("客服消息未送达：已达到下发条数上限（openid=%s）", openid)
            else:
                logger.error("客服消息发送失败（openid=%s）：%s", openid, exc)
            return False
        except requests.RequestException as exc:
            logger.error("客服消息接口无法访问（openid=%s）：%s", openid, exc)
            return False
        return True


class WeChatOutbound:
    """Agent replies and notices to WeChat users, by 客服消息 (the conversation's openid)."""

    def __init__(self, messenger: CustomerMessenger) -> None:
        self._messenger = messenger

    async def deliver(self, conversation: ConversationView, text: str) -> bool:
        if not conversation.external_id:
            return False
        return await self._messenger.send(conversation.external_id, split_text(text))
