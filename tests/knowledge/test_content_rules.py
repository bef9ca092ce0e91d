"""kb.content's rules for any wallet's FAQ: the caller's categories, one question one
entry, and an exact YAML round trip of the whole file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.content import ContentError, FAQCollection, dump_faqs_yaml, load_faqs

ENTRY = """  - id: {id}
    category: {category}
    question: 充值了但还没到账怎么办？
    paraphrases:
      - 充值没到账
    answer: 请先在交易记录里查看这笔充值的状态。
"""


def write(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "faq.yml"
    path.write_text("faqs:\n" + "".join(entries), "utf-8")
    return path


def test_categories_are_the_callers(tmp_path: Path) -> None:
    path = write(tmp_path, ENTRY.format(id="topup", category="理财"))
    with pytest.raises(ContentError) as caught:
        load_faqs(path)
    assert "分类必须是" in caught.value.issues[0].message
    assert load_faqs(path, categories=["理财"]).faqs[0].category.value == "理财"


def test_two_entries_may_not_share_a_question(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ENTRY.format(id="topup", category="充值"),
        ENTRY.format(id="again", category="充值"),
    )
    with pytest.raises(ContentError) as caught:
        load_faqs(path)
    assert {(i.entry, i.field) for i in caught.value.issues} == {
        ("again", "question"),
        ("again", "paraphrases"),
    }
    assert all("topup" in i.message for i in caught.value.issues)


def test_the_whole_file_round_trips(faqs: FAQCollection, tmp_path: Path) -> None:
    path = tmp_path / "export.yml"
    path.write_text(dump_faqs_yaml(faqs.faqs), "utf-8")
    again = load_faqs(path)
    assert again.faqs == faqs.faqs
    assert dump_faqs_yaml(again.faqs) == path.read_text("utf-8")
