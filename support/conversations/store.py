"""Conversations and messages in the database: every SQL read and write of them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from support.channels import Channel
from support.conversations.errors import ConversationNotFoundError, MessageNotFoundError
from support.conversations.models import Conversation, ConversationState, Message, Role
from support.conversations.schemas import (
    Button,
    ConversationSummary,
    ConversationView,
    MessageView,
    OutgoingMessage,
)
from support.storage import as_utc, transaction
from support.tokens import hash_token, token_matches


def _conversation_view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        channel=Channel(conversation.channel),
        external_id=conversation.external_id,
        state=ConversationState(conversation.state),
        created_at=as_utc(conversation.created_at),
        updated_at=as_utc(conversation.updated_at),
    )


class ConversationStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # Conversations

    def start_web(self) -> tuple[ConversationView, str]:
        """A new web session and its bearer token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        with transaction(self._sessions) as session:
            conversation = _new_conversation(Channel.WEB, None, hash_token(token))
            session.add(conversation)
            session.flush()
            return _conversation_view(conversation), token

    def authenticate(self, conversation_id: str, token: str) -> ConversationView | None:
        """The conversation, if ``token`` is its token; compared in constant time."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            stored_hash = conversation.token_hash if conversation is not None else None
            if conversation is None or not token_matches(token, stored_hash):
                return None
            return _conversation_view(conversation)

    def for_external(self, channel: Channel, external_id: str) -> ConversationView:
        """The conversation of a channel user (a WeChat openid), created on first contact."""
        channel = Channel(channel)
        lookup = select(Conversation).where(
            Conversation.channel == channel.value, Conversation.external_id == external_id
        )
        with self._sessions() as session:
            found = session.scalar(lookup)
            if found is not None:
                return _conversation_view(found)
        try:
            with transaction(self._sessions) as session:
                conversation = _new_conversation(channel, external_id, None)
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
                raise ConversationNotFoundError
            return _conversation_view(conversation)

    def set_state(self, conversation_id: str, state: ConversationState) -> None:
        with transaction(self._sessions) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise ConversationNotFoundError
            conversation.state = state.value

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

    # Messages

    def history(self, conversation_id: str) -> list[MessageView]:
        with self._sessions() as session:
            messages = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
            )
            return [MessageView.model_validate(message) for message in messages]

    def last_text(self, conversation_id: str, roles: Collection[Role]) -> str | None:
        """The text of the latest message from one of ``roles`` (one row, not the history:
        a user waiting for a person may write many times)."""
        with self._sessions() as session:
            return session.scalar(
                select(Message.text)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.role.in_([role.value for role in roles]),
                )
                .order_by(Message.id.desc())
                .limit(1)
            )

    def bot_said(self, conversation_id: str, texts: Collection[str]) -> bool:
        """Whether the bot ever sent one of ``texts`` in this conversation."""
        with self._sessions() as session:
            said = exists().where(
                Message.conversation_id == conversation_id,
                Message.role == Role.BOT.value,
                Message.text.in_(list(texts)),
            )
            return bool(session.scalar(select(said)))

    def last_bot_buttons(self, conversation_id: str) -> list[Button]:
        """The buttons the bot offered since the user's last message, in order."""
        buttons: list[Button] = []
        for message in reversed(self.history(conversation_id)):
            if message.role is Role.USER:
                break
            if message.role is Role.BOT:
                buttons[:0] = message.buttons
        return buttons

    def offered_title(self, conversation_id: str, payload: str) -> str | None:
        """The title of a button the bot offered in this conversation with ``payload``."""
        for message in reversed(self.history(conversation_id)):
            for button in message.buttons:
                if button.payload == payload:
                    return button.title
        return None

    def recent_history(self, conversation_id: str, count: int) -> list[MessageView]:
        """The conversation's last ``count`` messages, oldest first."""
        with self._sessions() as session:
            messages = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id.desc())
                .limit(count)
            ).all()
            return [MessageView.model_validate(message) for message in reversed(messages)]

    def recent_typed_messages(self, conversation_id: str, count: int) -> list[MessageView]:
        """The user's last ``count`` typed messages (not button presses), oldest first."""
        with self._sessions() as session:
            messages = session.scalars(
                select(Message)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.role == Role.USER.value,
                    Message.payload.is_(None),
                )
                .order_by(Message.id.desc())
                .limit(count)
            ).all()
            return [MessageView.model_validate(message) for message in reversed(messages)]

    def add_messages(
        self,
        conversation_id: str,
        messages: Sequence[OutgoingMessage],
        *,
        payload: str | None = None,
        redacted: bool = False,
        degraded: bool = False,
        rewrites: Mapping[int, str] | None = None,
    ) -> list[MessageView]:
        """Store messages (already redacted) and touch the conversation.

        ``rewrites`` replaces the text of earlier user messages of this conversation with
        their redacted text (part of a secret sent over several messages), in the same
        transaction: the new message is never stored while the earlier part stays readable.
        """
        if not messages:
            return []
        now = datetime.now(UTC)
        rows = [
            {
                "conversation_id": conversation_id,
                "role": outgoing.role.value,
                "text": outgoing.text,
                "buttons": [button.as_dict() for button in outgoing.buttons],
                "payload": payload,
                "redacted": redacted,
                "degraded": degraded,
                "kb": outgoing.kb,
                "author": outgoing.author,
                "created_at": now,
            }
            for outgoing in messages
        ]
        # Plain INSERT … RETURNING and UPDATE statements: this runs twice on every turn,
        # and the ORM's unit of work (load, track, flush) costs more than the SQL itself.
        with transaction(self._sessions) as session:
            if rewrites:
                _rewrite_user_messages(session, conversation_id, rewrites)
            ids = session.scalars(
                insert(Message).returning(Message.id, sort_by_parameter_order=True), rows
            ).all()
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=now)
            )
        return [
            MessageView.model_validate({**row, "id": message_id})
            for message_id, row in zip(ids, rows, strict=True)
        ]

    def add_bot_message(
        self, conversation_id: str, text: str, buttons: Sequence[Button] = ()
    ) -> MessageView:
        """A bot message outside a user's turn (the WeChat welcome on subscribe)."""
        return self.add_messages(conversation_id, [OutgoingMessage(text, tuple(buttons))])[0]

    def set_delivery(self, message_ids: Sequence[int], status: str) -> None:
        """Record how an asynchronous delivery (WeChat 客服消息) went: sent or failed.

        A failed message stays stored, so agents still see what the user never got.
        """
        with transaction(self._sessions) as session:
            for message in session.scalars(select(Message).where(Message.id.in_(message_ids))):
                message.delivery = status

    def set_feedback(self, conversation_id: str, message_id: int, value: str) -> None:
        """👍 / 👎 on one of the bot's replies in this conversation."""
        with transaction(self._sessions) as session:
            message = session.get(Message, message_id)
            if (
                message is None
                or message.conversation_id != conversation_id
                or message.role != Role.BOT.value
            ):
                raise MessageNotFoundError
            message.feedback = value


def _rewrite_user_messages(
    session: Session, conversation_id: str, rewrites: Mapping[int, str]
) -> None:
    """Redact earlier user messages, and the query the KB recorded for the bot's replies
    to them (``kb.query``, read by the analytics)."""
    messages = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id >= min(rewrites))
        .order_by(Message.id)
    )
    answering: int | None = None  # the user message the bot's replies answer
    for message in messages:
        if message.role == Role.USER.value:
            answering = message.id
            if message.id in rewrites:
                message.text = rewrites[message.id]
                message.redacted = True
        elif (
            answering is not None
            and answering in rewrites
            and message.kb
            and message.kb.get("query") is not None
        ):
            redacted = rewrites[answering]
            # As the flows send typed text to Rasa: never an intent ("/affirm").
            message.kb = {**message.kb, "query": redacted.lstrip("/") or redacted}


def _new_conversation(
    channel: Channel, external_id: str | None, token_hash: str | None
) -> Conversation:
    now = datetime.now(UTC)
    return Conversation(
        id=uuid.uuid4().hex,
        channel=channel.value,
        external_id=external_id,
        token_hash=token_hash,
        state=ConversationState.BOT.value,
        created_at=now,
        updated_at=now,
    )
