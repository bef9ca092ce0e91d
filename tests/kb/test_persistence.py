"""Build → disk → load round trip, build skipping, and reload while serving."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kb.classifier import ClassifierHead
from kb.content import load_faqs
from kb.dense import DenseIndex, choose_index_type
from kb.encoders import Encoder
from kb.evaluation import read_eval_file
from kb.index import (
    CURRENT_POINTER,
    Manifest,
    Thresholds,
    build_index,
    current_index_dir,
    head_path,
    read_manifest,
)
from kb.knowledge_base import KnowledgeBase
from kb.pipeline import BuildOutcome, build_knowledge_base, calibrate_and_store, needs_restart
from tests.conftest import DEV_SPLIT, FAQ_PATH


def test_manifest_records_the_build(built: BuildOutcome) -> None:
    manifest = read_manifest(built.directory)
    assert manifest.encoder == "use"
    assert manifest.dim == 512
    assert manifest.faqs >= 28
    assert manifest.rows > manifest.faqs * 8
    assert manifest.index_type == "flat"
    assert len(manifest.content_hash) == 64
    assert manifest.built_at
    assert 0 < manifest.thresholds.clarify <= manifest.thresholds.answer < 1
    assert manifest.calibration["source"] == str(DEV_SPLIT)
    assert current_index_dir(built.directory.parent) == built.directory
    # The dev questions taught the stored head, out-of-scope ones as its "none" class.
    dev = read_eval_file(DEV_SPLIT, {faq.id for faq in load_faqs(FAQ_PATH)})
    assert manifest.calibration["head_examples"] == len(dev)
    head = ClassifierHead.load(head_path(built.directory, manifest))
    assert head is not None and head.outside and head.entries == manifest.faqs
    assert head.wording is not None  # it reads the questions' wording too


def test_the_backing_probability_survives_the_manifest_and_older_ones_have_none(
    built: BuildOutcome,
) -> None:
    manifest = read_manifest(built.directory)
    backed = replace(manifest, thresholds=Thresholds(0.4, 0.05, 0.2, backed=0.75))
    assert Manifest.from_json(backed.to_json()).thresholds == backed.thresholds
    older = json.loads(manifest.to_json())
    older["thresholds"].pop("backed", None)  # written before Thresholds.backed existed
    assert Manifest.from_json(json.dumps(older)).thresholds.backed is None


def test_loaded_index_answers_like_the_built_one(
    built: BuildOutcome, knowledge_base: KnowledgeBase, use_encoder: Encoder
) -> None:
    reloaded = KnowledgeBase.load(built.directory.parent, encoder=use_encoder)  # via CURRENT
    for question in ("忘记登录密码", "怎么注销账号", "今天天气如何"):
        first, second = knowledge_base.query(question, top_k=5), reloaded.query(question, top_k=5)
        assert first.decision == second.decision
        assert [c.id for c in first.candidates] == [c.id for c in second.candidates]
        assert np.allclose(
            [c.score for c in first.candidates], [c.score for c in second.candidates]
        )


def test_unchanged_content_skips_the_build(built: BuildOutcome, use_encoder: Encoder) -> None:
    again = build_knowledge_base(
        FAQ_PATH,
        built.directory.parent,
        encoder_spec="use",
        calibration_file=DEV_SPLIT,
        encoder=use_encoder,
    )
    assert again.directory == built.directory
    assert not again.built
    assert not again.calibrated


def test_changed_content_builds_a_new_index(tmp_path: Path, use_encoder: Encoder) -> None:
    faq_copy = tmp_path / "faq.yml"
    text = FAQ_PATH.read_text("utf-8")
    faq_copy.write_text(text, "utf-8")
    root = tmp_path / "index"
    first, was_built = build_index(load_faqs(faq_copy), use_encoder, "use", root)
    assert was_built
    faq_copy.write_text(
        text.replace("忘记登录密码了怎么重置？", "登录密码忘了怎么办？", 1), "utf-8"
    )
    second, was_built = build_index(load_faqs(faq_copy), use_encoder, "use", root)
    assert was_built
    assert second != first
    assert read_manifest(second).content_hash != read_manifest(first).content_hash


class _Reexported:
    """The same encoder under a new revision of its weights (an upgrade re-exported them)."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.revision = f"{encoder.revision}-reexported"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder.encode(texts)


def test_new_weights_build_a_new_index_and_an_old_build_is_flagged(
    tmp_path: Path, use_encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "index"
    collection = load_faqs(FAQ_PATH)
    first, _ = build_index(collection, use_encoder, "use", root)
    assert read_manifest(first).encoder_revision == use_encoder.revision
    reexported = _Reexported(use_encoder)
    # Same FAQ, same encoder name: rows encoded by the old weights must not be reused.
    second, was_built = build_index(collection, reexported, "use", root)
    assert was_built and second != first
    assert read_manifest(second).encoder_revision == reexported.revision
    # `kefu kb build` tells the operator to restart: processes keep the weights they loaded.
    assert needs_restart(read_manifest(first), read_manifest(second))
    assert not needs_restart(read_manifest(second), read_manifest(second))
    assert not needs_restart(None, read_manifest(second))
    # A build still named CURRENT after the upgrade is served, with a warning to rebuild.
    with caplog.at_level("WARNING", logger="kb.knowledge_base"):
        KnowledgeBase.load(first, encoder=reexported)
    assert any("kefu kb build" in record.getMessage() for record in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING", logger="kb.knowledge_base"):
        KnowledgeBase.load(second, encoder=reexported)
    assert not caplog.records


def test_reload_swaps_atomically_while_queries_run(tmp_path: Path, use_encoder: Encoder) -> None:
    root = tmp_path / "index"
    faq_copy = tmp_path / "faq.yml"
    text = FAQ_PATH.read_text("utf-8")
    faq_copy.write_text(text, "utf-8")
    old = build_knowledge_base(
        faq_copy, root, encoder_spec="use", calibration_file=None, encoder=use_encoder
    )
    kb = KnowledgeBase.load(root, encoder=use_encoder)
    # The new content renames one canonical question, so we can tell the indexes apart
    # (read from the file: the content keeps being edited).
    original = next(faq.question for faq in load_faqs(faq_copy) if faq.id == "withdraw_how")
    renamed = "如何提现到银行卡？"
    faq_copy.write_text(text.replace(f"question: {original}", f"question: {renamed}", 1), "utf-8")
    new = build_knowledge_base(
        faq_copy, root, encoder_spec="use", calibration_file=None, encoder=use_encoder
    )
    assert new.directory != old.directory

    failures: list[BaseException] = []
    questions_seen: list[str] = []
    stop = threading.Event()

    def keep_querying() -> None:
        while not stop.is_set():
            try:
                result = kb.query("怎么提现")
                assert result.top is not None and result.top.id == "withdraw_how"
                questions_seen.append(result.top.faq.question)
            except BaseException as exc:
                failures.append(exc)

    def served_after(count: int) -> None:
        """Wait until the workers have answered a few queries on the index now in use."""
        deadline = time.monotonic() + 10
        while len(questions_seen) < count + 10 and time.monotonic() < deadline:
            time.sleep(0.005)

    workers = [threading.Thread(target=keep_querying) for _ in range(3)]
    for worker in workers:
        worker.start()
    for _ in range(3):
        assert kb.reload(old.directory).build_id == old.manifest.build_id
        served_after(len(questions_seen))
        assert kb.reload().build_id == new.manifest.build_id  # CURRENT points at the new one
        served_after(len(questions_seen))
    stop.set()
    for worker in workers:
        worker.join()
    assert not failures, failures[0]
    assert set(questions_seen) == {original, renamed}
    assert kb.query("怎么提现").top.faq.question == renamed  # type: ignore[union-attr]


def test_current_pointer_is_a_plain_name(built: BuildOutcome) -> None:
    pointer = (built.directory.parent / CURRENT_POINTER).read_text("utf-8")
    assert pointer == built.directory.name
    stored = json.loads((built.directory / "manifest.json").read_text("utf-8"))
    assert stored["build_id"] == built.directory.name


def test_index_type_switches_to_hnsw_for_large_kbs() -> None:
    assert choose_index_type(500) == "flat"
    assert choose_index_type(200_000) == "hnsw"
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    flat, hnsw = DenseIndex.build(vectors, "flat"), DenseIndex.build(vectors, "hnsw")
    hits = 0
    for row in range(0, 2000, 40):
        expected, _ = flat.search(vectors[row], 5)
        got, _ = hnsw.search(vectors[row], 5)
        hits += len(set(expected) & set(got))
    assert hits / (50 * 5) > 0.95  # HNSW finds (nearly) the same neighbours


def test_auto_resolves_before_the_build(
    built: BuildOutcome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KEFU_ENCODER=auto over the size line builds (here: finds) the USE index, and the
    encoder of the KB in use is reused rather than loaded again."""
    monkeypatch.setattr("kb.encoders.AUTO_LARGE_KB_ROWS", 10)
    monkeypatch.setattr("kb.encoders.AUTO_KEEP_WITHIN_ROWS", 0)  # the size rule alone
    in_use = KnowledgeBase.load(built.directory)

    def no_second_copy(spec: str, **_: object) -> None:
        raise AssertionError(f"loaded {spec} again instead of reusing the KB's encoder")

    monkeypatch.setattr("kb.pipeline.load_encoder", no_second_copy)
    again = build_knowledge_base(
        FAQ_PATH,
        built.directory.parent,
        encoder_spec="auto",
        calibration_file=DEV_SPLIT,
        in_use=in_use,
    )
    assert again.directory == built.directory
    assert again.manifest.encoder == "use"
    assert not again.built


def test_a_build_whose_taught_head_is_missing_is_not_served(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    """Thresholds calibrated with a taught head must not be served without it: the load
    fails (a reloading process keeps its previous build) and says what to do."""
    build = Path(shutil.copytree(built.directory, tmp_path / built.directory.name))
    head = head_path(build, read_manifest(build))
    assert head.name.startswith("classifier-")
    head.unlink()
    with pytest.raises(FileNotFoundError, match="kefu kb build"):
        KnowledgeBase.load(build, encoder=use_encoder)


def test_recalibrating_keeps_only_the_newest_two_heads(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    """Each calibration stores its own head; older ones are removed, but the previous one
    stays for a process that read the previous manifest a moment ago, and a fresh one for
    a calibration of the same build that may still be running."""
    build = Path(shutil.copytree(built.directory, tmp_path / built.directory.name))
    kb = KnowledgeBase.load(build, encoder=use_encoder)
    lines = DEV_SPLIT.read_text("utf-8").splitlines()
    names = []
    for skip in (3, 4, 5):  # three dev files, so three different heads
        dev = tmp_path / f"dev-{skip}.jsonl"
        dev.write_text("\n".join(line for n, line in enumerate(lines) if n % skip), "utf-8")
        names.append(str(calibrate_and_store(kb, build, dev).calibration["head_file"]))
        for head in build.glob("classifier-*.npz"):
            os.utime(head, (0, 0))  # an hour later: no calibration of them is still running
    assert len(set(names)) == 3
    assert sorted(path.name for path in build.glob("classifier-*.npz")) == sorted(names[1:])
    # The newest calibration still loads with its head (a missing one would refuse to load).
    reloaded = KnowledgeBase.load(build, encoder=use_encoder)
    assert reloaded.manifest.calibration["head_file"] == names[-1]


def test_a_head_another_calibration_just_wrote_is_not_removed(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    """Two processes calibrating one build at once: the one that finishes first must not
    remove the head the other is about to name in the manifest."""
    build = Path(shutil.copytree(built.directory, tmp_path / built.directory.name))
    for head in build.glob("classifier-*.npz"):
        os.utime(head, (0, 0))
    other = build / "classifier-0123456789abcdef.npz"
    shutil.copy(head_path(build, read_manifest(build)), other)  # just written
    kb = KnowledgeBase.load(build, encoder=use_encoder)
    calibrate_and_store(kb, build, DEV_SPLIT)
    assert other.exists()
