"""The category list that maintainers configure in the console.

FAQ entries and the ticket form share it, so that an entry's ticket hint can pre-fill
the form: a category added in the console is offered in the form, and accepted there.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kb.content import DEFAULT_CATEGORIES, Category
from support.knowledge.store import CATEGORIES_KEY, KbStore

logger = logging.getLogger(__name__)

# The ticket form always has somewhere to put a problem that fits no other category.
CATCH_ALL = Category.OTHER.value
# After a failed read, try the database again this soon.
RETRY_SECONDS = 5.0


def configured_categories(store: KbStore) -> list[str]:
    """The configured list, or the default one when nobody has changed it."""
    stored = store.setting(CATEGORIES_KEY)
    return [str(name) for name in stored] if stored else list(DEFAULT_CATEGORIES)


class TicketCategories:
    """The ticket form's categories: the configured list, with 「其他」 last.

    Read at most every ``ttl`` seconds: the form asks on every turn, and a change in the
    console may take that long to reach the form.
    """

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 30.0) -> None:
        self._store = KbStore(sessions)
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, tuple[str, ...]] | None = None

    def current(self) -> tuple[str, ...]:
        """The list; with the database away for a moment, the last one read (or the
        default list), so that the form keeps working."""
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self._ttl:
                try:
                    names = [name for name in configured_categories(self._store) if name]
                except SQLAlchemyError:
                    logger.warning("读取工单分类失败，暂用上一次的分类列表", exc_info=True)
                    names = list(self._cached[1] if self._cached else DEFAULT_CATEGORIES)
                    now = now - self._ttl + RETRY_SECONDS
                listed = (*(name for name in names if name != CATCH_ALL), CATCH_ALL)
                self._cached = (now, listed)
            return self._cached[1]
