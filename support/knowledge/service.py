"""Holds the gateway's KnowledgeBase: loaded at start-up, swapped in place on reload."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kb.index import Manifest, current_index_dir
from kb.knowledge_base import KnowledgeBase, QueryResult
from kb.pipeline import build_knowledge_base
from support.settings import Settings

logger = logging.getLogger(__name__)


class KnowledgeUnavailableError(RuntimeError):
    """No index has been built yet, or it failed to load."""


class KnowledgeBusyError(RuntimeError):
    """Another rebuild is running."""


@dataclass(frozen=True)
class Rebuild:
    manifest: Manifest  # now in use
    built: bool  # False: the FAQ had not changed, the existing build was reused
    seconds: float


class KnowledgeService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._kb: KnowledgeBase | None = None
        self._error: str | None = None
        self._lock = threading.Lock()
        self._rebuild_lock = threading.Lock()

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

    def current_on_disk(self) -> Path | None:
        """The build CURRENT names, which the action server follows."""
        return current_index_dir(self._settings.index_dir)

    def reload(self, directory: Path | None = None) -> Manifest:
        """Swap in ``directory`` (default: CURRENT); queries in flight finish on the old index."""
        with self._lock:
            kb = self._kb
        if kb is None:
            self.load()
            return self.manifest()
        manifest = kb.reload(directory or self._settings.index_dir)
        self._error = None
        return manifest

    def rebuild(self) -> Rebuild:
        """Validate the FAQ file, build it (reused when unchanged), make it CURRENT, swap it in.

        Blocking; one at a time (KnowledgeBusyError otherwise). A bad FAQ file raises
        kb.content.ContentError, a calibration file that no longer fits raises
        kb.evaluation.EvalFileError; either way CURRENT and the index in use are unchanged.
        """
        if not self._rebuild_lock.acquire(blocking=False):
            raise KnowledgeBusyError("知识库正在重建，请稍后")
        try:
            started = time.perf_counter()
            settings = self._settings
            kb = self._kb
            # Reuse the loaded encoder: loading a second copy costs seconds and memory.
            same = kb is not None and kb.manifest.encoder == settings.encoder
            outcome = build_knowledge_base(
                settings.faq_path,
                settings.index_dir,
                encoder_spec=settings.encoder,
                calibration_file=settings.calibration_path,
                models_dir=settings.models_dir,
                encoder=kb.encoder if kb is not None and same else None,
            )
            manifest = self.reload(outcome.directory)
            logger.info("知识库已重建并热加载：%s", manifest.build_id)
            return Rebuild(manifest, outcome.built, time.perf_counter() - started)
        finally:
            self._rebuild_lock.release()
