"""The FastAPI gateway. Run with ``uvicorn --factory api.main:create_app``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.datastructures import State

from api import health
from api import knowledge as knowledge_routes
from api import metrics as metrics_routes
from api.console import pages as agent_console
from api.console.analytics import routes as analytics_routes
from api.console.auth import routes as agent_auth_routes
from api.console.cases import routes as agent_routes
from api.console.cases.desk import AgentDesk
from api.console.knowledge import routes as knowledge_admin_routes
from api.console.tickets import routes as ticket_routes
from api.core.abuse import AbuseLimits
from api.core.cors import ChatCorsMiddleware
from api.core.errors import install_error_handlers
from api.core.headers import NoStoreMiddleware
from api.core.limits import BodySizeLimitMiddleware
from api.core.request_id import RequestIdMiddleware
from api.web import routes as chat_routes
from api.web import static as chat_static
from api.wechat import routes as wechat_routes
from api.wechat.delivery import CustomerMessenger, OutboxWorker, WeChatOutbound
from api.wechat.service import WeChatService
from support.accounts.service import DEMO_AGENT, AccountService
from support.analytics.metrics import AnalyticsService
from support.analytics.suggestions import SuggestionService
from support.channels import Channel
from support.conversations.flows import ConversationService, DialogueBackend
from support.conversations.store import ConversationStore
from support.dialogue import RasaClient
from support.escalations.service import EscalationService
from support.events import event_bus
from support.inbox.store import inbox_store
from support.knowledge.flows import KnowledgeWorkspace
from support.knowledge.service import KnowledgeService
from support.knowledge.store import KbStore
from support.logs import configure_logging
from support.outbox.service import OutboxService
from support.ratelimit import failure_counter, rate_limiter
from support.settings import InsecureProductionError, Settings, get_settings
from support.storage import migrate, session_factory
from support.tickets.service import TicketService

logger = logging.getLogger(__name__)
# Issue 14: the database or Redis is away for a moment (a restart, a failover).
BACKEND_UNAVAILABLE = "系统暂时繁忙，您的消息可能没有发出，请稍后再发一次。"
OUTAGES = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


async def _backend_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """A 503 with a plain Chinese notice (the widget gives the text back to resend);
    connections come back by themselves (pool_pre_ping, redis-py's reconnect)."""
    logger.warning("数据库或 Redis 暂时不可用：%s", type(exc).__name__)
    return JSONResponse(
        {"detail": BACKEND_UNAVAILABLE}, status_code=503, headers={"Retry-After": "5"}
    )


def _refuse_demo_agent(settings: Settings) -> None:
    """Production does not start while the demo admin (password printed once) exists."""
    if not settings.production:
        return
    if AccountService(session_factory(settings.database_url)).get(DEMO_AGENT) is not None:
        raise InsecureProductionError(
            [
                f"数据库里还有 `kefu demo` 创建的演示管理员 {DEMO_AGENT}（它的密码打印在终端里）："
                "请先用 `kefu agent add <用户名> --admin` 建立自己的管理员，"
                f"再用 `kefu agent remove {DEMO_AGENT}` 删除它"
            ]
        )


def _docs(settings: Settings) -> dict[str, Any]:
    """FastAPI's docs options; refuses an insecure production setup first.

    Settings refuse one when they are read (KEFU_ENV=production); asked again here for
    settings that skipped validation (model_copy, model_construct). Production keeps the
    API's map to itself: no /docs, /redoc or /openapi.json.
    """
    if not settings.production:
        return {}
    if problems := settings.insecure_for_production():
        raise InsecureProductionError(problems)
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}


def _build_services(
    state: State,
    settings: Settings,
    knowledge: KnowledgeService,
    dialogue: DialogueBackend | None,
) -> None:
    """Every service, built once; routes get them from api.core.deps (the desk from
    api.console.deps, WeChat from api.wechat.routes)."""
    sessions = session_factory(settings.database_url)
    rasa = RasaClient(settings)
    bus = event_bus(settings.redis_url)
    messenger = CustomerMessenger(settings)
    outbox = OutboxService(
        sessions,
        max_attempts=settings.wechat_outbox_attempts,
        backoff=settings.wechat_outbox_backoff,
    )
    # Records each delivery's outcome on the messages (a store of its own: no cycle).
    outbox_worker = OutboxWorker(outbox, messenger, ConversationStore(sessions))
    escalations = EscalationService(sessions)
    tickets = TicketService(sessions, settings.timezone)
    conversations = ConversationService(
        sessions,
        dialogue=dialogue or rasa,
        knowledge=knowledge,
        escalations=escalations,
        bus=bus,
        limiter=rate_limiter(
            settings.redis_url, settings.chat_rate_limit, settings.chat_rate_window
        ),
        outbound={Channel.WECHAT: WeChatOutbound(outbox_worker)},
    )
    wechat = WeChatService(
        settings,
        conversations,
        knowledge,
        inbox_store(settings.redis_url, sessions),
        outbox_worker,
    )
    state.knowledge = knowledge
    state.rasa = rasa
    state.bus = bus
    state.escalations = escalations
    state.tickets = tickets
    state.conversations = conversations
    state.accounts = AccountService(sessions, settings.agent_session_hours)
    state.abuse_limits = AbuseLimits.from_settings(settings)
    state.login_failures = failure_counter(
        settings.redis_url, settings.agent_login_failures, settings.agent_login_lockout
    )
    state.analytics = AnalyticsService(sessions, knowledge)
    state.suggestions = SuggestionService(sessions, knowledge)
    state.desk = AgentDesk(escalations, conversations, tickets)
    state.kb_workspace = KnowledgeWorkspace(KbStore(sessions), knowledge, settings)
    state.wechat = wechat


def create_app(
    settings: Settings | None = None, *, dialogue: DialogueBackend | None = None
) -> FastAPI:
    """The gateway. ``dialogue`` replaces the Rasa client (tests use a fake Rasa)."""
    if settings is None:
        # Built from the environment: this is the gateway process (uvicorn --factory),
        # whose logging is ours to set up. Tests pass settings and keep pytest's.
        settings = get_settings()
        configure_logging(json_logs=settings.log_json, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Alembic migrations first; loading the KB takes a second, off the event loop.
        await asyncio.to_thread(migrate, settings.database_url)
        await asyncio.to_thread(_refuse_demo_agent, settings)
        knowledge = KnowledgeService(settings)
        await asyncio.to_thread(knowledge.load)
        _build_services(app.state, settings, knowledge, dialogue)
        # First start: the FAQ file becomes the knowledge workspace's version 1.
        await asyncio.to_thread(app.state.kb_workspace.seed_on_start)
        # Takes over WeChat callbacks a crashed gateway left, and sends the outbox.
        app.state.wechat.start()
        yield
        # Late WeChat answers (客服消息) still being prepared are finished, not dropped.
        await app.state.wechat.aclose()
        await app.state.rasa.aclose()
        await app.state.bus.close()
        knowledge.close()

    app = FastAPI(title="Kefu 客服", version="0.1.0", lifespan=lifespan, **_docs(settings))
    app.state.settings = settings
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(NoStoreMiddleware, prefixes=("/api/agent/", "/api/chat/"))
    app.add_middleware(ChatCorsMiddleware, origins=settings.widget_origin_list)
    # Outermost: every response, CORS refusals and errors included, carries the id.
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    for outage in OUTAGES:
        app.add_exception_handler(outage, _backend_unavailable)
    app.include_router(health.router)
    app.include_router(metrics_routes.router)
    app.include_router(knowledge_routes.router)
    app.include_router(chat_routes.router)
    app.include_router(wechat_routes.router)
    app.include_router(agent_auth_routes.login_router)
    app.include_router(agent_auth_routes.router)
    app.include_router(agent_routes.router)
    app.include_router(ticket_routes.router)
    app.include_router(analytics_routes.router)
    app.include_router(knowledge_admin_routes.router)
    app.include_router(agent_console.router)
    app.include_router(chat_static.router)
    return app
