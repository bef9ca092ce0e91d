"""The analytics API of the console, and the paraphrase-suggestion review list.

Every route needs a console session (agent_router); the work is in support.analytics.
What they refuse (an unknown FAQ, an unloaded KB...) is raised as a support.errors
KefuError, which the gateway's one handler answers with its status and message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.console.deps import CurrentAgent, agent_router
from api.core.deps import AnalyticsDep, SuggestionsDep
from api.core.params import NoNul, RowId
from support.analytics.schemas import Analytics, Suggestion
from support.analytics.suggestions import MAX_SUGGESTION_LENGTH

router = agent_router(tags=["agent"])

EXPORT_FILENAME = "kefu_paraphrase_suggestions.yml"


class SuggestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Checked again by the service, with messages that name the field: the error
    # handler leaves a field called "query" out of its Chinese message.
    query: Annotated[str, NoNul] = Field(max_length=4 * MAX_SUGGESTION_LENGTH)
    faq_id: Annotated[str, NoNul] = Field(max_length=64)


Metrics = AnalyticsDep
Suggestions = SuggestionsDep


# Plain `def` routes: FastAPI runs them in its thread pool, off the event loop, which
# matters for the embedding and clustering of the unanswered queries.


@router.get("/analytics")
def analytics(
    metrics: Metrics, days: Annotated[int, Query(ge=1, le=365, description="统计最近多少天")] = 30
) -> Analytics:
    return metrics.compute(days)


@router.get("/suggestions")
def list_suggestions(suggestions: Suggestions) -> list[Suggestion]:
    return suggestions.suggestions()


@router.post("/suggestions", status_code=201)
def add_suggestion(
    body: SuggestionIn, suggestions: Suggestions, agent: CurrentAgent, response: Response
) -> Suggestion:
    """201 for a new suggestion; 200 with the existing one if it was already on the list."""
    suggestion, created = suggestions.suggest(body.query, body.faq_id, agent.username)
    if not created:
        response.status_code = 200
    return suggestion


@router.delete("/suggestions/{suggestion_id}", status_code=204)
def delete_suggestion(suggestion_id: RowId, suggestions: Suggestions) -> Response:
    suggestions.remove(suggestion_id)
    return Response(status_code=204)


@router.get("/suggestions/export")
def export_suggestions(suggestions: Suggestions) -> Response:
    return Response(
        suggestions.export_yaml(),
        media_type="text/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"'},
    )
