"""The WeChat message flow: de-duplicate, answer within the deadline, deliver the rest.

WeChat waits 5 seconds for a passive reply and retries up to three times if it gets
none. So each callback is claimed once in the inbox (retries get the stored reply),
answered within ``wechat_deadline`` if possible, and otherwise acknowledged with
"success" while the answer keeps being prepared and is sent later by 客服消息.
Everything a user says goes through the ConversationService, like the web widget.
Signatures, decryption and the XML itself are api.wechat.protocol's business; which
timestamps and nonces were already used is remembered here (support.inbox.nonces).

Crashes and restarts: a claim is a lease that the processing task renews. When a
gateway dies mid-answer, the lease runs out and a recovery loop (in every gateway,
including the restarted one) takes the callback over from the XML kept with the claim
and sends the answer by 客服消息. Every 客服消息 goes through the outbox
(api.wechat.delivery.OutboxWorker), which retries passing failures with backoff.

Images, voice and other non-text messages are stored in the transcript as a
placeholder (「[图片]」 with the media id, …) that agents see, and the user is told
in plain words to describe the problem in text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.wechat import protocol
from api.wechat.delivery import OutboxWorker
from api.wechat.schemas import CallbackParams, WeChatReply
from api.wechat.text import MAX_USER_TEXT, parse_choice, split_text, with_choices
from guard import scan
from support.channels import Channel
from support.conversations.errors import InvalidChoiceError, RateLimitedError
from support.conversations.flows import AGENTS_CHANNEL, ConversationService
from support.conversations.models import ConversationState, Role
from support.conversations.schemas import Button, MessageView, OutgoingMessage, TurnResult
from support.inbox.nonces import NonceStore, nonce_store
from support.inbox.store import InboxStatus, InboxStore
from support.knowledge.service import KnowledgeService, KnowledgeUnavailableError
from support.metrics import wechat_deadline_misses_total
from support.replies.vocabulary import clarify_payload
from support.settings import Settings

logger = logging.getLogger(__name__)

RATE_LIMITED = "您发送得太快了，请稍后再试。"
TEXT_ONLY = "目前只支持文字消息，请用文字描述您的问题。"
# What the transcript shows agents for a message Kefu cannot read (with its media id).
PLACEHOLDERS = {
    "image": "[图片]",
    "voice": "[语音]",
    "video": "[视频]",
    "shortvideo": "[小视频]",
    "location": "[位置]",
    "link": "[链接]",
    "file": "[文件]",
}
OTHER_PLACEHOLDER = "[其他消息]"
NON_TEXT_NAMES = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "shortvideo": "视频",
    "location": "位置",
    "link": "链接",
    "file": "文件",
}
NON_TEXT_REPLY = (
    "收到您的{kind}，已经为您保存。我目前只能读懂文字，请用文字描述您遇到的问题；"
    "需要人工客服查看的话，请回复「人工」。"
)
MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
TOO_LONG = f"您的消息有点长，请精简到 {MAX_USER_TEXT} 字以内再发给我，说清关键问题就好。"
FAILED = "抱歉，系统暂时出了点问题，请稍后再试。"
WELCOME = "欢迎关注！我是钱包智能客服，充值、提现、登录、账户安全等问题都可以直接发文字问我。"
# Shown as numbered options under the welcome; kept if the KB still has them.
WELCOME_TOPICS = (
    "password_reset",
    "topup_delay",
    "withdraw_failed",
    "account_locked",
    "contact_support",
)
SUBSCRIBE_EVENTS = frozenset({"subscribe", "subscribe_scan"})
POLL_INTERVAL_SECONDS = 0.1
# The rest of a long answer waits a moment, so it does not overtake the passive reply.
FOLLOW_UP_DELAY_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    """What a message is answered with: the full text (None: nothing) and its stored ids."""

    text: str | None
    message_ids: tuple[int, ...] = ()


@dataclass
class _Job:
    """One claimed callback, shared by the request and its processing task."""

    key: str
    openid: str
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once ``ready`` is: the passive reply's text (None: "success").
    passive: str | None = None
    # Set by the request when it gave up waiting and answered "success" (or when the
    # callback was taken over after a crash: no request is waiting any more).
    late: bool = False


def _reply_text(replies: Sequence[MessageView]) -> str | None:
    """One WeChat text for a turn's replies, with the bot's buttons as numbered options.

    Only the bot's buttons are numbered, in order: exactly what
    ConversationService.last_bot_buttons maps a digit back to.
    """
    body = "\n\n".join(reply.text for reply in replies if reply.text)
    buttons = [button for reply in replies if reply.role is Role.BOT for button in reply.buttons]
    return with_choices(body, buttons) or None


class WeChatService:
    def __init__(
        self,
        settings: Settings,
        conversations: ConversationService,
        knowledge: KnowledgeService,
        inbox: InboxStore,
        outbox: OutboxWorker,
        *,
        # Built from the settings unless given (memory, or Redis with KEFU_REDIS_URL).
        nonces: NonceStore | None = None,
    ) -> None:
        self._settings = settings
        self._conversations = conversations
        self._knowledge = knowledge
        self._inbox = inbox
        self._outbox = outbox
        self._nonces = nonces or nonce_store(settings.redis_url)
        self._lease = settings.wechat_claim_lease
        # Strong references: the event loop keeps only weak ones to running tasks.
        self._tasks: set[asyncio.Task[None]] = set()
        self._recovery: asyncio.Task[None] | None = None

    # Requests

    def verify_url(self, params: CallbackParams, echostr: str) -> str:
        """The server-address check (GET): echo ``echostr`` if WeChat signed it."""
        return protocol.verify_url(self._settings, params, echostr)

    async def handle_callback(self, body: bytes, params: CallbackParams) -> WeChatReply:
        """A message or event pushed by WeChat (POST), in plaintext or AES safe mode.

        Signed, fresh and not replayed, in that order; only then is the XML parsed.
        """
        xml, crypto = protocol.open_callback(self._settings, body, params)
        await self._refuse_replays(body, params)
        callback = protocol.Callback(protocol.parse(xml), params, crypto)
        return protocol.passive_reply(callback, await self._answer(callback.message, xml))

    async def _refuse_replays(self, body: bytes, params: CallbackParams) -> None:
        window = self._settings.wechat_replay_window
        protocol.check_fresh(params, window, time.time())
        # Remembered until the timestamp is out of the window on either side.
        if not await self._nonces.first_use(
            protocol.replay_key(params), protocol.fingerprint(body), ttl=2 * window
        ):
            raise protocol.ReplayError()

    # Exactly once, within the deadline

    async def _answer(self, message: Any, xml: str) -> str | None:
        """The passive reply's text for this callback (None: "success")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.wechat_deadline
        key = protocol.inbox_key(message)
        if not await self._inbox.claim(key, message.source, xml, self._lease):
            return await self._stored_reply(key, deadline)

        job = _Job(key, message.source)
        self._spawn(self._process(job, message))
        try:
            await asyncio.wait_for(job.ready.wait(), timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            # WeChat hung up: the processing task now sends the whole answer by 客服消息.
            job.late = job.late or not job.ready.is_set()
            raise
        # Decided here, with no await in between, so the task sees it before it decides.
        if job.ready.is_set():
            return job.passive
        job.late = True
        wechat_deadline_misses_total.inc()
        return None

    async def _stored_reply(self, key: str, deadline: float) -> str | None:
        """A retry: wait (until the deadline) for the reply the first request stores."""
        loop = asyncio.get_running_loop()
        while True:
            entry = await self._inbox.get(key)
            if entry is None:
                return None
            if entry.status is InboxStatus.DONE:
                return entry.reply
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(POLL_INTERVAL_SECONDS, remaining))

    async def _process(self, job: _Job, message: Any) -> None:
        # The lease is renewed until the claim is finished: a slow 客服消息 send on the
        # late path must not let another gateway take a claim that is still alive.
        heartbeat = asyncio.create_task(self._keep_claim(job.key))
        try:
            try:
                outcome = await self._respond(message)
            except Exception:
                logger.exception("处理微信消息失败（%s）", job.key)
                outcome = Outcome(FAILED)
            parts = split_text(outcome.text) if outcome.text else []
            if job.late:  # the request already answered "success": send everything now
                logger.info("微信消息 %s 未能在时限内回答，改用客服消息发送", job.key)
                # Queued before the claim is released: a crash in between sends it again
                # rather than never (at least once; the window is one database write).
                await self._deliver(job.openid, parts, outcome.message_ids)
                await self._inbox.finish(job.key, None)
                return
            job.passive = parts[0] if parts else None
            job.ready.set()
            await self._inbox.finish(job.key, job.passive)
        except Exception:
            logger.exception("微信回复未能保存或发送（%s）", job.key)
            return
        finally:
            heartbeat.cancel()
        if len(parts) > 1:
            try:
                await asyncio.sleep(FOLLOW_UP_DELAY_SECONDS)
                await self._deliver(job.openid, parts[1:], outcome.message_ids)
            except Exception:
                logger.exception("微信回复未能发送（%s）", job.key)

    async def _keep_claim(self, key: str) -> None:
        """Renew the lease while the answer is being prepared (a slow Rasa is no crash)."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self._inbox.renew(key, self._lease)
            except Exception:  # the store may be away for a moment; the next beat retries
                logger.warning("微信消息 %s 的处理租约未能续期", key, exc_info=True)

    async def _deliver(self, openid: str, parts: Sequence[str], message_ids: Sequence[int]) -> None:
        """By 客服消息, through the outbox: the outcome is recorded on the messages."""
        if parts:
            await self._outbox.submit(openid, parts, message_ids)

    # After a crash

    def start(self) -> None:
        """Start taking over abandoned callbacks and sending the outbox (in the lifespan)."""
        self._outbox.start()
        if self._recovery is None:
            self._recovery = asyncio.create_task(self._recover_forever())

    async def _recover_forever(self) -> None:
        interval = min(10.0, max(0.2, self._lease / 2))
        while True:
            try:
                await self.recover()
            except Exception:  # the inbox may be away for a moment: try again later
                logger.warning("暂时无法检查中断的微信消息", exc_info=True)
            await asyncio.sleep(interval)

    async def recover(self) -> int:
        """Take over callbacks whose worker stopped renewing its claim; answer them by
        客服消息. Returns how many were taken over."""
        abandoned = await self._inbox.take_over_expired(self._lease)
        for claim in abandoned:
            logger.warning("接管中断的微信消息 %s（原处理进程已停止）", claim.key)
            try:
                message = protocol.parse(claim.payload)
            except protocol.WeChatRequestError:
                await self._inbox.finish(claim.key, None)
                continue
            self._spawn(self._process(_Job(claim.key, claim.openid, late=True), message))
        return len(abandoned)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for answers still being prepared or delivered in the background."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
            self._recovery = None
        await self.drain()
        await self._outbox.stop()
        await self._inbox.close()
        await self._nonces.close()

    # What to answer

    async def _respond(self, message: Any) -> Outcome:
        if protocol.is_event(message):
            if str(getattr(message, "event", "")).lower() in SUBSCRIBE_EVENTS:
                return await self._welcome(message.source)
            return Outcome(None)  # unsubscribe, menu clicks, location reports: nothing to say
        if message.type != "text":
            return await self._non_text(message)
        content = str(message.content or "").strip()
        if not content:
            return Outcome(TEXT_ONLY)
        if len(content) > MAX_USER_TEXT:
            # Nothing is stored: a cut-off text could end in half a card number, which the
            # sensitive-data guard would no longer recognise.
            return Outcome(TOO_LONG)
        conversation = await asyncio.to_thread(
            self._conversations.for_external, Channel.WECHAT, message.source
        )
        try:
            turn = await self._turn(conversation.id, content)
        except RateLimitedError:
            return Outcome(RATE_LIMITED)
        return Outcome(_reply_text(turn.replies), tuple(reply.id for reply in turn.replies))

    async def _turn(self, conversation_id: str, content: str) -> TurnResult:
        """A digit picks one of the options just offered; anything else is typed text."""
        choice = parse_choice(content)
        if choice is not None:
            buttons = await asyncio.to_thread(self._conversations.last_bot_buttons, conversation_id)
            if choice <= len(buttons):
                try:
                    return await self._conversations.handle(
                        conversation_id, payload=buttons[choice - 1].payload
                    )
                except InvalidChoiceError:
                    pass
        return await self._conversations.handle(conversation_id, text=content)

    async def _non_text(self, message: Any) -> Outcome:
        """An image, voice message, location…: kept in the transcript for agents, and the
        user is asked for text (or, if a person has the conversation, told nothing more)."""
        kind = _kind(message)
        placeholder = _placeholder(message)
        conversation = await asyncio.to_thread(
            self._conversations.for_external, Channel.WECHAT, message.source
        )
        found = scan(placeholder)  # a link title or location label is the user's text too
        (stored,) = await asyncio.to_thread(
            self._conversations.add_messages,
            conversation.id,
            [OutgoingMessage(found.text, role=Role.USER)],
            redacted=bool(found.kinds),
        )
        if conversation.state is not ConversationState.BOT:
            await self._conversations.bus.publish(
                AGENTS_CHANNEL,
                {
                    "type": "user_message",
                    "conversation_id": conversation.id,
                    "message": stored.for_agents(),
                },
            )
            return Outcome(None)
        text = NON_TEXT_REPLY.format(kind=NON_TEXT_NAMES.get(kind, "消息"))
        reply = await asyncio.to_thread(self._conversations.add_bot_message, conversation.id, text)
        return Outcome(text, (reply.id,))

    async def _welcome(self, openid: str) -> Outcome:
        conversation = await asyncio.to_thread(
            self._conversations.for_external, Channel.WECHAT, openid
        )
        buttons = self._welcome_topics()
        # Stored like a bot turn, so that the user's "2" maps to the second topic.
        stored = await asyncio.to_thread(
            self._conversations.add_bot_message, conversation.id, WELCOME, buttons
        )
        return Outcome(with_choices(WELCOME, buttons), (stored.id,))

    def _welcome_topics(self) -> list[Button]:
        try:
            kb = self._knowledge.knowledge_base()
        except KnowledgeUnavailableError:
            return []
        return [
            Button(faq.question, clarify_payload(faq.id))
            for faq in (kb.get(faq_id) for faq_id in WELCOME_TOPICS)
            if faq is not None
        ]


def _kind(message: Any) -> str:
    """The MsgType as WeChat sent it (wechatpy calls every type it does not know
    "unknown"), lower case and reduced to letters, digits and underscores."""
    raw: dict[str, Any] = getattr(message, "_data", None) or {}
    kind = raw.get("MsgType") if isinstance(raw.get("MsgType"), str) else message.type
    return re.sub(r"[^a-z0-9_]", "", str(kind or "").lower())[:32]


def _placeholder(message: Any) -> str:
    """What agents see for a non-text message: its kind, and what identifies its content."""
    kind = _kind(message)
    label = PLACEHOLDERS.get(kind, OTHER_PLACEHOLDER)
    raw: dict[str, Any] = getattr(message, "_data", None) or {}
    details: list[str] = []
    media_id = raw.get("MediaId")
    if isinstance(media_id, str) and MEDIA_ID.fullmatch(media_id):
        details.append(f"media_id={media_id}")
    if kind == "voice" and isinstance(raw.get("Recognition"), str) and raw["Recognition"]:
        details.append(f"识别文字：{raw['Recognition'][:200]}")
    if kind == "location":
        label_text = raw.get("Label")
        if isinstance(label_text, str) and label_text:
            details.append(label_text[:100])
    if kind == "link":
        for name in ("Title", "Url"):
            value = raw.get(name)
            if isinstance(value, str) and value:
                details.append(value[:200])
    if label == OTHER_PLACEHOLDER and kind:
        details.append(f"类型 {kind}")
    return " ".join([label, *details])
