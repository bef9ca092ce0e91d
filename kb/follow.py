"""Following CURRENT: a process that did not build the index picks up new builds itself.

The gateway rebuilds the index and moves ``<index_root>/CURRENT``; the action server is
another process and only sees the pointer change. ``IndexFollower.poll`` is cheap enough
to call on every request, and a background thread calls it too, so the action server
switches within about a second even when nobody is asking.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from kb.index import Manifest, current_index_dir
from kb.knowledge_base import KnowledgeBase

logger = logging.getLogger(__name__)


class IndexFollower:
    """Keeps ``kb`` on the build that ``<index_root>/CURRENT`` names.

    The old index keeps answering until the new one is fully loaded (KnowledgeBase.reload
    swaps one attribute), so no request waits for a load or fails because of one. A build
    that fails to load is logged and not retried until CURRENT names another one.
    """

    def __init__(self, kb: KnowledgeBase, index_root: Path, *, interval: float = 1.0) -> None:
        self._kb = kb
        self._root = index_root
        self._interval = interval
        self._next_check = 0.0
        self._check_lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._failed: Path | None = None
        self._stop = threading.Event()

    @property
    def knowledge_base(self) -> KnowledgeBase:
        return self._kb

    def _pending(self) -> Path | None:
        """The build CURRENT names, when it is neither in use nor known to be broken."""
        target = current_index_dir(self._root)
        if target is None:
            return None
        target = target.resolve()
        if target in (self._kb.directory.resolve(), self._failed):
            return None
        return target

    def poll(self) -> None:
        """Read CURRENT at most once per interval; load a new build on a background thread."""
        now = time.monotonic()
        # Callers that find the check already running, or done recently, go straight on.
        if now < self._next_check or not self._check_lock.acquire(blocking=False):
            return
        try:
            self._next_check = now + self._interval
            if self._loading is not None and self._loading.is_alive():
                return
            target = self._pending()
            if target is None:
                return
            self._loading = threading.Thread(
                target=self._swap, args=(target,), name="kefu-kb-follow", daemon=True
            )
            self._loading.start()
        finally:
            self._check_lock.release()

    def _swap(self, target: Path) -> None:
        try:
            manifest = self._kb.reload(target)
        except Exception:
            self._failed = target
            logger.exception(
                "知识库热加载失败（%s），继续使用 %s", target.name, self._kb.manifest.build_id
            )
            return
        logger.info("知识库已热加载：%s", manifest.build_id)

    def wait(self, timeout: float | None = None) -> None:
        """Until a load started by ``poll`` has finished (tests, shutdown)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)

    def reload_now(self) -> Manifest:
        """Swap in what CURRENT names now, on this thread; a broken build is tried again."""
        self._failed = None
        self.wait()
        return self._kb.reload(self._root)

    def start(self) -> None:
        """Poll in the background until ``stop``, so that an idle process follows too."""

        def loop() -> None:
            while not self._stop.wait(self._interval):
                try:
                    self.poll()
                except Exception:
                    logger.exception("检查知识库 CURRENT 指针失败")

        threading.Thread(target=loop, name="kefu-kb-poll", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
