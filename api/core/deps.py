"""FastAPI dependencies shared by the route modules."""

from __future__ import annotations

from fastapi import Request

from support.conversations.service import ConversationService
from support.knowledge.service import KnowledgeService
from support.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_knowledge(request: Request) -> KnowledgeService:
    knowledge: KnowledgeService = request.app.state.knowledge
    return knowledge


def get_conversations(request: Request) -> ConversationService:
    conversations: ConversationService = request.app.state.conversations
    return conversations
