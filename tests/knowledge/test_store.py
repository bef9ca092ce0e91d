"""The versioned store: seed and exact round trip, validation by entry and field, 409 on a
stale save, CSV/Excel import with errors by row, configurable categories, roles, audit."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from kb.content import load_faqs, parse_faqs
from support.accounts.service import AccountService, role_of
from support.knowledge.errors import (
    CategoryInUseError,
    EntryValidationError,
    StaleRevisionError,
)
from support.knowledge.flows import KnowledgeWorkspace
from support.knowledge.schemas import EntryIn, EntryStatus, EntryUpdateIn
from support.knowledge.service import KnowledgeService
from support.knowledge.store import KbStore
from support.settings import Settings
from support.storage import session_factory
from tests.conftest import FAQ_PATH
from tests.knowledge.conftest import Workbench

SECRET_ANSWER = "请提供您收到的短信验证码，我们帮您查询。"


def unloaded_workspace(database_url: str, tmp_path: Path) -> KnowledgeWorkspace:
    """A workspace with no index loaded: storage only, nothing is built."""
    settings = Settings(data_dir=tmp_path, index_dir=tmp_path / "index", database_url=database_url)
    store = KbStore(session_factory(database_url))
    return KnowledgeWorkspace(store, KnowledgeService(settings), settings)


def test_the_seed_round_trips_exactly(database_url: str, tmp_path: Path) -> None:
    workspace = unloaded_workspace(database_url, tmp_path)
    assert workspace.ensure_seeded(build=False) == 1
    assert workspace.ensure_seeded(build=False) is None  # only an empty store is seeded
    seed = load_faqs(FAQ_PATH).faqs
    exported, media_type, _ = workspace.export("yaml")
    assert media_type.startswith("application/x-yaml")
    assert parse_faqs(exported, Path("export.yml")).faqs == seed  # every field of every entry
    # Importing the export changes nothing, and exporting again gives the same bytes.
    report = workspace.import_file(exported, "yaml", "editor")
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(seed))
    assert workspace.export("yaml")[0] == exported
    assert workspace.draft().changes == []


def test_maintainer_fields_survive_the_round_trip(database_url: str, tmp_path: Path) -> None:
    workspace = unloaded_workspace(database_url, tmp_path)
    workspace.ensure_seeded(build=False)
    entry = EntryIn(
        id="wechat_short",
        category="其他",
        question="可以在微信里查余额吗？",
        paraphrases=["微信能查余额吗"],
        answer="可以在 App 首页查看余额，具体以 App 内显示为准。",
        tags=["余额", "微信"],
        related=["about_wallet"],
        owner="lihua",
        last_reviewed="2026-11-01",  # type: ignore[arg-type]
        wechat_answer="请在 App 首页查看余额。",
    )
    workspace.create_entry(entry, "editor")
    draft_yaml = workspace.export("yaml", "draft")[0]
    (faq,) = [f for f in parse_faqs(draft_yaml, Path("d.yml")).faqs if f.id == "wechat_short"]
    assert faq.tags == ("余额", "微信") and faq.owner == "lihua"
    assert str(faq.last_reviewed) == "2026-11-01" and faq.status == "draft"
    assert faq.wechat_answer == "请在 App 首页查看余额。"


def test_validation_is_strict_where_it_protects_users(database_url: str, tmp_path: Path) -> None:
    workspace = unloaded_workspace(database_url, tmp_path)
    workspace.ensure_seeded(build=False)
    seed = load_faqs(FAQ_PATH).faqs
    base = {"id": "new_entry", "category": "其他", "question": "一个新问题？", "answer": "回答。"}

    with pytest.raises(EntryValidationError) as caught:
        workspace.create_entry(EntryIn(**{**base, "answer": SECRET_ANSWER}), "editor")
    assert [(i.entry, i.field) for i in caught.value.issues] == [("new_entry", "answer")]
    assert "验证码" in caught.value.issues[0].message

    with pytest.raises(EntryValidationError) as caught:
        workspace.create_entry(
            EntryIn(**{**base, "wechat_answer": "请告诉我们您的支付密码"}), "editor"
        )
    assert caught.value.issues[0].field == "wechat_answer"

    taken = seed[0].paraphrases[0]
    with pytest.raises(EntryValidationError) as caught:
        workspace.create_entry(EntryIn(**{**base, "paraphrases": [taken]}), "editor")
    (issue,) = [i for i in caught.value.issues if i.level == "error"]
    assert (issue.field, seed[0].id in issue.message) == ("paraphrases", True)

    with pytest.raises(EntryValidationError) as caught:
        workspace.create_entry(EntryIn(**{**base, "category": "理财"}), "editor")
    assert caught.value.issues[0].field == "category"

    # Few paraphrases and none traditional: advice, not a refusal.
    checked = workspace.check(EntryIn(**base))
    assert checked.ok and checked.errors == []
    assert {w.field for w in checked.warnings} == {"paraphrases"}
    assert any("建议至少 8 条释义" in w.message for w in checked.warnings)
    created = workspace.create_entry(EntryIn(**base), "editor")
    assert (created.status, created.changed, created.revision) == (EntryStatus.DRAFT, True, 1)


def test_categories_are_configurable(database_url: str, tmp_path: Path) -> None:
    workspace = unloaded_workspace(database_url, tmp_path)
    workspace.ensure_seeded(build=False)
    with pytest.raises(CategoryInUseError):  # entries still use 充值
        workspace.set_categories(["理财"], "admin")
    categories = [*workspace.categories(), "理财"]
    assert workspace.set_categories(categories, "admin") == categories
    entry = EntryIn(
        id="wealth", category="理财", question="理财产品怎么买？", answer="以 App 内为准。"
    )
    assert workspace.create_entry(entry, "editor").category == "理财"
    assert workspace.audit().items[1].action == "categories.update"


def test_a_stale_save_is_refused_with_what_changed(database_url: str, tmp_path: Path) -> None:
    workspace = unloaded_workspace(database_url, tmp_path)
    workspace.ensure_seeded(build=False)
    entry_id = load_faqs(FAQ_PATH).faqs[0].id
    opened = workspace.entry(entry_id)  # both editors open revision 1
    first = workspace.update_entry(
        entry_id, EntryUpdateIn(revision=opened.revision, answer="第一位编辑的回答。"), "alice"
    )
    assert first.revision == opened.revision + 1 and first.changed
    with pytest.raises(StaleRevisionError) as caught:
        workspace.update_entry(
            entry_id, EntryUpdateIn(revision=opened.revision, answer="第二位编辑的回答。"), "bob"
        )
    conflict = caught.value.body
    assert conflict.current.answer == "第一位编辑的回答。"
    assert conflict.changed_by == "alice"
    assert [(c.field, c.after) for c in conflict.changes] == [("answer", "第一位编辑的回答。")]
    assert workspace.entry(entry_id).answer == "第一位编辑的回答。"  # bob's save did not land
    # Archive and discard take the revision too.
    with pytest.raises(StaleRevisionError):
        workspace.set_archived(entry_id, True, opened.revision, "bob")
    archived = workspace.set_archived(entry_id, True, first.revision, "bob")
    assert archived.status == EntryStatus.ARCHIVED
    restored = workspace.discard(entry_id, archived.revision, "bob")
    assert restored is not None and not restored.changed
    assert restored.answer == opened.answer
    actions = [item.action for item in workspace.audit(entry_id=entry_id).items]
    assert actions == ["entry.discard", "entry.archive", "entry.update"]


def test_list_search_and_filter(database_url: str, tmp_path: Path) -> None:
    workspace = unloaded_workspace(database_url, tmp_path)
    workspace.ensure_seeded(build=False)
    seed = load_faqs(FAQ_PATH).faqs
    everything = workspace.list_entries(limit=500)
    assert everything.total == len(seed)
    assert [e.id for e in everything.items] == [f.id for f in seed]  # the file's order
    category = seed[0].category
    by_category = workspace.list_entries(category=category, limit=500)
    assert {e.category for e in by_category.items} == {category}
    assert by_category.total == sum(f.category == category for f in seed)
    word = seed[0].question[:4]
    found = workspace.list_entries(q=word, limit=500)
    assert seed[0].id in [e.id for e in found.items]
    assert all(
        word.lower() in (e.question + "".join(e.paraphrases) + e.answer + e.id).lower()
        for e in found.items
    )
    entry = workspace.entry(seed[1].id)
    workspace.update_entry(seed[1].id, EntryUpdateIn(revision=entry.revision, tags=["高频"]), "ed")
    tagged = workspace.list_entries(tag="高频")
    assert [e.id for e in tagged.items] == [seed[1].id] and "高频" in tagged.tags
    assert [e.id for e in workspace.list_entries(changed=True).items] == [seed[1].id]
    paged = workspace.list_entries(offset=2, limit=3)
    assert [e.id for e in paged.items] == [f.id for f in seed[2:5]]


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_csv_and_excel_round_trip_and_report_errors_by_row(
    database_url: str, tmp_path: Path
) -> None:
    workspace = unloaded_workspace(database_url, tmp_path)
    workspace.ensure_seeded(build=False)
    seed = load_faqs(FAQ_PATH).faqs
    for format in ("csv", "xlsx"):
        content, _, name = workspace.export(format)  # type: ignore[arg-type]
        assert name.endswith(f".{format}")
        report = workspace.import_file(content, format, "editor")  # type: ignore[arg-type]
        assert report.errors == []
        assert (report.created, report.updated, report.unchanged) == (0, 0, len(seed))

    header = ["id", "category", "question", "paraphrases", "answer"]
    bad = _csv(
        [
            header,
            ["fine_one", "其他", "一个好问题？", "问法一\n问法二", "好的回答。"],
            ["asks_secret", "其他", "另一个问题？", "", SECRET_ANSWER],
            ["Bad Id", "其他", "第三个问题？", "", "回答。"],
            ["fine_one", "其他", "重复的 id？", "", "回答。"],
        ]
    )
    report = workspace.import_file(bad, "csv", "editor")
    assert {(i.row, i.field) for i in report.errors} == {(3, "answer"), (4, "id"), (5, "id")}
    assert workspace.list_entries(q="fine_one").total == 0  # nothing was imported
    good = _csv([header, ["fine_one", "其他", "一个好问题？", "问法一|问法二", "好的回答。"]])
    report = workspace.import_file(good, "csv", "editor")
    assert (report.created, report.errors) == (1, [])
    assert workspace.entry("fine_one").paraphrases == ["问法一", "问法二"]
    unknown = workspace.import_file(_csv([[*header, "colour"]]), "csv", "editor")
    assert unknown.errors[0].field == "colour" and unknown.errors[0].row == 1
    assert workspace.import_file(b"not an excel file", "xlsx", "editor").errors


def test_roles(database_url: str) -> None:
    accounts = AccountService(session_factory(database_url))
    editor = accounts.add("editor1", "password-1", role="editor")
    admin = accounts.add("admin1", "password-1", admin=True)
    agent = accounts.add("agent1", "password-1")
    assert [role_of(a) for a in (editor, admin, agent)] == ["editor", "admin", "agent"]
    assert admin.is_admin and not editor.is_admin
    promoted = accounts.set_role("agent1", "admin")
    assert promoted.is_admin and role_of(promoted) == "admin"
    demoted = accounts.set_role("agent1", "editor")
    assert not demoted.is_admin and role_of(demoted) == "editor"


def test_a_replica_that_loses_the_seeding_race_keeps_the_winners_version(
    bench: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two gateways starting at once both see an empty store; the loser's insert collides."""
    loser_store = KbStore(session_factory(bench.settings.database_url))
    loser = KnowledgeWorkspace(loser_store, bench.knowledge, bench.settings)

    def collide(*_: object, **__: object) -> tuple[int, int, int]:
        raise IntegrityError("INSERT INTO kb_entries", {}, Exception("duplicate key"))

    monkeypatch.setattr(loser_store, "is_empty", lambda: True)
    monkeypatch.setattr(loser_store, "import_records", collide)

    assert loser.ensure_seeded() is None
    assert bench.store.current_version() == 1
    assert [version.number for version in bench.store.versions(10)] == [1]
