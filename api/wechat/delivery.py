"""客服消息: messages to a WeChat user outside the 5-second passive reply.

Used for answers that missed the deadline, the rest of a long answer, and (from the
agent console) agents' replies. WeChat only accepts them within 48 hours of the user's
last message (error 45015) and at most 20 per user message (45047); a message that
cannot be delivered is logged and reported as not sent, never dropped silently.

Every message goes through the outbox (support.outbox) first: it is stored, sent at
once, and if WeChat or the network fails for a passing reason, retried with backoff by
the gateway's `OutboxWorker`, from any replica and after a restart. 45015 and 45047
will not change by trying again: those are given up at once and marked on the
message as not delivered (「未送达」 in the agent console's case).
"""

from __future__ import annotations

import asyncio
import contextlib
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
from support.metrics import wechat_customer_message_failures_total
from support.outbox.schemas import OutboxItem, OutboxStatus, SendResult
from support.outbox.service import OutboxService
from support.settings import Settings

if TYPE_CHECKING:
    from support.conversations.schemas import ConversationView
    from support.conversations.store import ConversationStore

logger = logging.getLogger(__name__)

WINDOW_EXPIRED = 45015
QUOTA_EXCEEDED = 45047
# Refusals that trying again cannot change: given up at once, marked for agents.
FINAL_ERRCODES = frozenset({WINDOW_EXPIRED, QUOTA_EXCEEDED})
API_TIMEOUT_SECONDS = 10
OUTBOX_POLL_SECONDS = 0.25


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
        result = await asyncio.to_thread(self.send_parts, openid, parts)
        return result.sent == len(parts)

    def send_parts(self, openid: str, parts: Sequence[str]) -> SendResult:
        """Send in order, stopping at the first failure; says how many went and why not."""
        for sent, part in enumerate(parts):
            failure = self._send_text(openid, part)
            if failure is not None:
                errcode, error, retryable = failure
                label = "network" if errcode is None else str(errcode)
                wechat_customer_message_failures_total.labels(errcode=label).inc()
                return SendResult(sent, errcode, error, retryable)
        return SendResult(len(parts))

    def _send_text(self, openid: str, text: str) -> tuple[int | None, str, bool] | None:
        """None when WeChat took it; else (errcode, error, whether a retry may succeed)."""
        if not (self._settings.wechat_app_id and self._settings.wechat_app_secret):
            logger.error("未配置公众号 AppID / AppSecret，无法发送客服消息（openid=%s）", openid)
            return None, "未配置公众号 AppID / AppSecret", False
        try:
            wechat_client(self._settings).message.send_text(openid, text)
        except WeChatClientException as exc:
            if exc.errcode == WINDOW_EXPIRED:
                logger.warning("客服消息未送达：用户超过 48 小时未互动（openid=%s）", openid)
            elif exc.errcode == QUOTA_EXCEEDED:
                logger.warning("客服消息未送达：已达到下发条数上限（openid=%s）", openid)
            else:
                logger.error("客服消息发送失败（openid=%s）：%s", openid, exc)
            errcode = int(exc.errcode) if exc.errcode is not None else None
            return errcode, str(exc), errcode not in FINAL_ERRCODES
        except requests.RequestException as exc:
            logger.error("客服消息接口无法访问（openid=%s）：%s", openid, exc)
            return None, type(exc).__name__, True
        return None


class OutboxWorker:
    """Sends the outbox's rows: at once when queued, then again when due after a failure.

    The outcome is recorded on the conversation's messages: ``sent``; ``pending`` while a
    retry is scheduled; ``failed`` when WeChat refused for good (45015, 45047) or every
    attempt failed, which the agent console shows on the case as 「未送达」.
    """

    def __init__(
        self,
        outbox: OutboxService,
        messenger: CustomerMessenger,
        conversations: ConversationStore,
        poll_interval: float = OUTBOX_POLL_SECONDS,
    ) -> None:
        self._outbox = outbox
        self._messenger = messenger
        self._conversations = conversations
        self._poll_interval = poll_interval
        self._loop_task: asyncio.Task[None] | None = None

    async def submit(
        self, openid: str, parts: Sequence[str], message_ids: Sequence[int] = ()
    ) -> bool | None:
        """Queue and try once now: True sent, False refused for good, None retrying later."""
        if not parts:
            return True
        item = await asyncio.to_thread(self._outbox.enqueue, openid, parts, message_ids)
        status = await self._attempt(item)
        return None if status is OutboxStatus.PENDING else status is OutboxStatus.SENT

    async def _attempt(self, item: OutboxItem) -> OutboxStatus:
        result = await asyncio.to_thread(self._messenger.send_parts, item.openid, item.remaining)
        recorded = await asyncio.to_thread(self._outbox.record, item, result)
        if recorded is None:
            # Our lease ran out and another gateway holds the row now: it reports.
            return OutboxStatus.PENDING
        status = recorded
        if item.message_ids:
            # Failed messages stay stored and marked, so agents see what the user never got.
            await asyncio.to_thread(
                self._conversations.set_delivery, list(item.message_ids), status.value
            )
        if status is OutboxStatus.FAILED:
            logger.warning(
                "客服消息放弃发送（outbox=%s，错误码 %s）：已在会话里标记为未送达",
                item.id,
                result.errcode,
            )
        return status

    async def run_due(self) -> int:
        """Send every row that is due now; returns how many were tried."""
        items = await asyncio.to_thread(self._outbox.claim_due)
        for item in items:
            await self._attempt(item)
        return len(items)

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:  # the database may be away for a moment: try again later
                logger.exception("客服消息发件箱暂时无法处理")
            await asyncio.sleep(self._poll_interval)

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None


class WeChatOutbound:
    """Agent replies and notices to WeChat users, by 客服消息 (the conversation's openid)."""

    def __init__(self, outbox: OutboxWorker) -> None:
        self._outbox = outbox

    async def deliver(
        self, conversation: ConversationView, text: str, message_ids: Sequence[int] = ()
    ) -> bool | None:
        """True sent, False not deliverable; None queued for a retry (the outbox records
        the outcome on ``message_ids`` itself)."""
        if not conversation.external_id:
            return False
        return await self._outbox.submit(conversation.external_id, split_text(text), message_ids)
