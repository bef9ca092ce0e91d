"""The funnel of each FAQ from stored conversations, and the learning loop: clarify picks
become candidate paraphrases, accepted in bulk; a user's question joins the draft in one
call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kb.content import load_faqs
from support.conversations.models import Conversation, Message
from support.escalations.models import Escalation
from support.knowledge.errors import EntryValidationError
from support.knowledge.flows import KnowledgeWorkspace
from support.knowledge.schemas import EntryIn, LearnIn
from support.replies.vocabulary import AFFIRM, DENY, clarify_payload
from support.storage import session_factory, transaction
from tests.conftest import FAQ_PATH
from tests.knowledge.test_store import unloaded_workspace


class Conversations:
    """Writes conversations the way the conversation store does (bot replies with kb meta)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._clock = datetime.now(UTC) - timedelta(days=2)
        self._count = 0

    def _tick(self) -> datetime:
        self._clock += timedelta(seconds=5)
        return self._clock

    def start(self) -> str:
        self._count += 1
        conversation_id = f"c{self._count:04d}"
        with transaction(self._sessions) as session:
            now = self._tick()
            session.add(
                Conversation(
                    id=conversation_id, channel="web", state="bot", created_at=now, updated_at=now
                )
            )
        return conversation_id

    def say(self, conversation_id: str, role: str, text: str, **fields: Any) -> None:
        with transaction(self._sessions) as session:
            session.add(
                Message(
                    conversation_id=conversation_id,
                    role=role,
                    text=text,
                    buttons=fields.pop("buttons", []),
                    created_at=self._tick(),
                    **fields,
                )
            )

    def answered(
        self, conversation_id: str, faq_id: str, query: str, feedback: str | None = None
    ) -> None:
        self.say(conversation_id, "user", query)
        self.say(
            conversation_id,
            "bot",
            "回答",
            feedback=feedback,
            kb={"decision": "answer", "faq_id": faq_id, "score": 0.9, "query": query},
        )

    def clarified(self, conversation_id: str, query: str, offered: list[str], picked: str) -> None:
        self.say(conversation_id, "user", query)
        buttons = [{"title": f, "payload": clarify_payload(f)} for f in offered]
        self.say(
            conversation_id,
            "bot",
            "您想问的是？",
            buttons=buttons,
            kb={"decision": "clarify", "faq_id": offered[0], "score": 0.5, "query": query},
        )
        self.say(conversation_id, "user", picked, payload=clarify_payload(picked))
        self.say(
            conversation_id,
            "bot",
            "回答",
            kb={"decision": "answer", "faq_id": picked, "score": None, "query": picked},
        )

    def escalate(self, conversation_id: str) -> None:
        with transaction(self._sessions) as session:
            session.add(
                Escalation(
                    conversation_id=conversation_id,
                    channel="web",
                    reason="用户要求",
                    status="waiting",
                    last_messages=[],
                    kb_candidates=[],
                    created_at=self._tick(),
                )
            )


@pytest.fixture
def seeded(
    database_url: str, tmp_path: Path
) -> tuple[KnowledgeWorkspace, Conversations, list[str]]:
    workspace = unloaded_workspace(database_url, tmp_path)
    workspace.ensure_seeded(build=False)
    ids = [faq.id for faq in load_faqs(FAQ_PATH).faqs]
    return workspace, Conversations(session_factory(database_url)), ids


def test_the_funnel_of_each_faq(
    seeded: tuple[KnowledgeWorkspace, Conversations, list[str]],
) -> None:
    workspace, chats, ids = seeded
    weak, good, other = ids[0], ids[1], ids[2]
    for _ in range(3):  # the weak answer: 👎, then 「否」, then a handoff
        conversation = chats.start()
        chats.answered(conversation, weak, "问题一", feedback="down")
        chats.say(conversation, "bot", "这个回答有帮助吗？")  # the 是/否 question, no kb meta
        chats.say(conversation, "user", "否", payload=DENY)
        chats.escalate(conversation)
    for _ in range(4):  # the good one: 👍 and 「是」
        conversation = chats.start()
        chats.answered(conversation, good, "问题二", feedback="up")
        chats.say(conversation, "user", "是", payload=AFFIRM)
    conversation = chats.start()
    chats.escalate(conversation)  # a handoff before any answer does not count
    chats.answered(conversation, other, "问题三")
    conversation = chats.start()
    chats.clarified(conversation, "那个钱怎么弄", [weak, good], picked=good)

    view = workspace.funnel(30)
    rows = {row.faq_id: row for row in view.rows}
    assert len(rows) == len(ids)  # every live entry, zeros included
    assert (
        rows[weak].answered,
        rows[weak].thumbs_down,
        rows[weak].denied,
        rows[weak].handoff_after,
    ) == (3, 3, 3, 3)
    assert (rows[weak].offered, rows[weak].picked) == (1, 0)
    assert (rows[good].answered, rows[good].thumbs_up, rows[good].offered, rows[good].picked) == (
        5,
        4,
        1,
        1,
    )
    assert (rows[good].denied, rows[good].handoff_after, rows[good].satisfaction) == (0, 0, 1.0)
    assert (rows[other].answered, rows[other].handoff_after) == (1, 0)
    assert [row.faq_id for row in view.needs_work] == [weak]
    assert [row.faq_id for row in view.rows[:2]] == [good, weak]  # by answered, descending
    by_down = workspace.funnel(30, sort="thumbs_down")
    assert by_down.rows[0].faq_id == weak
    ascending = workspace.funnel(30, sort="answered", descending=False)
    assert ascending.rows[-1].faq_id == good
    # Older than the period: not counted.
    assert workspace.funnel(7, now=datetime.now(UTC) + timedelta(days=30)).rows[0].answered == 0


def test_a_clarify_pick_becomes_a_candidate_accepted_in_bulk(
    seeded: tuple[KnowledgeWorkspace, Conversations, list[str]],
) -> None:
    workspace, chats, ids = seeded
    first, second = ids[3], ids[4]
    for _ in range(2):
        chats.clarified(chats.start(), "钱到底去哪了呢", [first, second], picked=second)
    chats.clarified(chats.start(), "卡号 4111111111111111 付不了", [first, second], picked=first)

    pending = workspace.candidates()
    by_query = {c.query: c for c in pending}
    assert by_query["钱到底去哪了呢"].faq_id == second
    assert by_query["钱到底去哪了呢"].source == "clarify_pick"
    assert by_query["钱到底去哪了呢"].count == 2
    assert "4111111111111111" not in "".join(by_query)  # redacted like every other store
    assert workspace.candidates() == pending  # harvested once

    suggested = workspace.suggest("提现卡住了咋整", first, "agent1")
    assert suggested.source == "agent"
    review = workspace.review([c.id for c in workspace.candidates()], accept=True, actor="editor")
    assert review.accepted == 3 and review.skipped == []
    assert "钱到底去哪了呢" in workspace.entry(second).paraphrases
    assert "提现卡住了咋整" in workspace.entry(first).paraphrases
    assert workspace.entry(first).changed  # in the draft, published with the next 「发布」
    assert workspace.candidates() == []
    assert len(workspace.candidates("accepted")) == 3


def test_one_click_learning(seeded: tuple[KnowledgeWorkspace, Conversations, list[str]]) -> None:
    workspace, _, ids = seeded
    entry = workspace.learn(LearnIn(query="钱包里的钱能生利息吗", faq_id=ids[5]), "editor")
    assert entry.paraphrases[-1] == "钱包里的钱能生利息吗" and entry.changed
    with pytest.raises(EntryValidationError):  # already a paraphrase
        workspace.learn(LearnIn(query="钱包里的钱能生利息吗", faq_id=ids[5]), "editor")
    created = workspace.learn(
        LearnIn(
            query="能开发票吗",
            new_entry=EntryIn(
                id="invoice",
                category="其他",
                question="能开发票吗",
                answer="目前不支持开具发票，以 App 内说明为准。",
            ),
        ),
        "editor",
    )
    assert (created.id, created.status.value, created.question) == (
        "invoice",
        "draft",
        "能开发票吗",
    )
    rejected = workspace.suggest("随便问问", ids[0], "agent1")
    assert workspace.review([rejected.id], accept=False, actor="editor").rejected == 1
