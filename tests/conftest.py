"""Shared fixtures. Nothing here downloads anything: every model ships with the install."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kb.content import FAQCollection, load_faqs
from kb.encoders import Encoder
from kb.encoders.use import USEEncoder
from kb.knowledge_base import KnowledgeBase
from kb.pipeline import BuildOutcome, build_knowledge_base

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from ops.stack import RunningStack

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FAQ_PATH = PROJECT_ROOT / "data" / "faq_zh.yml"
DEV_SPLIT = PROJECT_ROOT / "data" / "eval" / "dev.jsonl"
TEST_SPLIT = PROJECT_ROOT / "data" / "eval" / "test.jsonl"
# Same-domain questions the FAQ does not cover, held out like the test split.
UNCOVERED_SPLIT = PROJECT_ROOT / "data" / "eval" / "test_uncovered.jsonl"


@pytest.fixture(scope="session")
def use_encoder() -> Encoder:
    return USEEncoder()


@pytest.fixture(scope="session")
def default_encoder_spec() -> str:
    """The encoder Kefu ships with for a KB of our FAQ's size (KEFU_ENCODER's default)."""
    from kb.content import load_faqs
    from kb.pipeline import encoder_spec_for
    from support.settings import Settings

    collection = load_faqs(Settings.model_fields["faq_path"].default)
    return encoder_spec_for(collection, str(Settings.model_fields["encoder"].default))


@pytest.fixture(scope="session")
def default_encoder(default_encoder_spec: str) -> Encoder:
    from kb.encoders import load_encoder

    return load_encoder(default_encoder_spec)


@pytest.fixture(scope="session")
def faqs() -> FAQCollection:
    return load_faqs(FAQ_PATH)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, use_encoder: Encoder) -> BuildOutcome:
    """The real FAQ, built and calibrated on the dev split exactly as `kefu kb build` does."""
    return build_knowledge_base(
        FAQ_PATH,
        tmp_path_factory.mktemp("index"),
        encoder_spec="use",
        calibration_file=DEV_SPLIT,
        encoder=use_encoder,
    )


@pytest.fixture(scope="session")
def default_build(
    tmp_path_factory: pytest.TempPathFactory, default_encoder: Encoder, default_encoder_spec: str
) -> BuildOutcome:
    """The real FAQ with the encoder Kefu ships, calibrated on the dev split: what
    `kefu kb build` and `make demo` build (the same build id, so they reuse a copy)."""
    return build_knowledge_base(
        FAQ_PATH,
        tmp_path_factory.mktemp("default-index"),
        encoder_spec=default_encoder_spec,
        calibration_file=DEV_SPLIT,
        encoder=default_encoder,
    )


@pytest.fixture(scope="session")
def trained_model() -> str:
    """bot/models/kefu.tar.gz, trained now if the training data or config changed."""
    from ops.rasa import MODEL_PATH, train
    from support.settings import get_settings

    train(get_settings())
    return str(MODEL_PATH)


@pytest.fixture(scope="session")
def knowledge_base(built: BuildOutcome, use_encoder: Encoder) -> KnowledgeBase:
    return KnowledgeBase.load(built.directory, encoder=use_encoder)


# Storage: every storage test runs on SQLite, and on PostgreSQL when
# KEFU_TEST_DATABASE_URL names one (.ci/run always does).

POSTGRES_URL = os.environ.get("KEFU_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL")
DATABASES = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


def _postgres_schema_url(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A migrated, throwaway schema in the test PostgreSQL; yields its URL."""
    from sqlalchemy import create_engine, text

    from support.storage import engine_for, migrate

    assert POSTGRES_URL is not None
    schema = f"kefu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_postgres_schema_url(POSTGRES_URL, "public"))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _postgres_schema_url(POSTGRES_URL, schema)
    try:
        migrate(url)
        yield url
    finally:
        engine_for(url).dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a throwaway PostgreSQL schema."""
    from support.storage import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kefu.db'}"
        migrate(url)
        yield url
        return
    with postgres_schema() as url:
        yield url


# Real browsers on the real stack: Debian's chromium (installed by scripts/setup.sh)
# driven by Playwright, against the action server, Rasa and the gateway as processes.

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_stack(
    trained_model: str, built: BuildOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """One whole stack (SQLite stores) for the browser tests, the conversation scenarios
    and tests/bot's SQLite backend: starting one takes about a minute."""
    from ops.stack import dialogue_stack, free_port
    from support.settings import Settings

    data = tmp_path_factory.mktemp("browser")
    settings = Settings(
        data_dir=data,
        index_dir=built.directory.parent,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_port=free_port(),
        api_port=free_port(),
        # Pinned: tests/bot reads this stack as its SQLite backend, whatever KEFU_* says.
        database_url=f"sqlite:///{data / 'kefu.db'}",
        rasa_tracker_url=f"sqlite:///{data / 'rasa_tracker.db'}",
        redis_url=None,
        # Not the defaults: the flows prove that each process sends the other's secret.
        rasa_token=f"gateway-secret-{uuid.uuid4().hex}",
        action_server_token=f"action-secret-{uuid.uuid4().hex}",
    )
    with dialogue_stack(settings, data / "logs", gateway=True) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API keeps an event loop running in the main thread
    while it is open, which later asyncio tests could not start their own loops under."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "scripts/setup.sh installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()
