"""Console KB endpoints: the manifest in use, and the admin's rebuild with hot reload."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.responses import JSONResponse

from api.console.deps import AdminAgent, agent_router
from api.console.knowledge.schemas import KbManifestOut, KbReloadOut
from api.core.deps import get_knowledge
from kb.content import ContentError
from kb.evaluation import EvalFileError
from support.knowledge.service import (
    KnowledgeBusyError,
    KnowledgeService,
    KnowledgeUnavailableError,
)

logger = logging.getLogger(__name__)
router = agent_router(tags=["agent"])

Knowledge = Annotated[KnowledgeService, Depends(get_knowledge)]


@router.get("/kb/manifest")
def kb_manifest(knowledge: Knowledge) -> KbManifestOut:
    current = knowledge.current_on_disk()
    current_id = current.name if current else None
    try:
        manifest = knowledge.manifest()
    except KnowledgeUnavailableError as exc:
        return KbManifestOut(
            build_id=None,
            manifest=None,
            current_build_id=current_id,
            in_sync=False,
            error=str(exc),
        )
    return KbManifestOut(
        build_id=manifest.build_id,
        manifest=manifest,
        current_build_id=current_id,
        in_sync=manifest.build_id == current_id,
    )


def _unprocessable(summary: str, issues: list[str]) -> JSONResponse:
    # Same shape as request validation errors: "detail" for people, "errors" one per line.
    return JSONResponse({"detail": summary, "errors": issues}, status_code=422)


@router.post(
    "/kb/reload",
    response_model=KbReloadOut,
    responses={409: {"description": "另一次重建正在进行"}, 422: {"description": "FAQ 文件有误"}},
)
async def kb_reload(knowledge: Knowledge, agent: AdminAgent) -> KbReloadOut | JSONResponse:
    """What `kefu kb build` does, from the console: build from the FAQ file and move CURRENT.

    This process swaps the new build in before answering; the others (gateway workers,
    the action server) follow CURRENT within about a second. The old KB answers until
    the new one is in.
    """
    try:
        result = await asyncio.to_thread(knowledge.rebuild)
    except KnowledgeBusyError as exc:
        raise HTTPException(409, "知识库正在重建，请稍后") from exc
    except ContentError as exc:
        issues = [str(issue) for issue in exc.issues]
        return _unprocessable(
            f"FAQ 文件有 {len(issues)} 个问题，知识库没有更新：" + "；".join(issues), issues
        )
    except EvalFileError as exc:
        return _unprocessable(f"校准文件与 FAQ 不一致，知识库没有更新：{exc}", [str(exc)])
    logger.info("%s 重建并热加载了知识库 %s", agent.username, result.manifest.build_id)
    return KbReloadOut(
        build_id=result.manifest.build_id,
        rebuilt=result.built,
        seconds=round(result.seconds, 3),
        manifest=result.manifest,
    )
