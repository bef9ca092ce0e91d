"""The agent's side of a handoff: the queue, a case, replies, taking a case, resolving it.

Replies go through the conversation service like every other message, so they are
redacted, stored, pushed live to the widget and sent by 客服消息 on WeChat. Resolving
resumes the Rasa conversation first: if Rasa cannot be reached nothing changes, so a
case is never marked done while the bot would still ignore the user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from support.conversations.flows import AGENTS_CHANNEL, ConversationService
from support.conversations.models import ConversationState, Role
from support.conversations.schemas import ConversationSummary, ConversationView, MessageView
from support.errors import ConflictError, UnavailableError
from support.escalations.errors import EscalationResolvedError
from support.escalations.models import EscalationStatus
from support.escalations.service import EscalationService, EscalationView
from support.events import EventBus
from support.tickets.service import TicketService, TicketView

AGENT_JOINED = "人工客服已接入，请直接在这里描述您的问题。"
RESOLVED = "本次人工服务已结束，感谢您的耐心。之后由智能助手继续为您服务，有问题可以直接问我。"


class NotYourCaseError(ConflictError):
    """Another agent holds the case; taking it over is an explicit step (assign)."""

    def __init__(self, owner: str) -> None:
        super().__init__(f"这个会话正由 {owner} 处理；如需接手，请先点「分配给我」。")
        self.owner = owner


class DialogueUnavailableError(UnavailableError):
    """Rasa could not be reached to take the conversation back."""

    default_message = "对话服务暂时不可用，还不能交还机器人。会话保持不变，请稍后再试。"


@dataclass(frozen=True)
class QueueItem:
    escalation: EscalationView
    conversation_state: ConversationState
    waiting_seconds: float
    last_user_message: str | None
    user_messages: int


@dataclass(frozen=True)
class Case:
    item: QueueItem
    conversation: ConversationView
    transcript: list[MessageView]
    tickets: list[TicketView]

    @property
    def escalation(self) -> EscalationView:
        return self.item.escalation


def _item(escalation: EscalationView, summary: ConversationSummary) -> QueueItem:
    end = escalation.resolved_at or datetime.now(UTC)
    return QueueItem(
        escalation=escalation,
        conversation_state=summary.state,
        waiting_seconds=max(0.0, (end - escalation.created_at).total_seconds()),
        last_user_message=summary.last_user_message,
        user_messages=summary.user_messages,
    )


def _recorded(escalation: EscalationView) -> ConversationSummary:
    """For a handoff made straight through Rasa (no gateway conversation): what it recorded."""
    said = escalation.last_messages
    return ConversationSummary(
        ConversationState.WAITING_AGENT, len(said), said[-1] if said else None
    )


class AgentDesk:
    def __init__(
        self,
        escalations: EscalationService,
        conversations: ConversationService,
        tickets: TicketService,
    ) -> None:
        self._escalations = escalations
        self._conversations = conversations
        self._tickets = tickets

    @property
    def bus(self) -> EventBus:
        return self._conversations.bus

    # Reading

    def queue(self, statuses: Sequence[EscalationStatus]) -> list[QueueItem]:
        """The escalations with their conversations' summaries: two queries, not two per row."""
        escalations = self._escalations.with_status(statuses)
        summaries = self._conversations.summaries([e.conversation_id for e in escalations])
        return [
            _item(escalation, summaries.get(escalation.conversation_id) or _recorded(escalation))
            for escalation in escalations
        ]

    def case(self, escalation_id: int) -> Case:
        escalation = self._escalations.get(escalation_id)
        conversation = self._conversations.get(escalation.conversation_id)
        transcript = self._conversations.history(escalation.conversation_id)
        said = [message for message in transcript if message.role is Role.USER]
        summary = ConversationSummary(
            conversation.state, len(said), said[-1].text if said else None
        )
        return Case(
            item=_item(escalation, summary),
            conversation=conversation,
            transcript=transcript,
            tickets=self._tickets.for_sender(escalation.conversation_id),
        )

    # Acting

    async def assign(self, escalation_id: int, agent: str) -> EscalationView:
        escalation = await asyncio.to_thread(self._escalations.assign, escalation_id, agent)
        conversation = await asyncio.to_thread(self._conversations.get, escalation.conversation_id)
        if conversation.state is not ConversationState.AGENT:
            await self._conversations.change_state(conversation.id, ConversationState.AGENT)
            await self._conversations.post_to_user(conversation, AGENT_JOINED, role=Role.SYSTEM)
        await self._announce("assigned", escalation)
        return escalation

    async def reply(self, escalation_id: int, agent: str, text: str) -> MessageView:
        escalation = await asyncio.to_thread(self._escalations.get, escalation_id)
        if escalation.status is EscalationStatus.RESOLVED:
            raise EscalationResolvedError
        if escalation.assigned_to not in (None, agent):
            raise NotYourCaseError(escalation.assigned_to)
        if escalation.status is EscalationStatus.WAITING:
            escalation = await self.assign(escalation_id, agent)
        conversation = await asyncio.to_thread(self._conversations.get, escalation.conversation_id)
        message = await self._conversations.post_to_user(
            conversation, text, role=Role.AGENT, author=agent
        )
        await self._conversations.bus.publish(
            AGENTS_CHANNEL,
            {
                "type": "agent_message",
                "id": escalation.id,
                "conversation_id": conversation.id,
                "message": message.for_agents(),
            },
        )
        return message

    async def resolve(self, escalation_id: int) -> EscalationView:
        escalation = await asyncio.to_thread(self._escalations.get, escalation_id)
        if escalation.status is EscalationStatus.RESOLVED:
            raise EscalationResolvedError
        try:
            await self._conversations.dialogue.resume(escalation.conversation_id)
        except httpx.HTTPError as exc:
            raise DialogueUnavailableError from exc
        escalation = await asyncio.to_thread(self._escalations.resolve, escalation_id)
        conversation = await asyncio.to_thread(self._conversations.get, escalation.conversation_id)
        await self._conversations.change_state(conversation.id, ConversationState.BOT)
        await self._conversations.post_to_user(conversation, RESOLVED, role=Role.SYSTEM)
        await self._announce("resolved", escalation)
        return escalation

    async def _announce(self, kind: str, escalation: EscalationView) -> None:
        """Tell every open console, so queues and case views update live."""
        await self._conversations.bus.publish(
            AGENTS_CHANNEL,
            {
                "type": kind,
                "id": escalation.id,
                "conversation_id": escalation.conversation_id,
                "assigned_to": escalation.assigned_to,
            },
        )
