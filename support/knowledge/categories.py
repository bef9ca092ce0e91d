"""The category list that maintainers configure in the console.

FAQ entries and the ticket form share it, so that an entry's ticket hint can pre-fill
the form: a category added in the console is offered in the form, and accepted there.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from kb.content import DEFAULT_CATEGORIES, Category
from support.knowledge.store import CATEGORIES_KEY, KbStore

# The ticket form always has somewhere to put a problem that fits no other category.
CATCH_ALL = Category.OTHER.value


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
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self._ttl:
                names = [name for name in configured_categories(self._store) if name]
                listed = (*(name for name in names if name != CATCH_ALL), CATCH_ALL)
                self._cached = (now, listed)
            return self._cached[1]
