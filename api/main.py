"""The FastAPI gateway. Run with ``uvicorn --factory api.main:create_app``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import health
from api.core.config import Settings, get_settings
from api.core.errors import install_error_handlers
from api.knowledge import routes as knowledge_routes
from api.knowledge.service import KnowledgeService


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    knowledge = KnowledgeService(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Loading the encoder and index takes about a second; keep the event loop free.
        await asyncio.to_thread(knowledge.load)
        yield

    app = FastAPI(title="Kefu 客服", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.knowledge = knowledge
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(knowledge_routes.router)
    return app
