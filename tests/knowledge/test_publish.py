"""命中测试 on the published version and the draft, publish (with the eval gate) that every
process follows through CURRENT, rollback, and publishes that re-encode only new texts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

import kb.index
from kb.encoders import Encoder
from kb.evaluation import calibration_budgets, read_eval_file
from kb.index import Fusion, current_index_dir, default_settings, read_manifest, write_manifest
from kb.text import SYNONYMS_FILE
from support.knowledge.errors import GateFailedError, NothingToPublishError
from support.knowledge.flows import KnowledgeWorkspace
from support.knowledge.schemas import EntryIn, EntryStatus, EntryUpdateIn
from tests.knowledge.conftest import SMALL_KB_ENTRIES, SmallKb, Workbench

NEW_ENTRY = EntryIn(
    id="digital_rmb",
    category="其他",
    question="可以绑定数字人民币钱包吗？",
    paraphrases=[
        "数字人民币能绑定吗",
        "怎么关联数字人民币钱包",
        "e-CNY 可以用吗",
        "能綁定數字人民幣錢包嗎",
    ],
    answer="目前暂不支持绑定数字人民币钱包，上线后会在 App 公告中通知。",
)
NEW_QUESTION = "支持绑定数字人民币钱包吗"


def top_live(bench: Workbench, question: str = NEW_QUESTION) -> str | None:
    result = bench.knowledge.query(question)
    return result.top.id if result.top else None


def test_hit_test_publish_and_rollback(bench: Workbench) -> None:
    workspace = bench.workspace
    workspace.create_entry(NEW_ENTRY, "editor")

    side_by_side = workspace.hit_test(NEW_QUESTION, top_k=3)
    published, draft = side_by_side.published, side_by_side.draft
    assert published.available and draft.available and not side_by_side.same
    assert published.version == 1 and draft.version is None
    assert NEW_ENTRY.id not in [c.id for c in published.candidates]
    assert draft.candidates[0].id == NEW_ENTRY.id
    assert draft.decision in ("answer", "clarify")
    best = draft.candidates[0]
    assert 0 < best.dense <= 1 and 0 <= best.lexical <= 1 and best.fused > 0
    assert draft.thresholds is not None and draft.thresholds == published.thresholds
    assert len(draft.candidates) == 3

    result = workspace.publish("editor", "新增数字人民币")
    assert (result.version.number, result.version.added, result.version.author) == (2, 1, "editor")
    assert result.gate is not None and result.gate.passed
    current = current_index_dir(bench.settings.index_dir)
    assert current is not None and current.name == result.build_id  # every process follows
    assert top_live(bench) == NEW_ENTRY.id
    assert workspace.entry(NEW_ENTRY.id).status == EntryStatus.PUBLISHED
    assert not workspace.entry(NEW_ENTRY.id).changed
    assert workspace.hit_test(NEW_QUESTION).same
    with pytest.raises(NothingToPublishError):
        workspace.publish("editor")
    detail = workspace.version(2)
    assert [(d.id, d.kind) for d in detail.diff] == [(NEW_ENTRY.id, "added")]

    undone = workspace.rollback("admin")
    assert (undone.version.number, undone.version.rollback_of) == (3, 1)
    assert top_live(bench) != NEW_ENTRY.id
    # The draft follows, so the next publish does not bring the entry back by accident.
    assert workspace.entry(NEW_ENTRY.id).status == EntryStatus.ARCHIVED
    assert workspace.draft().changes == []
    versions = workspace.versions()
    assert [v.number for v in versions] == [3, 2, 1] and versions[0].current
    actions = [item.action for item in workspace.audit().items]
    assert actions[:3] == ["rollback", "publish", "entry.create"]


def test_a_publish_encodes_only_the_changed_text(bench: Workbench, small_kb: SmallKb) -> None:
    workspace = bench.workspace
    entry = workspace.entry(small_kb.ids[0])
    added = "这是一条全新的问法，以前没有出现过"
    workspace.update_entry(
        entry.id,
        EntryUpdateIn(revision=entry.revision, paraphrases=[*entry.paraphrases, added]),
        "editor",
    )
    result = workspace.publish("editor", "加一条释义")
    assert result.encoded_rows == 1  # the new paraphrase; every other row came from the cache
    assert top_live(bench, added) == entry.id


def test_the_gate_stops_a_regression_unless_an_admin_overrides(
    bench: Workbench, small_kb: SmallKb
) -> None:
    workspace = bench.workspace
    expected = Counter(
        json.loads(line)["expected"] for line in small_kb.eval_path.read_text("utf-8").splitlines()
    )
    victim, _ = max(((i, expected[i]) for i in small_kb.ids), key=lambda pair: pair[1])
    entry = workspace.entry(victim)
    workspace.set_archived(victim, True, entry.revision, "editor")

    with pytest.raises(GateFailedError) as caught:
        workspace.publish("editor", "删掉一个常用条目")
    report = caught.value.report
    assert not report.passed
    (split,) = report.splits
    assert split.top1_published - split.top1_draft > 2
    assert report.changed and all(
        q.published.endswith(f":{victim}") or q.expected == victim for q in report.changed[:3]
    )
    assert workspace.versions()[0].number == 1  # nothing was published
    assert top_live(bench, entry.question) == victim

    forced = workspace.publish("admin", "确认删除", override_gate=True)
    assert forced.version.gate_overridden and forced.version.removed == 1
    assert top_live(bench, entry.question) != victim
    actions = [item.action for item in workspace.audit().items]
    assert actions[:2] == ["gate.override", "publish"]
    assert "publish.refused" in actions


@pytest.mark.parametrize(("large_kb_rows", "expected"), [(5, "use"), (10**9, "e5-small-int8")])
def test_auto_encoder_follows_the_size_of_the_kb(
    bench: Workbench, monkeypatch: pytest.MonkeyPatch, large_kb_rows: int, expected: str
) -> None:
    """KEFU_ENCODER=auto: past the size line a publish builds with USE, below it with e5;
    a version built with the other encoder (version 1 here is a USE build) is rebuilt on
    rollback rather than served as it is."""
    monkeypatch.setattr("kb.encoders.AUTO_LARGE_KB_ROWS", large_kb_rows)
    monkeypatch.setattr("kb.encoders.AUTO_KEEP_WITHIN_ROWS", 0)
    settings = bench.settings.model_copy(update={"encoder": "auto"})
    workspace = KnowledgeWorkspace(bench.store, bench.knowledge, settings)
    workspace.create_entry(NEW_ENTRY, "editor")
    workspace.publish("editor", "自动选择编码器", override_gate=True)
    live = bench.knowledge.manifest()
    assert live.encoder == expected
    assert top_live(bench) == NEW_ENTRY.id

    rolled_back = workspace.rollback("editor", to_version=1)
    assert bench.knowledge.manifest().encoder == expected
    assert top_live(bench) != NEW_ENTRY.id
    # Same encoder: a repoint to version 1's own build; the other one: a new build.
    first_build = bench.store.version(1).build_id
    assert (rolled_back.build_id == first_build) == (expected == "use")


def test_auto_encoder_keeps_its_choice_near_the_line(
    bench: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KB near the line keeps the encoder of its build in use (no flip per entry)."""
    rows = bench.knowledge.manifest().rows  # version 1, built with USE
    monkeypatch.setattr("kb.encoders.AUTO_LARGE_KB_ROWS", rows + 7)
    monkeypatch.setattr("kb.encoders.AUTO_KEEP_WITHIN_ROWS", 10)
    settings = bench.settings.model_copy(update={"encoder": "auto"})
    workspace = KnowledgeWorkspace(bench.store, bench.knowledge, settings)
    # 5 rows more: 2 under the line, where a new KB would get e5; this one stays on USE.
    workspace.create_entry(NEW_ENTRY, "editor")
    result = workspace.publish("editor", "加一条", override_gate=True)
    assert bench.knowledge.manifest().encoder == "use"
    assert result.encoded_rows == len(NEW_ENTRY.paraphrases) + 1


def test_an_injected_encoder_needs_a_concrete_setting(bench: Workbench) -> None:
    settings = bench.settings.model_copy(update={"encoder": "auto"})
    with pytest.raises(ValueError, match="concrete"):
        KnowledgeWorkspace(bench.store, bench.knowledge, settings, encoder=object())  # type: ignore[arg-type]


def test_a_reused_build_is_recalibrated_under_new_budgets(bench: Workbench) -> None:
    """After an upgrade that changes the budgets, `kefu kb build` (rebuild_published)
    recalibrates the published build in place, and the serving KB takes the result."""
    directory = current_index_dir(bench.settings.index_dir)
    assert directory is not None
    bench.workspace.rebuild_published()  # calibrated under today's budgets
    manifest = read_manifest(directory)
    assert manifest.calibration["budgets"] == calibration_budgets()
    old_budgets = {**calibration_budgets(), "confidence_z": 0.5}
    loose = replace(manifest.thresholds, answer=0.01, margin=0.0)
    write_manifest(
        directory,
        replace(
            manifest, thresholds=loose, calibration={**manifest.calibration, "budgets": old_budgets}
        ),
    )
    result = bench.workspace.rebuild_published()
    assert result.manifest.build_id == manifest.build_id  # reused, not rebuilt
    assert read_manifest(directory).calibration["budgets"] == calibration_budgets()
    assert bench.knowledge.manifest().thresholds == manifest.thresholds != loose


def test_new_synonyms_rebuild_the_published_version(
    bench: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade may change how text is read (synonyms, the jieba dictionary) without
    touching the FAQ: the published version's old build would hold rows read the old way
    while queries are read the new way, so `kefu kb build` builds it again."""
    before = bench.workspace.rebuild_published().manifest.build_id
    assert bench.workspace.rebuild_published().manifest.build_id == before  # nothing changed
    synonyms = tmp_path / "synonyms.yml"
    synonyms.write_text(SYNONYMS_FILE.read_text("utf-8") + "余额: [balance]\n", "utf-8")
    monkeypatch.setattr(kb.index, "SYNONYMS_FILE", synonyms)
    result = bench.workspace.rebuild_published()
    assert result.built and result.manifest.build_id != before
    current = current_index_dir(bench.settings.index_dir)
    assert current is not None and current.name == result.manifest.build_id


@pytest.mark.parametrize("head_weight", [0.0, 0.5])
def test_the_draft_is_previewed_with_the_head_publishing_would_teach(
    bench: Workbench, head_weight: float
) -> None:
    """The draft borrows the live thresholds; when they were set with a head taught by
    the dev questions, the draft's head is taught them too (its out-of-scope class keeps
    probability away from every entry and holds back direct answers, whatever the head's
    weight in the fusion), or the preview would answer what live rejects."""
    bench.workspace.rebuild_published()  # the serving KB takes the calibrated build
    live = bench.knowledge.knowledge_base()
    assert live.manifest.calibration["head_examples"] == len(
        read_eval_file(bench.settings.calibration_path)
    )
    live.with_settings(Fusion(0.5, head_weight), live.manifest.thresholds)
    bench.workspace.create_entry(NEW_ENTRY, "editor")
    draft = bench.workspace._draft_kb()
    assert draft.manifest.fusion == Fusion(0.5, head_weight)
    probabilities = draft.component_scores("明天北京会下雨吗").classifier
    assert probabilities is not None and len(probabilities) == SMALL_KB_ENTRIES + 1
    assert probabilities.sum() < 0.9  # the rest is "none of these"


def test_a_build_calibrated_before_the_head_learned_the_dev_questions_is_taught(
    bench: Workbench,
) -> None:
    """Builds calibrated by an older Kefu keep a head of paraphrases only; the next
    `kefu kb build` recalibrates them once, and the taught head is stored by its name."""
    directory = current_index_dir(bench.settings.index_dir)
    assert directory is not None
    bench.workspace.rebuild_published()
    manifest = read_manifest(directory)
    taught = manifest.calibration["head_examples"]
    assert isinstance(taught, int) and taught > 0
    assert (directory / str(manifest.calibration["head_file"])).exists()
    older = {
        key: value
        for key, value in manifest.calibration.items()
        if key not in ("head_examples", "head_file")
    }
    write_manifest(directory, replace(manifest, calibration=older))
    result = bench.workspace.rebuild_published()
    assert result.manifest.build_id == manifest.build_id  # reused, not rebuilt
    again = read_manifest(directory).calibration
    assert again["head_examples"] == taught
    assert again["head_file"] == manifest.calibration["head_file"]  # same questions, same head


def test_a_dev_file_of_another_faq_leaves_the_build_on_its_defaults(
    bench: Workbench, use_encoder: Encoder, tmp_path: Path
) -> None:
    """A dev file with no question of this KB's entries cannot calibrate it: the build
    goes back to the encoder's defaults, with the paraphrase head, and says why."""
    directory = current_index_dir(bench.settings.index_dir)
    assert directory is not None
    bench.workspace.rebuild_published()
    assert read_manifest(directory).calibration["head_examples"]  # taught by its own file
    other = tmp_path / "other_dev.jsonl"
    other.write_text(
        '{"query": "信用卡年费怎么免", "expected": "annual_fee"}\n'
        '{"query": "明天下雨吗", "expected": null}\n',
        "utf-8",
    )
    workspace = KnowledgeWorkspace(
        bench.store, bench.knowledge, bench.settings, calibration_file=other, encoder=use_encoder
    )
    workspace.rebuild_published()
    manifest = read_manifest(directory)
    assert (manifest.fusion, manifest.thresholds) == default_settings("use")
    assert manifest.calibration["mode"] == "defaults"
    assert manifest.calibration["head_examples"] == 0
    assert "head_file" not in manifest.calibration
    assert "无法校准" in str(manifest.calibration["reason"])
    assert bench.knowledge.manifest().thresholds == manifest.thresholds
