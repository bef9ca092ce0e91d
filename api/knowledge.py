"""Read-only KB endpoints: a query, and the manifest of the index in use."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from api.core.deps import get_knowledge
from support.knowledge.service import KnowledgeService, KnowledgeUnavailableError

router = APIRouter(prefix="/api/kb", tags=["knowledge"])

Knowledge = Annotated[KnowledgeService, Depends(get_knowledge)]


@router.get("/query")
def query(
    knowledge: Knowledge,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="用户的问题")],
    top_k: Annotated[int, Query(ge=1, le=10)] = 3,
) -> dict[str, Any]:
    if not q.strip():
        raise HTTPException(422, "问题不能为空")
    try:
        return knowledge.query(q, top_k=top_k).as_dict()
    except KnowledgeUnavailableError as exc:
        raise HTTPException(503, f"知识库暂不可用：{exc}") from exc


@router.get("/manifest")
def manifest(knowledge: Knowledge) -> dict[str, Any]:
    try:
        return asdict(knowledge.manifest())
    except KnowledgeUnavailableError as exc:
        raise HTTPException(503, f"知识库暂不可用：{exc}") from exc
