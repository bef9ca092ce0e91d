"""Rasa commands run from bot/ with the project's environment, and the real dialogue
stack (`rasa run` and the action server) on each store backend."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from sqlalchemy.engine import make_url

from kb.pipeline import BuildOutcome
from ops.rasa import BOT_DIR, RASA_BIN, rasa_environment
from ops.stack import RunningStack, dialogue_stack, free_port
from support.settings import Settings, get_settings
from support.storage import migrate
from tests.conftest import POSTGRES_URL, REDIS_URL, postgres_schema

RunRasa = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_rasa() -> RunRasa:
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RASA_BIN), *arguments],
            cwd=BOT_DIR,
            env=rasa_environment(get_settings()),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    return run


def psycopg_url(url: str) -> str:
    """A PostgreSQL URL with the driver this environment has (psycopg 3)."""
    if not url.startswith("postgresql"):
        return url
    return str(make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False))


BACKENDS = [
    # Tracker store and Kefu's database in SQLite, in-memory lock store.
    "sqlite",
    *(["postgresql+redis"] if POSTGRES_URL and REDIS_URL else []),
    # The fastest production setup: trackers and locks in Redis, Kefu's data in SQL.
    *(["sqlite+redis-tracker"] if REDIS_URL else []),
]


@pytest.fixture(scope="package", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest,
    trained_model: str,
    built: BuildOutcome,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningStack]:
    """One stack per backend for every module here (starting one takes about a minute);
    pytest groups the tests by backend, so one extra stack runs at a time, and the last
    one stops when tests/bot is done."""
    if request.param == "sqlite":
        # The browser tests' stack has exactly these stores (and a gateway besides).
        live: RunningStack = request.getfixturevalue("live_stack")
        yield live
        return
    data = tmp_path_factory.mktemp("dialogue")
    with ExitStack() as cleanup:
        redis_url: str | None
        if request.param == "sqlite+redis-tracker":
            assert REDIS_URL is not None
            database = f"sqlite:///{data / 'kefu.db'}"
            tracker = redis_url = REDIS_URL
        else:
            assert POSTGRES_URL is not None
            database = cleanup.enter_context(postgres_schema())
            tracker = POSTGRES_URL
            redis_url = REDIS_URL
        migrate(database)
        settings = Settings(
            data_dir=data,
            index_dir=built.directory.parent,
            database_url=database,
            rasa_tracker_url=tracker,
            redis_url=redis_url,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            action_server_port=free_port(),
            # Not the defaults: every flow proves Rasa sends the action server's, and
            # that Rasa answers only the gateway's.
            rasa_token=f"gateway-secret-{uuid.uuid4().hex}",
            action_server_token=f"action-secret-{uuid.uuid4().hex}",
        )
        yield cleanup.enter_context(dialogue_stack(settings, data / "logs"))
