"""Following CURRENT: every serving process picks up new builds by itself.

Whoever builds the index (``kefu kb build``, the console's rebuild button) moves
``<index_root>/CURRENT``; the gateway and the action server are other processes and only
see the pointer change. ``IndexFollower.poll`` is cheap enough to call on every request,
and a background thread calls it too, so each process switches within about a second
even when nobody is asking.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from pathlib import Path

from kb.index import Manifest, current_index_dir
from kb.knowledge_base import KnowledgeBase

logger = logging.getLogger(__name__)


class IndexNotLoadedError(RuntimeError):
    """No build has been loaded yet: none is built, or the one CURRENT names is broken."""


class IndexFollower:
    """Keeps a KnowledgeBase on the build that ``<index_root>/CURRENT`` names.

    Starts with ``kb`` (or with nothing: ``load_current`` or the first poll loads one).
    The old index keeps answering until the new one is fully loaded (KnowledgeBase.reload
    swaps one attribute), so no request waits for a load or fails because of one. A build
    that fails to load is logged and not retried until CURRENT names another one.
    """

    def __init__(
        self,
        index_root: Path,
        *,
        kb: KnowledgeBase | None = None,
        models_dir: Path | None = None,
        interval: float = 1.0,
    ) -> None:
        self._root = index_root
        self._kb = kb
        self._models_dir = models_dir
        self._interval = interval
        self._next_check = 0.0
        self._check_lock = threading.Lock()
        # One load at a time, whoever asks: the poll's thread or load_current.
        self._load_lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        # The build that failed to load, as its manifest was then: a rewritten manifest
        # (a new calibration naming another head) is tried again.
        self._failed: tuple[Path, tuple[int, int] | None] | None = None
        self._error: str | None = None
        self._stop = threading.Event()
        self._loaded_stamp = _manifest_stamp(kb.directory.resolve()) if kb is not None else None

    @property
    def loaded(self) -> KnowledgeBase | None:
        return self._kb

    @property
    def knowledge_base(self) -> KnowledgeBase:
        if self._kb is None:
            raise IndexNotLoadedError(self._error or "知识库尚未加载")
        return self._kb

    @property
    def error(self) -> str | None:
        """Why the last load failed, until a later one succeeds."""
        return self._error

    def _in_use(self, target: Path) -> bool:
        """Whether ``target`` is loaded as it is on disk now: a build recalibrated in place
        (same folder, new thresholds in its manifest) is loaded again."""
        return (
            self._kb is not None
            and self._kb.directory.resolve() == target
            and _manifest_stamp(target) == self._loaded_stamp
        )

    def _pending(self) -> Path | None:
        """The build CURRENT names, when it is neither in use nor known to be broken."""
        target = current_index_dir(self._root)
        if target is None:
            return None
        target = target.resolve()
        if self._in_use(target) or self._failed == (target, _manifest_stamp(target)):
            return None
        return target

    def _load(self, target: Path) -> Manifest:
        with self._load_lock:
            if self._in_use(target):
                return self.knowledge_base.manifest
            # Read before loading: a rewrite during the load is seen at the next poll.
            stamp = _manifest_stamp(target)
            try:
                if self._kb is None:
                    self._kb = KnowledgeBase.load(target, models_dir=self._models_dir)
                    manifest = self._kb.manifest
                else:
                    manifest = self._kb.reload(target)
                self._loaded_stamp = stamp
            except Exception as exc:
                self._failed, self._error = (target, stamp), str(exc)
                raise
            self._failed = self._error = None
            return manifest

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
        previous = self._kb.manifest.build_id if self._kb is not None else "（无）"
        try:
            manifest = self._load(target)
        except Exception:
            logger.exception("知识库热加载失败（%s），继续使用 %s", target.name, previous)
            return
        logger.info("知识库已热加载：%s", manifest.build_id)

    def wait(self, timeout: float | None = None) -> None:
        """Until a load started by ``poll`` has finished (tests, shutdown)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)

    def load_current(self) -> Manifest:
        """Swap in what CURRENT names now, on this thread; a broken build is tried again.

        Raises what loading raises (FileNotFoundError when nothing is built); ``error``
        keeps the reason.
        """
        target = current_index_dir(self._root)
        if target is None:
            self._error = f"{self._root} 中没有已构建的知识库索引，请先运行 `kefu kb build`。"
            raise FileNotFoundError(self._error)
        return self._load(target.resolve())

    def start(self) -> None:
        """Poll in the background until ``stop``, so that an idle process follows too.

        The thread holds the follower only weakly: one that is no longer used (a test's
        gateway, say) stops polling by itself.
        """
        if self._poller is not None and self._poller.is_alive() and not self._stop.is_set():
            return
        # A fresh event: a follower stopped once (an app's lifespan ended) may start again.
        self._stop = stop = threading.Event()
        interval, follower = self._interval, weakref.ref(self)

        def loop() -> None:
            while not stop.wait(interval):
                current = follower()
                if current is None:
                    return
                try:
                    current.poll()
                except Exception:
                    logger.exception("检查知识库 CURRENT 指针失败")
                del current

        self._poller = threading.Thread(target=loop, name="kefu-kb-poll", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()


def _manifest_stamp(directory: Path) -> tuple[int, int] | None:
    """Changes whenever the manifest is rewritten (write_manifest replaces the file)."""
    try:
        status = (directory / "manifest.json").stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns
