"""What the actions share in one action-server process: settings, the KB, the services.

rasa-sdk 3.21 runs under Sanic 25, which imports this package twice: once in the main
process and again in a spawned worker. Everything heavy is therefore created lazily,
at most once per process, and the worker warms it up in the background at start-up.

The KB follows ``<index_dir>/CURRENT`` (kb.follow, as the gateway does): after a new
build (``kefu kb build``, the console's button), this process loads it in the background
within about a second and swaps it in; actions keep answering from the old one meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import TypeVar

from kb.follow import IndexFollower
from kb.knowledge_base import KnowledgeBase
from support.escalations.service import EscalationService
from support.knowledge.categories import TicketCategories
from support.settings import Settings, get_settings
from support.storage import migrate, session_factory
from support.tickets.service import TicketService

logger = logging.getLogger(__name__)
T = TypeVar("T")

_lock = threading.Lock()


def _once(factory: Callable[[], T]) -> Callable[[], T]:
    """Like functools.cache, but a second caller waits instead of building it again."""
    built: list[T] = []

    def get() -> T:
        if not built:
            with _lock:
                if not built:
                    built.append(factory())
        return built[0]

    return get


def settings() -> Settings:
    return get_settings()


@_once
def knowledge_follower() -> IndexFollower:
    current = settings()
    follower = IndexFollower(current.index_dir, models_dir=current.models_dir)
    # Raises when nothing is built yet: not cached then, the next caller tries again.
    follower.load_current()
    return follower


def knowledge_base() -> KnowledgeBase:
    """The KB; a check (at most once a second) starts loading a new CURRENT if there is one."""
    follower = knowledge_follower()
    follower.poll()
    return follower.knowledge_base


@cache
def _database_ready() -> str:
    url = settings().database_url
    migrate(url)
    return url


@_once
def tickets() -> TicketService:
    return TicketService(session_factory(_database_ready()), settings().timezone)


@_once
def ticket_categories() -> TicketCategories:
    return TicketCategories(session_factory(_database_ready()))


@_once
def escalations() -> EscalationService:
    return EscalationService(session_factory(_database_ready()))


def warm_up() -> None:
    """Load the KB (encoder, index, jieba) and open the database before the first turn."""
    try:
        knowledge_base()
        # Follow CURRENT even while no one asks, so the first question after a rebuild
        # already gets the new answers.
        knowledge_follower().start()
        tickets()
        escalations()
        logger.info("动作服务器预热完成：知识库 %s", knowledge_base().manifest.build_id)
    except Exception:
        logger.exception("动作服务器预热失败，将在第一次调用时重试")


# Only the Sanic worker serves requests; warming the main process would load twice.
if os.environ.get("SANIC_WORKER_NAME"):
    threading.Thread(target=warm_up, name="kefu-warm-up", daemon=True).start()
