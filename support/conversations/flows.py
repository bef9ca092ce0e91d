"""What happens when a message comes in or goes out, on every channel.

A user's turn: the message is redacted by the sensitive-data guard and stored. The guard
reads it with the user's previous messages, so a recovery phrase sent in parts is
caught, and the earlier parts are redacted too. If a person holds the conversation it
goes to the agents; otherwise to Rasa, and the replies are stored and returned. If Rasa
cannot be reached, the KB answers on its own with the same answer / clarify / fallback
replies (support.replies.answering), and warns about a redacted message itself. When
the bot hands the conversation to a person, its state follows and the agents are told.

Outside a user's turn: agents' and system messages reach the user live on the
conversation's event stream, or through a channel that pushes (WeChat's 客服消息).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker

from guard import REDACTED, WARNING, hidden_notice, scan, scan_recent
from kb.knowledge_base import KnowledgeBase
from support import metrics
from support.channels import BRIEF_CHANNELS
from support.conversations.errors import InvalidChoiceError, RateLimitedError
from support.conversations.models import ConversationState, Role
from support.conversations.schemas import (
    Button,
    ConversationView,
    MessageView,
    OutgoingMessage,
    TurnResult,
)
from support.conversations.store import ConversationStore
from support.dialogue import BotMessage
from support.escalations.models import EscalationStatus
from support.escalations.schemas import EscalationRequest, EscalationView
from support.escalations.service import EscalationService
from support.events import EventBus
from support.knowledge.service import KnowledgeService, KnowledgeUnavailableError
from support.ratelimit import RateLimiter
from support.replies import signals
from support.replies.answering import Answer, answer_faq, answer_query, briefly
from support.replies.turns import context_from_history, respond
from support.replies.vocabulary import (
    AFFIRM,
    CANNOT_LEAVE_QUEUE,
    DENY,
    DESCRIBE_IT,
    LEFT_QUEUE,
    LEFT_QUEUE_DONE,
    OPEN_TICKET,
    QUESTION_NOTED,
    REQUEST_HUMAN,
    SAFETY_BRIEF,
    SAFETY_STEPS,
    SAFETY_STEPS_WAITING,
    SCAM_WARNING,
    STAYS_URGENT,
    STILL_IN_QUEUE,
    TICKET_OR_HUMAN,
    URGENT_NOTED,
    URGENT_QUESTION_NOTED,
    WAITING_GOODBYE,
    WAITING_NO_FORM,
    WAITING_NOTED,
    WAITING_THANKS,
    HandoffReason,
    chosen_faq_id,
    queue_place_notice,
)
from support.replies.waiting import WaitingMove, WaitingTurn, while_waiting
from support.storage import as_utc

logger = logging.getLogger(__name__)

# The event-bus channel every open console listens on.
AGENTS_CHANNEL = "agents"
DEGRADED_NOTICE = "智能客服暂时繁忙，以下内容直接来自帮助中心。"
DEGRADED_QUEUED = "已为您记录，人工客服会尽快在这里回复您，请稍候。"
DEGRADED_ACKNOWLEDGED = "好的。还有什么可以帮您？"
DEGRADED_TICKET = (
    "智能客服暂时繁忙，暂时不能在这里填写工单。已把您的问题记录下来并转给人工客服，"
    "客服会尽快在这里回复您，请稍候。"
)
UNAVAILABLE = "抱歉，客服系统暂时不可用。您的消息已保存，客服会尽快回复您。"
# The guard reads a new message together with this many earlier typed ones.
EARLIER_MESSAGES_SCANNED = 2
# A typed number past this picks nothing: no turn offers more buttons.
MAX_NUMBERED_BUTTONS = 9


def conversation_channel(conversation_id: str) -> str:
    """The event-bus channel of one conversation (the widget's live stream)."""
    return f"conversation:{conversation_id}"


class DialogueBackend(Protocol):
    """What the flows need from Rasa (support.dialogue.RasaClient); faked in tests."""

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]: ...

    async def resume(self, conversation_id: str) -> None:
        """Give a paused conversation back to the bot (after a person handled it)."""
        ...


class Outbound(Protocol):
    """A channel that pushes messages to its users itself (WeChat's 客服消息 API).

    The web widget needs none: it listens on the conversation's event stream.
    """

    async def deliver(
        self, conversation: ConversationView, text: str, message_ids: Sequence[int] = ()
    ) -> bool | None:
        """True if the channel accepted the message, False if it cannot be delivered;
        None if it is queued for a retry and the channel records the outcome on
        ``message_ids`` itself (WeChat's outbox)."""
        ...


class ConversationService(ConversationStore):
    """The one entry point for channels and the console: the store's reads and writes,
    plus the flows below (a user's turn, messages to users)."""

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
        super().__init__(sessions)
        self.dialogue = dialogue
        self._knowledge = knowledge
        self._escalations = escalations
        self.bus = bus
        self._limiter = limiter
        self._outbound = dict(outbound or {})

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
        started = time.perf_counter()
        if conversation is None or conversation.id != conversation_id:
            conversation = await asyncio.to_thread(self.get, conversation_id)
        if not await self._limiter.allow(conversation_id):
            retry = await self._limiter.retry_after(conversation_id)
            raise RateLimitedError(headers={"Retry-After": str(retry)})

        if payload is None:
            payload = await self._typed_choice(conversation, text or "")
        user_message, outgoing, redacted = await self._take_message(
            conversation_id, text or "", payload
        )

        left_queue: list[MessageView] = []
        if conversation.state is not ConversationState.BOT:
            held, state, bot_takes = await self._while_held(
                conversation, text or "", payload, user_message, redacted
            )
            if not bot_takes:
                self._turn_done(conversation, started, "人工客服")
                return TurnResult(held, state, user_message.id)
            # The user left the queue: the bot has the conversation back, this message too.
            left_queue = held
            conversation = replace(conversation, state=ConversationState.BOT)

        metadata: dict[str, Any] = {"channel": conversation.channel.value}
        if redacted:
            metadata["redacted"] = list(redacted)
        degraded = False
        try:
            replies = [
                OutgoingMessage(
                    message.text,
                    tuple(Button(b["title"], b["payload"]) for b in message.buttons),
                    kb=message.kb,
                    handoff=message.handoff is not None,
                )
                for message in await self.dialogue.send(conversation_id, outgoing, metadata)
            ]
        except httpx.HTTPError as exc:
            logger.warning("Rasa 不可用，改由知识库直接回答：%s", exc)
            degraded = True
        if not degraded and not replies:
            # Rasa said nothing while the bot holds the conversation: unless a person has
            # it (a paused conversation), a custom action failed - the action server is
            # down or restarting (issue 14). The user is not left without an answer.
            paused = await asyncio.to_thread(
                self._escalations.open_for_conversation, conversation.id
            )
            if paused is None:
                logger.warning("Rasa 没有回复（动作服务器可能不可用），改由知识库直接回答")
                degraded = True
        if degraded:
            replies = await asyncio.to_thread(self._answer_from_kb, conversation, outgoing, payload)
            if redacted:  # Rasa's rule would have warned; the KB alone does not.
                notice = hidden_notice(redacted, alone=not replies) or WARNING
                replies = [OutgoingMessage(notice, role=Role.SYSTEM), *replies]
        stored, escalation = await asyncio.to_thread(
            self._store_replies, conversation, replies, degraded
        )
        state = await self._refresh_state(conversation, escalation)
        self._turn_done(conversation, started, "知识库" if degraded else "机器人")
        return TurnResult([*left_queue, *stored], state, user_message.id, degraded)

    async def _while_held(
        self,
        conversation: ConversationView,
        text: str,
        payload: str | None,
        said: MessageView,
        redacted: tuple[str, ...],
    ) -> tuple[list[MessageView], ConversationState, bool]:
        """A message to a conversation a person holds or will hold: the agents see it, and
        what the bot says to it; (the replies, the state after them, whether the bot takes
        the message: the user left the queue saying more, or no case is open any more)."""
        await self.bus.publish(
            AGENTS_CHANNEL,
            {
                "type": "user_message",
                "conversation_id": conversation.id,
                "message": said.for_agents(),
            },
        )
        if conversation.state is not ConversationState.WAITING_AGENT:
            return [], conversation.state, False
        waiting = await asyncio.to_thread(self._escalations.open_for_conversation, conversation.id)
        if waiting is None:
            # Waiting, with no case open (a state change that never landed): the bot has
            # the conversation back rather than leaving the user unheard for good.
            await self._give_back_to_the_bot(conversation)
            return [], ConversationState.BOT, True
        replies = await self._while_waiting(
            conversation, waiting, text=text, payload=payload, said=said, redacted=redacted
        )
        state: ConversationState = conversation.state
        bot_takes = False
        if isinstance(replies, WaitingTurn):
            replies, state, bot_takes = await self._leave_queue(
                conversation, waiting, replies.says_more
            )
        if replies:
            await self.bus.publish(
                AGENTS_CHANNEL,
                {
                    "type": "bot_message",
                    "conversation_id": conversation.id,
                    "messages": [message.for_agents() for message in replies],
                },
            )
        return replies, state, bot_takes

    async def _while_waiting(
        self,
        conversation: ConversationView,
        waiting: EscalationView,
        *,
        text: str,
        payload: str | None,
        said: MessageView,
        redacted: tuple[str, ...],
    ) -> list[MessageView] | WaitingTurn:
        """A user's message while they wait for a person; the LEAVE_QUEUE turn when they
        no longer want one (「不用人工了」).

        Money or a secret reported gone (「我已经告诉他了怎么办啊」 after a scam, 「有人把我的
        钱转走了」): the queue moves them up, and the safety steps come now, not when an
        agent picks up; said again, a short word that it was heard. Until an agent takes
        the case, the help centre answers what it can (support.replies.waiting); anything
        else waits for the agent, and the first such message gets one word that it will
        be read (silence reads as a lost message). Once an agent has the case, the agent
        answers. A message with something hidden is told so (the agent will not see it)."""
        read = signals.read(text)
        if payload is None and (read.urgent or (read.complied and waiting.urgent)):
            return await self._urgent_while_waiting(conversation, said, waiting)
        if waiting.status is not EscalationStatus.WAITING:
            return []  # an agent has the conversation and answers it
        if redacted:
            notice = hidden_notice(redacted, alone=False) or WARNING
            hidden = OutgoingMessage(notice, role=Role.SYSTEM)
            return await asyncio.to_thread(self.add_messages, conversation.id, [hidden])
        recent = await asyncio.to_thread(self.recent_history, conversation.id, CONTEXT_MESSAGES)
        move = await asyncio.to_thread(
            self._waiting_move, conversation, text, payload, waiting, recent
        )
        if move.move is WaitingMove.LEAVE_QUEUE:
            return move
        if move.move is WaitingMove.URGENT:
            return await self._urgent_while_waiting(conversation, said, waiting)
        replies: list[OutgoingMessage] = []
        if move.move is WaitingMove.QUEUE_PLACE:
            place = await asyncio.to_thread(self._escalations.place_in_queue, waiting.id)
            replies = [OutgoingMessage(queue_place_notice(place))]
        elif move.move in _WAITING_WORDS:
            replies = [OutgoingMessage(_WAITING_WORDS[move.move])]
        elif move.move is WaitingMove.ANSWER and move.answer is not None:
            replies = _outgoing(move.answer)
            if STILL_IN_QUEUE not in _said_since(recent, waiting):
                replies.append(OutgoingMessage(STILL_IN_QUEUE))
        else:
            last = await asyncio.to_thread(
                self.last_text, conversation.id, (Role.BOT, Role.AGENT, Role.SYSTEM)
            )
            word = _word_while_waiting(read, urgent=waiting.urgent, last=last)
            if word is None:
                return []
            replies = [OutgoingMessage(word)]
        return await asyncio.to_thread(self.add_messages, conversation.id, replies)

    def _waiting_move(
        self,
        conversation: ConversationView,
        text: str,
        payload: str | None,
        waiting: EscalationView,
        recent: Sequence[MessageView],
    ) -> WaitingTurn:
        kb: KnowledgeBase | None
        try:
            kb = self._knowledge.knowledge_base()
        except KnowledgeUnavailableError:
            kb = None  # 「不用人工了」 still leaves the queue
        turn = while_waiting(
            kb,
            text,
            context_from_history(recent[:-1]),
            payload=payload,
            urgent_case=waiting.urgent,
        )
        if kb is not None and turn.answer is not None and conversation.channel in BRIEF_CHANNELS:
            return replace(turn, answer=briefly(turn.answer, kb.get))
        return turn

    async def _leave_queue(
        self, conversation: ConversationView, waiting: EscalationView, says_more: bool
    ) -> tuple[list[MessageView], ConversationState, bool]:
        """Close the waiting case and give the conversation back to the bot; (the word
        said, the state after it, whether the bot takes the message: when it says more
        than the decline).
        When Rasa cannot resume the conversation the user stays and is told; when an
        agent took the case a moment ago (``withdraw`` checks under a row lock), the agent
        answers."""
        try:
            # Before the case closes: should an agent take it meanwhile, the resumed bot
            # stays quiet all the same (the gateway sends it nothing while a person holds it).
            await self.dialogue.resume(conversation.id)
        except httpx.HTTPError as exc:
            logger.warning("用户取消排队，但 Rasa 不可用，仍在排队：%s", exc)
            stay = OutgoingMessage(CANNOT_LEAVE_QUEUE)
            stored = await asyncio.to_thread(self.add_messages, conversation.id, [stay])
            return stored, conversation.state, False
        closed = await asyncio.to_thread(self._escalations.withdraw, waiting.id)
        if closed is None:
            return [], conversation.state, False
        await self.change_state(conversation.id, ConversationState.BOT)
        await self.bus.publish(
            AGENTS_CHANNEL,
            {
                "type": "resolved",
                "id": closed.id,
                "conversation_id": conversation.id,
                "assigned_to": None,
                "withdrawn": True,
            },
        )
        notice = (
            OutgoingMessage(LEFT_QUEUE, role=Role.SYSTEM)
            if says_more
            else OutgoingMessage(LEFT_QUEUE_DONE)
        )
        stored = await asyncio.to_thread(self.add_messages, conversation.id, [notice])
        return stored, ConversationState.BOT, says_more

    async def _give_back_to_the_bot(self, conversation: ConversationView) -> None:
        try:
            await self.dialogue.resume(conversation.id)
        except httpx.HTTPError as exc:  # the degraded path answers while Rasa stays paused
            logger.warning("会话在排队却没有未解决的转人工记录，交还机器人时 Rasa 不可用：%s", exc)
        await self.change_state(conversation.id, ConversationState.BOT)

    async def _urgent_while_waiting(
        self, conversation: ConversationView, said: MessageView, waiting: EscalationView
    ) -> list[MessageView]:
        """Money or a secret gone while waiting: urgent now, and the steps once."""
        await asyncio.to_thread(
            self._escalations.open,
            EscalationRequest.from_user_texts(
                conversation_id=conversation.id,
                channel=conversation.channel,
                reason=HandoffReason.URGENT.value,
                user_texts=[said.text],
                urgent=True,
            ),
        )
        if not waiting.urgent:
            await self.bus.publish(
                AGENTS_CHANNEL,
                {
                    "type": "escalation",
                    "conversation_id": conversation.id,
                    "id": waiting.id,
                    "urgent": True,
                },
            )
        last_word = await asyncio.to_thread(self.last_text, conversation.id, (Role.BOT,))
        if last_word == URGENT_NOTED:
            return []
        told = await asyncio.to_thread(
            self.bot_said,
            conversation.id,
            (SAFETY_STEPS, SAFETY_BRIEF, SAFETY_STEPS_WAITING, URGENT_NOTED),
        )
        reply = OutgoingMessage(URGENT_NOTED if told else SAFETY_STEPS_WAITING)
        return await asyncio.to_thread(self.add_messages, conversation.id, [reply])

    async def _take_message(
        self, conversation_id: str, text: str, payload: str | None
    ) -> tuple[MessageView, str, tuple[str, ...]]:
        """Store the user's message; (it, what Rasa is sent, the kinds of secret found)."""
        if payload is not None:
            title = await asyncio.to_thread(self.offered_title, conversation_id, payload)
            if title is None:
                raise InvalidChoiceError
            (pressed,) = await asyncio.to_thread(
                self.add_messages,
                conversation_id,
                [OutgoingMessage(title, role=Role.USER)],
                payload=payload,
            )
            return pressed, payload, ()
        typed, redacted = await asyncio.to_thread(self._store_typed, conversation_id, text)
        # Typed text never reaches Rasa as an intent payload ("/affirm").
        return typed, typed.text.lstrip("/") or typed.text, redacted

    async def _typed_choice(self, conversation: ConversationView, text: str) -> str | None:
        """The payload of the button a typed 「2」「第一个」「最后一个」 picks among those
        the bot just offered, as if pressed; None for anything else.

        Only a list (two or more buttons) is numbered in the user's mind; a lone button
        (「无」 under a question) leaves a typed 「1」 as the answer it is. The history is
        read only for a message that could be such a pick.
        """
        if conversation.state is ConversationState.AGENT:
            return None  # said to a person, who reads it as written
        if signals.numbered_choice(text, MAX_NUMBERED_BUTTONS) is None:
            return None
        buttons = await asyncio.to_thread(self.last_bot_buttons, conversation.id)
        if len(buttons) < 2:
            return None
        index = signals.numbered_choice(text, len(buttons))
        return buttons[index].payload if index is not None else None

    @staticmethod
    def _turn_done(conversation: ConversationView, started: float, answered_by: str) -> None:
        elapsed = time.perf_counter() - started
        metrics.turn_duration_seconds.labels(conversation.channel.value).observe(elapsed)
        logger.info(
            "一轮对话完成：渠道 %s，由 %s 处理，用时 %.0f 毫秒",
            conversation.channel.value,
            answered_by,
            elapsed * 1000,
        )

    def _store_typed(self, conversation_id: str, text: str) -> tuple[MessageView, tuple[str, ...]]:
        """Store typed text redacted, reading it with the user's previous messages.

        A phrase split over messages (6 words, then 6) is only found together: the new
        message is stored redacted, and so are the earlier parts, in one transaction.
        Returns the stored message and the kinds of secret found in it.
        """
        earlier = self.recent_typed_messages(conversation_id, EARLIER_MESSAGES_SCANNED)
        *before, found = scan_recent([*(message.text for message in earlier), text])
        rewrites = {
            message.id: result.text
            for message, result in zip(earlier, before, strict=True)
            if result.text != message.text
        }
        (stored,) = self.add_messages(
            conversation_id,
            [OutgoingMessage(found.text, role=Role.USER)],
            redacted=found.found,
            rewrites=rewrites,
        )
        return stored, found.kinds

    def _store_replies(
        self, conversation: ConversationView, replies: Sequence[OutgoingMessage], degraded: bool
    ) -> tuple[list[MessageView], EscalationView | None]:
        """Store the bot's replies and look for a handoff, in one trip to a worker thread.

        The bot's handoff action says so in its reply; the escalation table is also read
        when Rasa said nothing (a paused conversation) or the KB answered alone (it may
        have queued the user itself), so a missed signal cannot leave a user unheard.
        """
        stored = self.add_messages(conversation.id, replies, degraded=degraded)
        handed_off = degraded or not replies or any(reply.handoff for reply in replies)
        escalation = (
            self._escalations.open_for_conversation(conversation.id) if handed_off else None
        )
        return stored, escalation

    async def _refresh_state(
        self, conversation: ConversationView, escalation: EscalationView | None
    ) -> ConversationState:
        """After the bot's turn: did it hand the conversation to a person?"""
        if escalation is None or conversation.state is not ConversationState.BOT:
            return conversation.state
        await self.change_state(conversation.id, ConversationState.WAITING_AGENT)
        await self.bus.publish(
            AGENTS_CHANNEL,
            {
                "type": "escalation",
                "conversation_id": conversation.id,
                "id": escalation.id,
                "urgent": escalation.urgent,
            },
        )
        return ConversationState.WAITING_AGENT

    # Degraded mode: Rasa is unreachable, the KB answers alone.

    def _answer_from_kb(
        self, conversation: ConversationView, text: str, payload: str | None
    ) -> list[OutgoingMessage]:
        """What the bot would do, without Rasa: the same understanding (support.replies.turns)
        with the context rebuilt from the transcript; a handoff or a ticket waits in the queue.
        """
        said = self.history(conversation.id)
        if payload in (OPEN_TICKET, REQUEST_HUMAN):
            # Nothing is lost: the request waits for an agent in the queue.
            context = context_from_history(said[:-1])
            reason = (
                HandoffReason.TICKET_REQUEST
                if payload == OPEN_TICKET
                else HandoffReason.URGENT
                if context.urgent
                else HandoffReason.USER_REQUEST
            )
            self._queue(conversation, said, reason, urgent=context.urgent)
            return [OutgoingMessage(DEGRADED_QUEUED)]
        if payload in (AFFIRM, DENY):
            return [OutgoingMessage(DEGRADED_ACKNOWLEDGED, TICKET_OR_HUMAN)]
        try:
            kb = self._knowledge.knowledge_base()
        except KnowledgeUnavailableError:
            return [OutgoingMessage(UNAVAILABLE)]
        # Only the dialogue model could take the reply to a 是/否 question.
        faq_id = chosen_faq_id(payload)
        faq = kb.get(faq_id) if faq_id else None
        if faq is not None:
            answer = answer_faq(faq, ask_if_helped=False)
        elif payload is not None:
            # Another button's payload is not a question: no metadata for the analytics.
            answer = answer_query(kb.query(text), query=None, ask_if_helped=False)
        else:
            # The transcript ends with this very message: the context is what came before.
            turn = respond(kb, text, context_from_history(said[:-1]), ask_if_helped=False)
            if turn.handoff is not None:
                plan = turn.handoff
                self._queue(
                    conversation, said, plan.reason, urgent=plan.urgent, question=plan.question
                )
                said_first = turn.answer
                if conversation.channel in BRIEF_CHANNELS:  # as Rasa's for_channel shortens it
                    said_first = briefly(said_first, kb.get)
                return [*_outgoing(said_first), OutgoingMessage(DEGRADED_QUEUED)]
            if REDACTED in text and not signals.asks_besides_secrets(text):
                # Only the secret (「验证码〔已隐藏〕 你帮我看看」): the warning says it all,
                # as Rasa's action_sensitive_warning does.
                return [OutgoingMessage(DESCRIBE_IT)]
            if signals.read(text).wants_ticket:
                # No form without the dialogue model: the request goes to the queue as it is.
                self._queue(conversation, said, HandoffReason.TICKET_REQUEST, urgent=False)
                return [OutgoingMessage(DEGRADED_TICKET)]
            if turn.small_talk:
                return [OutgoingMessage(DEGRADED_ACKNOWLEDGED, TICKET_OR_HUMAN)]
            answer = turn.answer
        if conversation.channel in BRIEF_CHANNELS:
            answer = briefly(answer, kb.get)
        return [OutgoingMessage(DEGRADED_NOTICE, role=Role.SYSTEM), *_outgoing(answer)]

    def _queue(
        self,
        conversation: ConversationView,
        said: Sequence[MessageView],
        reason: HandoffReason,
        *,
        urgent: bool,
        question: str | None = None,
    ) -> None:
        texts = [m.text for m in said if m.role is Role.USER]
        if question and texts:
            texts[-1] = question
        self._escalations.open(
            EscalationRequest.from_user_texts(
                conversation_id=conversation.id,
                channel=conversation.channel,
                reason=reason.value,
                user_texts=texts,
                urgent=urgent,
            )
        )

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
            self.add_messages,
            conversation.id,
            [OutgoingMessage(found.text, role=role, author=author)],
            redacted=bool(found.kinds),
        )
        await self.bus.publish(
            conversation_channel(conversation.id), {"type": "message", **stored.for_user()}
        )
        outbound = self._outbound.get(conversation.channel)
        if outbound is None:
            return stored
        delivered = await outbound.deliver(conversation, stored.text, (stored.id,))
        if delivered is None:  # queued for a retry: the channel records the outcome itself
            return stored.model_copy(update={"delivery": "pending"})
        status = "sent" if delivered else "failed"
        await asyncio.to_thread(self.set_delivery, [stored.id], status)
        return stored.model_copy(update={"delivery": status})

    async def change_state(self, conversation_id: str, state: ConversationState) -> None:
        """Set the state and tell the user's open widget."""
        await asyncio.to_thread(self.set_state, conversation_id, state)
        await self.bus.publish(
            conversation_channel(conversation_id), {"type": "state", "state": state.value}
        )


# The transcript read for a waiting user's context: the latest messages, not a WeChat
# conversation's whole history.
CONTEXT_MESSAGES = 40
# A word back for these moves while waiting.
_WAITING_WORDS = {
    WaitingMove.THANKS: WAITING_THANKS,
    WaitingMove.GOODBYE: WAITING_GOODBYE,
    WaitingMove.STAYS_URGENT: STAYS_URGENT,
    WaitingMove.NO_FORM: WAITING_NO_FORM,
}


def _said_since(recent: Sequence[MessageView], waiting: EscalationView) -> set[str]:
    """What the bot said in this wait (since the case was queued)."""
    queued = as_utc(waiting.created_at)
    return {
        message.text
        for message in recent
        if message.role is Role.BOT and as_utc(message.created_at) >= queued
    }


# Once one of these was the last word, an ordinary message gets none.
_HEARD_WHILE_WAITING = (
    WAITING_NOTED,
    SAFETY_STEPS_WAITING,
    URGENT_NOTED,
    SCAM_WARNING,
    QUESTION_NOTED,
    URGENT_QUESTION_NOTED,
)


def _word_while_waiting(read: signals.Signals, *, urgent: bool, last: str | None) -> str | None:
    """The word for a message that waits for the agent (None: nothing more to say after
    ``last``, the bot's last word). In an urgent case (fraud, theft) the user is not left
    with 「收到」 alone: talk of the other party (「可是他连我的身份证号都知道」) gets the
    warning that it is a scam, anything else that the steps come first. A question the
    help centre cannot answer (「要不要去报警啊」) is never met with silence, even right
    after such a word: it is noted for the agent."""
    if not urgent:
        word = WAITING_NOTED
    elif read.scam or read.approached or signals.speaks_of_someone(read.text):
        word = SCAM_WARNING
    else:
        word = URGENT_NOTED
    noted = last in (QUESTION_NOTED, URGENT_QUESTION_NOTED)
    if last != word and not noted and not (word == WAITING_NOTED and last in _HEARD_WHILE_WAITING):
        return word
    if read.asks:
        return URGENT_QUESTION_NOTED if urgent else QUESTION_NOTED
    return None


def _outgoing(answer: Answer) -> list[OutgoingMessage]:
    return [OutgoingMessage(reply.text, reply.buttons, kb=reply.kb) for reply in answer.replies]
