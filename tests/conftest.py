"""Shared fixtures. Nothing here downloads anything: every model ships with the install."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pathlib import Path

import pytest

from kb.content import FAQCollection, load_faqs
from kb.encoders import Encoder
from kb.encoders.use import USEEncoder
from kb.knowledge_base import KnowledgeBase
from kb.pipeline import BuildOutcome, build_knowledge_base

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FAQ_PATH = PROJECT_ROOT / "data" / "faq_zh.yml"
DEV_SPLIT = PROJECT_ROOT / "data" / "eval" / "dev.jsonl"
TEST_SPLIT = PROJECT_ROOT / "data" / "eval" / "test.jsonl"


@pytest.fixture(scope="session")
def use_encoder() -> Encoder:
    return USEEncoder()


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
def knowledge_base(built: BuildOutcome, use_encoder: Encoder) -> KnowledgeBase:
    return KnowledgeBase.load(built.directory, encoder=use_encoder)
