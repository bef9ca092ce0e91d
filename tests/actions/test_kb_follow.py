"""The action server follows CURRENT: a new build is swapped in without failing any query."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.faq import ActionAnswerFAQ
from kb.content import load_faqs
from kb.encoders import Encoder
from kb.follow import IndexFollower, IndexNotLoadedError
from kb.index import build_index, read_manifest, set_current, write_manifest
from kb.knowledge_base import KnowledgeBase
from kb.pipeline import BuildOutcome
from tests.actions.conftest import MakeTracker
from tests.faq_changes import NEW_FAQ, NEW_FAQ_ID, NEW_FAQ_QUESTION, append, copy_faq


def two_builds(tmp_path: Path, built: BuildOutcome, encoder: Encoder) -> tuple[Path, Path, Path]:
    """An index root holding the shipped FAQ's build (CURRENT) and one with a new FAQ."""
    root = tmp_path / "index"
    root.mkdir()
    old = Path(shutil.copytree(built.directory, root / built.directory.name))
    set_current(root, old)
    faq = copy_faq(tmp_path / "data")
    append(faq, NEW_FAQ)
    new, _ = build_index(load_faqs(faq), encoder, "use", root)
    return root, old, new


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_queries_keep_succeeding_while_current_moves(
    tmp_path: Path,
    built: BuildOutcome,
    use_encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, old, new = two_builds(tmp_path, built, use_encoder)
    follower = IndexFollower(root, kb=KnowledgeBase.load(root, encoder=use_encoder), interval=0.05)
    monkeypatch.setattr(runtime, "knowledge_follower", lambda: follower)
    assert runtime.knowledge_base().directory == old

    done = threading.Event()
    answers: list[list[str]] = [[] for _ in range(3)]
    failures: list[BaseException] = []

    def ask(seen: list[str]) -> None:
        while not done.is_set():
            try:
                seen.append(runtime.knowledge_base().query(NEW_FAQ_QUESTION).candidates[0].id)
            except BaseException as exc:
                failures.append(exc)
                raise

    threads = [threading.Thread(target=ask, args=(seen,)) for seen in answers]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(answers))
        set_current(root, new)  # what the gateway's rebuild does
        wait_for(lambda: runtime.knowledge_base().directory == new)
        # Every thread asks again after the swap.
        counts = [len(seen) for seen in answers]
        wait_for(lambda: all(len(seen) > n for seen, n in zip(answers, counts, strict=True)))
    finally:
        done.set()
        for thread in threads:
            thread.join()

    assert failures == []
    for seen in answers:
        flags = [answer == NEW_FAQ_ID for answer in seen]
        assert not flags[0]
        assert flags[-1]
        assert flags == sorted(flags)  # never back to the old build
    assert runtime.knowledge_base().manifest.build_id == new.name


async def test_the_faq_action_answers_from_the_new_build(
    tmp_path: Path,
    built: BuildOutcome,
    use_encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
    make_tracker: MakeTracker,
) -> None:
    root, _, new = two_builds(tmp_path, built, use_encoder)
    follower = IndexFollower(root, kb=KnowledgeBase.load(root, encoder=use_encoder), interval=0)
    monkeypatch.setattr(runtime, "knowledge_follower", lambda: follower)

    async def answer() -> str:
        dispatcher = CollectingDispatcher()
        await ActionAnswerFAQ().run(dispatcher, make_tracker(NEW_FAQ_QUESTION), {})
        return str(dispatcher.messages[0].get("text"))

    assert "数字人民币" not in await answer()
    set_current(root, new)
    runtime.knowledge_base()  # notices the change, loads in the background
    follower.wait(30)
    assert "暂不支持绑定数字人民币钱包" in await answer()


def test_a_broken_build_is_skipped_and_the_old_one_keeps_serving(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    root, old, new = two_builds(tmp_path, built, use_encoder)
    follower = IndexFollower(root, kb=KnowledgeBase.load(root, encoder=use_encoder), interval=0)
    (new / "faqs.json").write_text("not json", "utf-8")
    set_current(root, new)
    follower.poll()
    follower.wait(30)
    assert follower.knowledge_base.directory == old
    assert follower.knowledge_base.query("充值一直没到账").candidates[0].id == "topup_delay"
    follower.poll()  # not tried again until CURRENT names another build
    assert follower.knowledge_base.directory == old


def test_load_current_swaps_on_the_calling_thread(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    root, _, new = two_builds(tmp_path, built, use_encoder)
    follower = IndexFollower(root, kb=KnowledgeBase.load(root, encoder=use_encoder), interval=3600)
    set_current(root, new)
    assert follower.load_current().build_id == new.name
    assert follower.knowledge_base.directory == new


def test_a_follower_with_nothing_built_loads_the_first_build(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    root = tmp_path / "index"
    root.mkdir()
    follower = IndexFollower(root, interval=0)
    with pytest.raises(FileNotFoundError, match="kefu kb build"):
        follower.load_current()
    with pytest.raises(IndexNotLoadedError, match="kefu kb build"):
        follower.knowledge_base  # noqa: B018 - the property raises
    follower.poll()  # no CURRENT yet: nothing to do
    assert follower.loaded is None

    first = Path(shutil.copytree(built.directory, root / built.directory.name))
    set_current(root, first)
    follower.poll()
    follower.wait(60)
    assert follower.knowledge_base.directory == first
    assert follower.error is None


def test_the_background_thread_follows_with_no_one_asking(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    root, old, new = two_builds(tmp_path, built, use_encoder)
    follower = IndexFollower(root, kb=KnowledgeBase.load(root, encoder=use_encoder), interval=0.05)
    follower.start()
    try:
        set_current(root, new)
        # `loaded` only reads: the swap is the poller's doing.
        wait_for(lambda: follower.loaded is not None and follower.loaded.directory == new)
    finally:
        follower.stop()
    follower.start()  # a stopped follower may start again (a gateway's second lifespan)
    try:
        set_current(root, old)
        wait_for(lambda: follower.loaded is not None and follower.loaded.directory == old)
    finally:
        follower.stop()


def test_a_build_recalibrated_in_place_is_reloaded(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    """Recalibration rewrites the manifest of the build CURRENT already names (an upgrade
    with new budgets, a new dev file); every process must pick up the new thresholds."""
    root = tmp_path / "index"
    root.mkdir()
    build = Path(shutil.copytree(built.directory, root / built.directory.name))
    set_current(root, build)
    follower = IndexFollower(root, kb=KnowledgeBase.load(root, encoder=use_encoder))
    before = follower.knowledge_base.manifest.thresholds
    stricter = replace(before, answer=min(before.answer + 0.2, 0.99))
    write_manifest(build, replace(read_manifest(build), thresholds=stricter))
    follower.load_current()
    assert follower.knowledge_base.manifest.thresholds == stricter


def test_a_build_that_failed_is_tried_again_once_its_manifest_is_rewritten(
    tmp_path: Path, built: BuildOutcome, use_encoder: Encoder
) -> None:
    """A load that misses the head its manifest names (a later calibration removed it)
    must not leave the process on its old build for good: the next calibration rewrites
    the manifest, and that build is tried again."""
    root, old, new = two_builds(tmp_path, built, use_encoder)
    follower = IndexFollower(root, kb=KnowledgeBase.load(root, encoder=use_encoder), interval=0)
    manifest = read_manifest(new)
    calibration = {**manifest.calibration, "head_file": "classifier-0000000000000000.npz"}
    write_manifest(new, replace(manifest, calibration=calibration))
    set_current(root, new)
    follower.poll()
    follower.wait(30)
    assert follower.knowledge_base.directory == old
    assert follower.error is not None and "classifier-0000000000000000.npz" in follower.error

    write_manifest(new, manifest)  # a newer calibration, naming a head that exists
    follower.poll()
    follower.wait(30)
    assert follower.knowledge_base.directory == new
    assert follower.error is None
