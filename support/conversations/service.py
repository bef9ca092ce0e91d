"""The conversation service: every channel (web widget, WeChat) goes through it.

A message comes in, is redacted by the sensitive-data guard and stored. If a person
holds the conversation it goes to the agents; otherwise it goes to Rasa, and the
replies are stored and returned. If Rasa cannot be reached, the KB answers on its
own with the same answer / clarify / fallback decision.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from actions.faq import (
    CLARIFY_PROMPT,
    FALLBACK_FIRST,
    TICKET_OR_HUMAN,
    clarify_payload,
    kb_metadata,
    result_metadata,
)
from guard import scan
from kb.knowledge_base import Decision
from support.conversations.models import Conversation, ConversationState, Message, Role
from support.dialogue import BotMessage
from support.escalations.service import EscalationService, EscalationView
from support.events import EventBus
from support.knowledge.service import KnowledgeService, KnowledgeUnavailableError
from support.ratelimit import RateLimiter
from support.storage import as_utc, transaction

logger = logging.getLogger(__name__)

AGENTS_CHANNEL = "agents"
DEGRADED_NOTICE = "智能客服暂时繁忙，以下内容直接来自帮助中心。"
DEGRADED_QUEUED = "已为您记录，人工客服会尽快在这里回复您，请稍候。"
UNAVAILABLE = "抱歉，客服系统暂时不可用。您的消息已保存，客服会尽快回复您。"


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class ConversationNotFoundError(LookupError):
    pass


class RateLimitedError(Exception):
    pass


class InvalidChoiceError(ValueError):
    pass


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class MessageView:
    id: int
    role: Role
    text: str
    buttons: list[Button]
    feedback: str | None
    created_at: datetime
    degraded: bool = False
    delivery: str | None = None
    redacted: bool = False
    # The agent who wrote it (console replies); never shown to users.
    author: str | None = None
    # What the KB decided for a bot reply; shown to agents, never to users.
    kb: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "text": self.text,
            "buttons": [asdict(button) for button in self.buttons],
            "feedback": self.feedback,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ConversationView:
    id: str
    channel: str
    external_id: str | None
    state: ConversationState
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConversationSummary:
    """What a queue row shows of a conversation, without loading its transcript."""

    state: ConversationState
    user_messages: int
    last_user_message: str | None


@dataclass(frozen=True)
class TurnResult:
    replies: list[MessageView]
    state: ConversationState
    user_message_id: int
    degraded: bool = False


class DialogueBackend(Protocol):
    """What the service needs from Rasa (support.dialogue.RasaClient); faked in tests."""

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]: ...

    async def resume(self, sender_id: str) -> None:
        """Give a paused conversation back to the bot (after a person handled it)."""
        ...


class Outbound(Protocol):
    """A channel that pushes messages to its users itself (WeChat's 客服消息 API).

    The web widget needs none: it listens on the conversation's event stream.
    """

    async def deliver(self, conversation: ConversationView, text: str) -> bool:
        """True if the channel accepted the message."""
        ...


@dataclass
class _Outgoing:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    role: Role = Role.BOT
    # What the KB decided for this reply (actions.faq.kb_metadata), stored for analytics.
    kb: dict[str, Any] | None = None
    # The bot handed the conversation to a person with this reply.
    handoff: bool = False
    # The agent who wrote it, for messages from the console.
    author: str | None = None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _message_view(message: Message) -> MessageView:
    return MessageView(
        id=message.id,
        role=Role(message.role),
        text=message.text,
        buttons=[Button(b["title"], b["payload"]) for b in message.buttons or []],
        feedback=message.feedback,
        created_at=as_utc(message.created_at),
        degraded=message.degraded,
        delivery=message.delivery,
        redacted=message.redacted,
        author=message.author,
        kb=message.kb,
    )


def _conversation_view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        channel=conversation.channel,
        external_id=conversation.external_id,
        state=ConversationState(conversation.state),
        created_at=as_utc(conversation.created_at),
        updated_at=as_utc(conversation.updated_at),
    )


class ConversationService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        dialogue: DialogueBackend,
        knowledge: KnowledgeService,
        escalations: EscalationService,
        bus: EventBus,
        limiter: RateLimiter,
        outbound: dict[str, Outbound] | None = None,
    ) -> None:
        self._sessions = sessions
        self._dialogue = dialogue
        self._knowledge = knowledge
        self._escalations = escalations
        self._bus = bus
        self._limiter = limiter
        self._outbound = dict(outbound or {})

    @property
    def dialogue(self) -> DialogueBackend:
        return self._dialogue

    @property
    def bus(self) -> EventBus:
        return self._bus

    # Conversations

    def start_web(self) -> tuple[ConversationView, str]:
        """A new web session and its bearer token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            conversation = Conversation(
                id=uuid.uuid4().hex,
                channel="web",
                external_id=None,
                token_hash=_hash_token(token),
                state=ConversationState.BOT.value,
                created_at=now,
                updated_at=now,
            )
            session.add(conversation)
            session.flush()
            return _conversation_view(conversation), token

    def authenticate(self, conversation_id: str, token: str) -> ConversationView | None:
        """The conversation, if ``token`` is its token; compared in constant time."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.token_hash is None:
                # Compare anyway, so timing does not reveal which sessions exist.
                hmac.compare_digest(_hash_token(token), "0" * 64)
                return None
            if not hmac.compare_digest(_hash_token(token), conversation.token_hash):
                return None
            return _conversation_view(conversation)

    def for_external(self, channel: str, external_id: str) -> ConversationView:
        """The conversation of a channel user (a WeChat openid), created on first contact."""
        lookup = select(Conversation).where(
            Conversation.channel == channel, Conversation.external_id == external_id
        )
        with self._sessions() as session:
            found = session.scalar(lookup)
            if found is not None:
                return _conversation_view(found)
        now = datetime.now(UTC)
        try:
            with transaction(self._sessions) as session:
                conversation = Conversation(
                    id=uuid.uuid4().hex,
                    channel=channel,
                    external_id=external_id,
                    token_hash=None,
                    state=ConversationState.BOT.value,
                    created_at=now,
                    updated_at=now,
                )
                session.add(conversation)
                session.flush()
                return _conversation_view(conversation)
        except IntegrityError:  # created by a concurrent request for the same user
            with self._sessions() as session:
                return _conversation_view(session.scalars(lookup).one())

    def get(self, conversation_id: str) -> ConversationView:
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise ConversationNotFoundError(conversation_id)
            return _conversation_view(conversation)

    def history(self, conversation_id: str) -> list[MessageView]:
        with self._sessions() as session:
            messages = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
            )
            return [_message_view(message) for message in messages]

    def summaries(self, conversation_ids: Sequence[str]) -> dict[str, ConversationSummary]:
        """State, number of user messages and the last one, for many conversations at once."""
        if not conversation_ids:
            return {}
        ids = list(conversation_ids)
        said = (
            select(
                Message.conversation_id,
                func.count(Message.id).label("count"),
                func.max(Message.id).label("last_id"),
            )
            .where(Message.conversation_id.in_(ids), Message.role == Role.USER.value)
            .group_by(Message.conversation_id)
            .subquery()
        )
        rows = (
            select(Conversation.id, Conversation.state, said.c.count, Message.text)
            .outerjoin(said, said.c.conversation_id == Conversation.id)
            .outerjoin(Message, Message.id == said.c.last_id)
            .where(Conversation.id.in_(ids))
        )
        with self._sessions() as session:
            return {
                conversation_id: ConversationSummary(ConversationState(state), count or 0, text)
                for conversation_id, state, count, text in session.execute(rows)
            }

    def last_bot_buttons(self, conversation_id: str) -> list[Button]:
        """The buttons the bot offered since the user's last message, in order."""
        buttons: list[Button] = []
        for message in reversed(self.history(conversation_id)):
            if message.role is Role.USER:
                break
            if message.role is Role.BOT:
                buttons[:0] = message.buttons
        return buttons

    def add_bot_message(
        self, conversation_id: str, text: str, buttons: Sequence[Button] = ()
    ) -> MessageView:
        """A bot message outside a user's turn (the WeChat welcome on subscribe)."""
        outgoing = _Outgoing(text, [asdict(button) for button in buttons])
        return self._store(conversation_id, [outgoing], None, False)[0]

    def set_delivery(self, message_ids: Sequence[int], status: str) -> None:
        """Record how an asynchronous delivery (WeChat 客服消息) went: sent or failed.

        A failed message stays stored, so agents still see what the user never got.
        """
        with transaction(self._sessions) as session:
            for message in session.scalars(select(Message).where(Message.id.in_(message_ids))):
                message.delivery = status

    def set_feedback(self, conversation_id: str, message_id: int, value: str) -> None:
        with transaction(self._sessions) as session:
            message = session.get(Message, message_id)
            if (
                message is None
                or message.conversation_id != conversation_id
                or message.role != Role.BOT.value
            ):
                raise ConversationNotFoundError(f"{conversation_id}/{message_id}")
            message.feedback = value

    # A user's turn

    async def handle(
        self,
        conversation_id: str,
        *,
        text: str | None = None,
        payload: str | None = None,
        conversation: ConversationView | None = None,
    ) -> TurnResult:
        """Process one user message (typed text, or a button's payload).

        A caller that has just loaded the conversation (the web route, when checking
        the token) passes it in and saves a query on the hot path.
        """
        if conversation is None or conversation.id != conversation_id:
            conversation = await asyncio.to_thread(self.get, conversation_id)
        if not await self._limiter.allow(conversation_id):
            raise RateLimitedError(conversation_id)

        redacted: tuple[str, ...] = ()
        if payload is not None:
            title = await asyncio.to_thread(self._offered_title, conversation_id, payload)
            if title is None:
                raise InvalidChoiceError("这个选项已失效，请直接输入您的问题。")
            shown, outgoing = title, payload
        else:
            found = scan(text or "")
            shown, redacted = found.text, found.kinds
            # Typed text never reaches Rasa as an intent payload ("/affirm").
            outgoing = shown.lstrip("/") or shown

        user_message = await asyncio.to_thread(
            self._store,
            conversation_id,
            [_Outgoing(shown, role=Role.USER)],
            payload,
            bool(redacted),
        )
        if conversation.state is not ConversationState.BOT:
            await self._bus.publish(
                AGENTS_CHANNEL,
                {
                    "type": "user_message",
                    "conversation_id": conversation_id,
                    "message": user_message[0].as_dict(),
                },
            )
            return TurnResult([], conversation.state, user_message[0].id)

        metadata: dict[str, Any] = {"channel": conversation.channel}
        if redacted:
            metadata["redacted"] = list(redacted)
        degraded = False
        try:
            outgoing_messages = [
                _Outgoing(
                    message.text,
                    message.buttons,
                    kb=message.kb,
                    handoff=message.handoff is not None,
                )
                for message in await self._dialogue.send(conversation_id, outgoing, metadata)
            ]
        except httpx.HTTPError as exc:
            logger.warning("Rasa 不可用，改由知识库直接回答：%s", exc)
            degraded = True
            outgoing_messages = await asyncio.to_thread(
                self._answer_from_kb, conversation, outgoing, payload
            )
        replies, escalation = await asyncio.to_thread(
            self._store_replies, conversation, outgoing_messages, degraded
        )
        state = await self._refresh_state(conversation, escalation)
        return TurnResult(replies, state, user_message[0].id, degraded)

    def _store_replies(
        self, conversation: ConversationView, messages: Sequence[_Outgoing], degraded: bool
    ) -> tuple[list[MessageView], EscalationView | None]:
        """Store the bot's replies and look for a handoff, in one trip to a worker thread.

        The bot's handoff action says so in its reply; the escalation table is also read
        when Rasa said nothing (a paused conversation) or the KB answered alone (it may
        have queued the user itself), so a missed signal cannot leave a user unheard.
        """
        replies = self._store(conversation.id, messages, None, False, degraded)
        handed_off = degraded or not messages or any(m.handoff for m in messages)
        escalation = self._escalations.open_for_sender(conversation.id) if handed_off else None
        return replies, escalation

    def _offered_title(self, conversation_id: str, payload: str) -> str | None:
        """The title of a button the bot offered in this conversation with ``payload``."""
        for message in reversed(self.history(conversation_id)):
            for button in message.buttons:
                if button.payload == payload:
                    return button.title
        return None

    def _store(
        self,
        conversation_id: str,
        messages: Sequence[_Outgoing],
        payload: str | None,
        redacted: bool,
        degraded: bool = False,
    ) -> list[MessageView]:
        now = datetime.now(UTC)
        rows = [
            {
                "conversation_id": conversation_id,
                "role": outgoing.role.value,
                "text": outgoing.text,
                "buttons": outgoing.buttons,
                "payload": payload,
                "redacted": redacted,
                "degraded": degraded,
                "kb": outgoing.kb,
                "author": outgoing.author,
                "created_at": now,
            }
            for outgoing in messages
        ]
        if not rows:
            return []
        # Plain INSERT … RETURNING and UPDATE statements: this runs twice on every turn,
        # and the ORM's unit of work (load, track, flush) costs more than the SQL itself.
        with transaction(self._sessions) as session:
            ids = session.scalars(
                insert(Message).returning(Message.id, sort_by_parameter_order=True), rows
            ).all()
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=now)
            )
        return [
            MessageView(
                id=message_id,
                role=outgoing.role,
                text=outgoing.text,
                buttons=[Button(b["title"], b["payload"]) for b in outgoing.buttons],
                feedback=None,
                created_at=now,
                degraded=degraded,
                redacted=redacted,
                author=outgoing.author,
                kb=outgoing.kb,
            )
            for message_id, outgoing in zip(ids, messages, strict=True)
        ]

    async def _refresh_state(
        self, conversation: ConversationView, escalation: EscalationView | None
    ) -> ConversationState:
        """After the bot's turn: did it hand the conversation to a person?"""
        if escalation is None or conversation.state is not ConversationState.BOT:
            return conversation.state
        await asyncio.to_thread(self.set_state, conversation.id, ConversationState.WAITING_AGENT)
        await self._bus.publish(
            conversation_channel(conversation.id),
            {"type": "state", "state": ConversationState.WAITING_AGENT.value},
        )
        await self._bus.publish(
            AGENTS_CHANNEL,
            {"type": "escalation", "conversation_id": conversation.id, "id": escalation.id},
        )
        return ConversationState.WAITING_AGENT

    # Messages from people and the system, outside a user's turn

    async def post_to_user(
        self, conversation: ConversationView, text: str, *, role: Role, author: str | None = None
    ) -> MessageView:
        """Store a message for the user and get it to them on their channel.

        Web users receive it live on the conversation's event stream; channels that push
        (WeChat) deliver it themselves, and a failed delivery is recorded on the message,
        which stays stored for agents to see.
        """
        found = scan(text)
        (stored,) = await asyncio.to_thread(
            self._store,
            conversation.id,
            [_Outgoing(found.text, role=role, author=author)],
            None,
            bool(found.kinds),
        )
        await self._bus.publish(
            conversation_channel(conversation.id), {"type": "message", **stored.as_dict()}
        )
        outbound = self._outbound.get(conversation.channel)
        if outbound is None:
            return stored
        delivered = await outbound.deliver(conversation, stored.text)
        status = "sent" if delivered else "failed"
        await asyncio.to_thread(self.set_delivery, [stored.id], status)
        return replace(stored, delivery=status)

    async def change_state(self, conversation_id: str, state: ConversationState) -> None:
        """Set the state and tell the user's open widget."""
        await asyncio.to_thread(self.set_state, conversation_id, state)
        await self._bus.publish(
            conversation_channel(conversation_id), {"type": "state", "state": state.value}
        )

    def set_state(self, conversation_id: str, state: ConversationState) -> None:
        with transaction(self._sessions) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise ConversationNotFoundError(conversation_id)
            conversation.state = state.value

    # Degraded mode: Rasa is unreachable, the KB answers alone.

    def _answer_from_kb(
        self, conversation: ConversationView, text: str, payload: str | None
    ) -> list[_Outgoing]:
        notice = _Outgoing(DEGRADED_NOTICE, role=Role.SYSTEM)
        if payload in ("/open_ticket", "/request_human"):
            # Nothing is lost: the request waits for an agent in the queue.
            self._escalations.open(
                sender_id=conversation.id,
                channel=conversation.channel,
                reason="对话服务不可用时，用户要求提交工单或转人工",
                last_messages=[
                    m.text for m in self.history(conversation.id) if m.role is Role.USER
                ][-5:],
                kb_candidates=[],
            )
            return [_Outgoing(DEGRADED_QUEUED)]
        if payload in ("/affirm", "/deny"):
            return [_Outgoing("好的。还有什么可以帮您？", list(TICKET_OR_HUMAN))]
        try:
            kb = self._knowledge.knowledge_base()
        except KnowledgeUnavailableError:
            return [_Outgoing(UNAVAILABLE)]
        if payload and payload.startswith("/ask_faq"):
            faq = kb.get(json.loads(payload.removeprefix("/ask_faq") or "{}").get("faq_id", ""))
            if faq is not None:
                # The same metadata the action server sends (actions.faq).
                picked = kb_metadata(Decision.ANSWER, faq.question, faq)
                return [notice, _Outgoing(faq.answer, list(TICKET_OR_HUMAN), kb=picked)]
        result = kb.query(text)
        # Another button's payload is not a question: no metadata for the analytics.
        meta = result_metadata(result, text) if payload is None else None
        if result.decision is Decision.ANSWER and result.top is not None:
            return [notice, _Outgoing(result.top.faq.answer, list(TICKET_OR_HUMAN), kb=meta)]
        if result.decision is Decision.CLARIFY:
            options = [
                {"title": c.faq.question, "payload": clarify_payload(c.id)}
                for c in result.candidates[:3]
            ]
            return [notice, _Outgoing(CLARIFY_PROMPT, options, kb=meta)]
        return [notice, _Outgoing(FALLBACK_FIRST, list(TICKET_OR_HUMAN), kb=meta)]
