"""The analytics API of the console, and the paraphrase-suggestion review list.

Every route needs a console session (agent_router); the work is in AnalyticsService.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.console.deps import CurrentAgent, agent_router
from support.analytics.service import (
    MAX_SUGGESTION_LENGTH,
    Analytics,
    AnalyticsService,
    InvalidSuggestionError,
    Suggestion,
    SuggestionNotFoundError,
    UnknownFaqError,
)
from support.knowledge.service import KnowledgeService, KnowledgeUnavailableError
from support.settings import Settings
from support.storage import session_factory

router = agent_router(tags=["agent"])

EXPORT_FILENAME = "kefu_paraphrase_suggestions.yml"


class SuggestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Checked again by the service, with messages that name the field: the error
    # handler leaves a field called "query" out of its Chinese message.
    query: str = Field(max_length=4 * MAX_SUGGESTION_LENGTH)
    faq_id: str = Field(max_length=64)


def get_analytics(request: Request) -> AnalyticsService:
    settings: Settings = request.app.state.settings
    knowledge: KnowledgeService = request.app.state.knowledge
    return AnalyticsService(session_factory(settings.database_url), knowledge)


Service = Annotated[AnalyticsService, Depends(get_analytics)]


def _kb_unavailable(exc: KnowledgeUnavailableError) -> HTTPException:
    return HTTPException(503, f"知识库暂不可用：{exc}")


# Plain `def` routes: FastAPI runs them in its thread pool, off the event loop, which
# matters for the embedding and clustering of the unanswered queries.


@router.get("/analytics")
def analytics(
    service: Service, days: Annotated[int, Query(ge=1, le=365, description="统计最近多少天")] = 30
) -> Analytics:
    try:
        return service.compute(days)
    except KnowledgeUnavailableError as exc:
        raise _kb_unavailable(exc) from exc


@router.get("/suggestions")
def list_suggestions(service: Service) -> list[Suggestion]:
    try:
        return service.suggestions()
    except KnowledgeUnavailableError as exc:
        raise _kb_unavailable(exc) from exc


@router.post("/suggestions", status_code=201)
def add_suggestion(
    body: SuggestionIn, service: Service, agent: CurrentAgent, response: Response
) -> Suggestion:
    """201 for a new suggestion; 200 with the existing one if it was already on the list."""
    try:
        suggestion, created = service.suggest(body.query, body.faq_id, agent.username)
    except KnowledgeUnavailableError as exc:
        raise _kb_unavailable(exc) from exc
    except UnknownFaqError as exc:
        raise HTTPException(422, f"知识库中没有这个问题：{body.faq_id}") from exc
    except InvalidSuggestionError as exc:
        raise HTTPException(422, str(exc)) from exc
    if not created:
        response.status_code = 200
    return suggestion


@router.delete("/suggestions/{suggestion_id}", status_code=204)
def delete_suggestion(suggestion_id: int, service: Service) -> Response:
    try:
        service.remove(suggestion_id)
    except SuggestionNotFoundError as exc:
        raise HTTPException(404, "没有找到这条释义建议，可能已被删除。") from exc
    return Response(status_code=204)


@router.get("/suggestions/export")
def export_suggestions(service: Service) -> Response:
    try:
        text = service.export_yaml()
    except KnowledgeUnavailableError as exc:
        raise _kb_unavailable(exc) from exc
    return Response(
        text,
        media_type="text/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"'},
    )
