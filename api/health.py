"""/healthz: which parts of Kefu are up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.deps import get_knowledge
from api.knowledge.service import KnowledgeService

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(knowledge: Annotated[KnowledgeService, Depends(get_knowledge)]) -> JSONResponse:
    components: dict[str, Any] = {
        "kb": {"up": knowledge.ready}
        | (
            {"build_id": knowledge.manifest().build_id, "faqs": knowledge.manifest().faqs}
            if knowledge.ready
            else {"error": knowledge.error}
        ),
    }
    healthy = all(component["up"] for component in components.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "components": components},
        status_code=200 if healthy else 503,
    )
