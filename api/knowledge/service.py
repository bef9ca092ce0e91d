"""Holds the gateway's KnowledgeBase: loaded at start-up, swapped in place on reload."""

from __future__ import annotations

import logging
import threading

from api.core.config import Settings
from kb.index import Manifest
from kb.knowledge_base import KnowledgeBase, QueryResult

logger = logging.getLogger(__name__)


class KnowledgeUnavailableError(RuntimeError):
    """No index has been built yet, or it failed to load."""


class KnowledgeService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._kb: KnowledgeBase | None = None
        self._error: str | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            try:
                self._kb = KnowledgeBase.load(
                    self._settings.index_dir, models_dir=self._settings.models_dir
                )
                self._error = None
            except (FileNotFoundError, ValueError) as exc:
                logger.error("知识库加载失败：%s", exc)
                self._error = str(exc)

    @property
    def ready(self) -> bool:
        return self._kb is not None

    @property
    def error(self) -> str | None:
        return self._error

    def knowledge_base(self) -> KnowledgeBase:
        if self._kb is None:
            raise KnowledgeUnavailableError(self._error or "知识库尚未加载")
        return self._kb

    def query(self, text: str, top_k: int = 3) -> QueryResult:
        return self.knowledge_base().query(text, top_k=top_k)

    def manifest(self) -> Manifest:
        return self.knowledge_base().manifest
