"""FastAPI dependencies that hand out the app's services.

Every service is built once, in ``api.main``'s lifespan, and kept on ``app.state``;
routes take them through these functions (or the ``...Dep`` aliases), never build
their own. The console's AgentDesk (``api.console.deps.get_desk``) and the WeChat
service (``api.wechat``) are handed out by their packages: the shared parts of the
gateway import no channel and no console.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from support.accounts.service import AccountService, ActiveSession
from support.analytics.metrics import AnalyticsService
from support.analytics.suggestions import SuggestionService
from support.conversations.flows import ConversationService
from support.dialogue import RasaClient
from support.escalations.service import EscalationService
from support.events import EventBus
from support.knowledge.service import KnowledgeService
from support.ratelimit import FailureCounter
from support.settings import Settings
from support.tickets.service import TicketService


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_knowledge(request: Request) -> KnowledgeService:
    knowledge: KnowledgeService = request.app.state.knowledge
    return knowledge


def get_conversations(request: Request) -> ConversationService:
    conversations: ConversationService = request.app.state.conversations
    return conversations


def get_escalations(request: Request) -> EscalationService:
    escalations: EscalationService = request.app.state.escalations
    return escalations


def get_tickets(request: Request) -> TicketService:
    tickets: TicketService = request.app.state.tickets
    return tickets


def get_accounts(request: Request) -> AccountService:
    accounts: AccountService = request.app.state.accounts
    return accounts


def get_login_failures(request: Request) -> FailureCounter:
    failures: FailureCounter = request.app.state.login_failures
    return failures


def get_analytics(request: Request) -> AnalyticsService:
    analytics: AnalyticsService = request.app.state.analytics
    return analytics


def get_suggestions(request: Request) -> SuggestionService:
    suggestions: SuggestionService = request.app.state.suggestions
    return suggestions


def get_bus(request: Request) -> EventBus:
    bus: EventBus = request.app.state.bus
    return bus


def get_rasa(request: Request) -> RasaClient:
    rasa: RasaClient = request.app.state.rasa
    return rasa


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeDep = Annotated[KnowledgeService, Depends(get_knowledge)]
ConversationsDep = Annotated[ConversationService, Depends(get_conversations)]
EscalationsDep = Annotated[EscalationService, Depends(get_escalations)]
TicketsDep = Annotated[TicketService, Depends(get_tickets)]
AccountsDep = Annotated[AccountService, Depends(get_accounts)]
LoginFailuresDep = Annotated[FailureCounter, Depends(get_login_failures)]
AnalyticsDep = Annotated[AnalyticsService, Depends(get_analytics)]
SuggestionsDep = Annotated[SuggestionService, Depends(get_suggestions)]
BusDep = Annotated[EventBus, Depends(get_bus)]
RasaDep = Annotated[RasaClient, Depends(get_rasa)]


# The console's login cookie. Named here, where the gateway's shared parts can read it
# (api.console.deps guards the console with it): a console login also unlocks the
# internals that production hides from anonymous callers.
AGENT_COOKIE = "kefu_agent"


def optional_console_session(request: Request, accounts: AccountsDep) -> ActiveSession | None:
    """The caller's console login, if the request carries a valid one."""
    token = request.cookies.get(AGENT_COOKIE)
    return accounts.session(token) if token else None


def internals_visible(
    settings: SettingsDep,
    active: Annotated[ActiveSession | None, Depends(optional_console_session)],
) -> bool:
    """Build ids, encoders and thresholds: shown outside production, or to a console login."""
    return not settings.production or active is not None


InternalsVisibleDep = Annotated[bool, Depends(internals_visible)]
