"""Paraphrase suggestions: the review list of user queries to add to a FAQ's paraphrases.

Agents add queries from the unanswered clusters; the list is exported as YAML to paste
into data/faq_zh.yml (the layout is kb.content's). A query is stored redacted by the
sensitive-data guard, like every other store, and listed and exported redacted again
(rows stored before the guard was applied here, or before it learnt a format).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from guard import redact
from kb.content import dump_paraphrases_yaml
from kb.knowledge_base import KnowledgeBase
from support.analytics.models import ParaphraseSuggestion
from support.analytics.schemas import Suggestion
from support.errors import InvalidInputError, NotFoundError
from support.knowledge.service import KnowledgeService
from support.storage import as_utc, transaction

MAX_SUGGESTION_LENGTH = 200

EXPORT_HEADER = (
    "Kefu 释义建议，导出于 {moment:%Y-%m-%d %H:%M} UTC，共 {count} 条。",
    "用法：把每个条目 paraphrases 下的各行，追加到 data/faq_zh.yml 中同一 id 条目的",
    "paraphrases 列表末尾（缩进与该文件一致，可直接粘贴）。",
    "这些问法来自用户原话（已脱敏），粘贴前请再核对一遍是否确实是该问题的问法。",
    "改完后运行 `.venv/bin/kefu kb validate`，再 `.venv/bin/kefu kb build`。",
)
NO_LONGER_IN_KB = "（知识库中已没有这个条目）"


# A KB that is not loaded raises support.knowledge's KnowledgeUnavailableError (503).


class UnknownFaqError(InvalidInputError):
    def __init__(self, faq_id: str) -> None:
        super().__init__(f"知识库中没有这个问题：{faq_id}")
        self.faq_id = faq_id


class InvalidSuggestionError(InvalidInputError):
    pass


class SuggestionNotFoundError(NotFoundError):
    default_message = "没有找到这条释义建议，可能已被删除。"


class SuggestionService:
    def __init__(self, sessions: sessionmaker[Session], knowledge: KnowledgeService) -> None:
        self._sessions = sessions
        self._knowledge = knowledge

    def suggestions(self) -> list[Suggestion]:
        kb = self._knowledge.knowledge_base()
        with self._sessions() as session:
            rows = session.scalars(
                select(ParaphraseSuggestion).order_by(
                    ParaphraseSuggestion.faq_id, ParaphraseSuggestion.id
                )
            ).all()
            return [_suggestion(row, kb) for row in rows]

    def suggest(self, query: str, faq_id: str, agent: str) -> tuple[Suggestion, bool]:
        """Add ``query`` as a paraphrase suggestion for ``faq_id``; True if it is new.

        Adding the same query for the same FAQ again returns the existing suggestion.
        """
        kb = self._knowledge.knowledge_base()
        query = redact(" ".join(query.split()))
        if not query:
            raise InvalidSuggestionError("请填写要加入的问法。")
        if len(query) > MAX_SUGGESTION_LENGTH:
            raise InvalidSuggestionError(f"问法不能超过 {MAX_SUGGESTION_LENGTH} 个字符。")
        if kb.get(faq_id) is None:
            raise UnknownFaqError(faq_id)
        existing = self._find(query, faq_id, kb)
        if existing is not None:
            return existing, False
        try:
            with transaction(self._sessions) as session:
                row = ParaphraseSuggestion(
                    query=query, faq_id=faq_id, created_by=agent, created_at=datetime.now(UTC)
                )
                session.add(row)
                session.flush()
                return _suggestion(row, kb), True
        except IntegrityError:  # the same suggestion, added concurrently
            found = self._find(query, faq_id, kb)
            if found is None:
                raise
            return found, False

    def _find(self, query: str, faq_id: str, kb: KnowledgeBase) -> Suggestion | None:
        with self._sessions() as session:
            row = session.scalar(
                select(ParaphraseSuggestion).where(
                    ParaphraseSuggestion.query == query, ParaphraseSuggestion.faq_id == faq_id
                )
            )
            return _suggestion(row, kb) if row else None

    def remove(self, suggestion_id: int) -> None:
        with transaction(self._sessions) as session:
            row = session.get(ParaphraseSuggestion, suggestion_id)
            if row is None:
                raise SuggestionNotFoundError()
            session.delete(row)

    def export_yaml(self, *, now: datetime | None = None) -> str:
        """The suggestions grouped by FAQ, laid out like data/faq_zh.yml's entries."""
        suggestions = self.suggestions()
        grouped: dict[str, list[str]] = {}
        notes: dict[str, str] = {}
        for suggestion in suggestions:
            grouped.setdefault(suggestion.faq_id, []).append(suggestion.query)
            if suggestion.faq_id not in notes:
                question = suggestion.question
                title = " ".join(question.split()) if question else NO_LONGER_IN_KB
                notes[suggestion.faq_id] = f"标准问题：{title}"
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        header = [line.format(moment=moment, count=len(suggestions)) for line in EXPORT_HEADER]
        return dump_paraphrases_yaml(grouped, header=header, notes=notes)


def _suggestion(row: ParaphraseSuggestion, kb: KnowledgeBase) -> Suggestion:
    faq = kb.get(row.faq_id)
    return Suggestion(
        id=row.id,
        query=redact(row.query),
        faq_id=row.faq_id,
        question=faq.question if faq else None,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )
