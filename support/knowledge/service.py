"""Holds the gateway's KnowledgeBase: loaded at start-up, then following CURRENT.

The same mechanism as the action server (kb.follow): whatever writes a new build and
moves ``<index_dir>/CURRENT`` (``kefu kb build``, the console's rebuild) is picked up
within about a second, with no call to the gateway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kb.follow import IndexFollower
from kb.index import Manifest, current_index_dir, set_current
from kb.knowledge_base import KnowledgeBase, QueryResult
from kb.pipeline import build_knowledge_base
from support.errors import ConflictError, UnavailableError
from support.settings import Settings

logger = logging.getLogger(__name__)


class KnowledgeUnavailableError(UnavailableError):
    """No index has been built yet, or it failed to load."""

    def __init__(self, reason: str) -> None:
        # str() stays the bare reason (the admin's KB panel shows it); the API says more.
        super().__init__(reason)
        self.message = f"知识库暂不可用：{reason}"


class KnowledgeBusyError(ConflictError):
    """Another rebuild is running."""


@dataclass(frozen=True)
class Rebuild:
    manifest: Manifest  # now in use
    built: bool  # False: the FAQ had not changed, the existing build was reused
    seconds: float


class KnowledgeService:
    def __init__(
        self,
        settings: Settings,
        *,
        follow_interval: float = 1.0,
        kb: KnowledgeBase | None = None,
    ) -> None:
        """``kb``: one already loaded (tests and tools reuse their encoder)."""
        self._settings = settings
        self._follower = IndexFollower(
            settings.index_dir, kb=kb, models_dir=settings.models_dir, interval=follow_interval
        )
        self._rebuild_lock = threading.Lock()

    def load(self) -> None:
        """Load what CURRENT names (a failure is kept in ``error``) and follow it from now on."""
        try:
            self._follower.load_current()
        except Exception as exc:  # reported by /healthz; the next build is picked up
            logger.error("知识库加载失败：%s", exc)
        self._follower.start()

    def close(self) -> None:
        """Stop following CURRENT (the app shuts down)."""
        self._follower.stop()

    @property
    def ready(self) -> bool:
        return self._follower.loaded is not None

    @property
    def error(self) -> str | None:
        return self._follower.error

    def knowledge_base(self) -> KnowledgeBase:
        # Cheap (at most one look at CURRENT a second); the background thread follows too.
        self._follower.poll()
        kb = self._follower.loaded
        if kb is None:
            raise KnowledgeUnavailableError(self._follower.error or "知识库尚未加载")
        return kb

    def query(self, text: str, top_k: int = 3) -> QueryResult:
        return self.knowledge_base().query(text, top_k=top_k)

    def manifest(self) -> Manifest:
        return self.knowledge_base().manifest

    def current_on_disk(self) -> Path | None:
        """The build CURRENT names, which every process follows."""
        return current_index_dir(self._settings.index_dir)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the one build slot (rebuild, publish, rollback); busy raises KnowledgeBusyError."""
        if not self._rebuild_lock.acquire(blocking=False):
            raise KnowledgeBusyError("知识库正在发布或重建，请稍后")
        try:
            yield
        finally:
            self._rebuild_lock.release()

    def make_current(self, directory: Path) -> Manifest:
        """Point CURRENT at a finished build and swap it in here (call inside ``exclusive``).

        The other processes follow CURRENT within about a second.
        """
        set_current(self._settings.index_dir, directory)
        manifest = self._follower.load_current()
        logger.info("知识库已切换到 %s", manifest.build_id)
        return manifest

    def rebuild(self) -> Rebuild:
        """Validate the FAQ file, build it (reused when unchanged), make it CURRENT, swap it in.

        Blocking; one at a time (KnowledgeBusyError otherwise). The swap here is immediate;
        the other processes follow CURRENT within about a second. A bad FAQ file raises
        kb.content.ContentError, a calibration file that no longer fits raises
        kb.evaluation.EvalFileError; either way CURRENT and the index in use are unchanged.
        """
        if not self._rebuild_lock.acquire(blocking=False):
            raise KnowledgeBusyError("知识库正在重建，请稍后")
        try:
            started = time.perf_counter()
            settings = self._settings
            outcome = build_knowledge_base(
                settings.faq_path,
                settings.index_dir,
                encoder_spec=settings.encoder,
                calibration_file=settings.calibration_path,
                models_dir=settings.models_dir,
                # Reuse the loaded encoder: loading a second copy costs seconds and memory.
                in_use=self._follower.loaded,
            )
            manifest = self._follower.load_current()
            logger.info("知识库已重建并热加载：%s", manifest.build_id)
            return Rebuild(manifest, outcome.built, time.perf_counter() - started)
        finally:
            self._rebuild_lock.release()
