"""A small KB of the shipped FAQ's first entries, built once, and a workspace per test.

Small so that a publish (build, classifier head, calibration, gate) takes seconds; the
rules under test do not depend on the KB's size (bench/kb_publish_bench.py covers that).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb.content import dump_faqs_yaml, load_faqs
from kb.encoders import Encoder
from kb.evaluation import MIN_CALIBRATION_OUT_OF_SCOPE
from kb.index import build_index, set_current
from kb.knowledge_base import KnowledgeBase
from support.knowledge.flows import KnowledgeWorkspace
from support.knowledge.service import KnowledgeService
from support.knowledge.store import KbStore
from support.settings import Settings
from support.storage import session_factory
from tests.conftest import DEV_SPLIT, FAQ_PATH

SMALL_KB_ENTRIES = 8
OUT_OF_SCOPE_QUERIES = MIN_CALIBRATION_OUT_OF_SCOPE  # just enough to calibrate


@dataclass(frozen=True)
class SmallKb:
    faq_path: Path
    eval_path: Path
    build: Path
    ids: list[str]


@pytest.fixture(scope="session")
def small_kb(tmp_path_factory: pytest.TempPathFactory, use_encoder: Encoder) -> SmallKb:
    root = tmp_path_factory.mktemp("small_kb")
    faqs = load_faqs(FAQ_PATH).faqs[:SMALL_KB_ENTRIES]
    faq_path = root / "faq.yml"
    faq_path.write_text(dump_faqs_yaml(faqs), "utf-8")
    ids = [faq.id for faq in faqs]
    lines = [json.loads(line) for line in DEV_SPLIT.read_text("utf-8").splitlines() if line]
    chosen = [r for r in lines if r["expected"] in ids]
    chosen += [r for r in lines if r["expected"] is None][:OUT_OF_SCOPE_QUERIES]
    eval_path = root / "eval" / "dev.jsonl"
    eval_path.parent.mkdir()
    eval_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen))
    build, _ = build_index(load_faqs(faq_path), use_encoder, "use", root / "index")
    return SmallKb(faq_path, eval_path, build, ids)


@dataclass
class Workbench:
    workspace: KnowledgeWorkspace
    knowledge: KnowledgeService
    store: KbStore
    settings: Settings


@pytest.fixture
def bench(
    small_kb: SmallKb, use_encoder: Encoder, database_url: str, tmp_path: Path
) -> Iterator[Workbench]:
    """A seeded workspace on its own index root (version 1 = the small KB's build)."""
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    build = Path(shutil.copytree(small_kb.build, index_dir / small_kb.build.name))
    set_current(index_dir, build)
    settings = Settings(
        data_dir=tmp_path,
        index_dir=index_dir,
        faq_path=small_kb.faq_path,
        calibration_path=small_kb.eval_path,
        database_url=database_url,
        encoder="use",  # the fixtures' encoder, fast and already loaded
    )
    knowledge = KnowledgeService(settings, kb=KnowledgeBase.load(build, encoder=use_encoder))
    store = KbStore(session_factory(database_url))
    workspace = KnowledgeWorkspace(store, knowledge, settings, encoder=use_encoder)
    assert workspace.ensure_seeded() == 1
    yield Workbench(workspace, knowledge, store, settings)
    knowledge.close()
