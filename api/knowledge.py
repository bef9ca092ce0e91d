"""Read-only KB endpoints: a query, and the manifest of the index in use.

Without a loaded KB, KnowledgeUnavailableError answers 503 through the gateway's
KefuError handler.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.core.abuse import KbQueryLimit
from api.core.deps import InternalsVisibleDep, KnowledgeDep
from support.errors import InvalidInputError

router = APIRouter(prefix="/api/kb", tags=["knowledge"])


@router.get("/query", dependencies=[KbQueryLimit])
def query(
    knowledge: KnowledgeDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="用户的问题")],
    top_k: Annotated[int, Query(ge=1, le=10)] = 3,
) -> dict[str, Any]:
    if not q.strip():
        raise InvalidInputError("问题不能为空")
    return knowledge.query(q, top_k=top_k).as_dict()


@router.get("/manifest")
def manifest(knowledge: KnowledgeDep, internals: InternalsVisibleDep) -> dict[str, Any]:
    """The index in use; in production without a console login, only whether one is loaded."""
    built = knowledge.manifest()  # 503 without a loaded KB, in every mode
    return asdict(built) if internals else {"status": "ok"}
