"""Console KB endpoints: the knowledge workspace (entries, draft, 命中测试, publish,
rollback, funnel, learning loop, import/export, audit) and the index manifest.

Roles (support.accounts): an agent reads and suggests; an editor also edits the draft
and publishes; an admin also rolls back, overrides the eval gate and manages roles.
Every write is in the audit log (support.knowledge.store).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.console.deps import AdminAgent, CurrentAgent, agent_router
from api.console.knowledge.schemas import (
    AuditPage,
    CandidateReviewIn,
    CandidateReviewOut,
    CandidatesIn,
    CandidateView,
    CategoriesIn,
    CategoriesOut,
    DraftView,
    EntryIn,
    EntryPage,
    EntryUpdateIn,
    EntryView,
    FunnelView,
    HitTestIn,
    HitTestView,
    ImportReport,
    KbManifestOut,
    KbMeOut,
    KbReloadOut,
    LearnIn,
    PublishIn,
    PublishView,
    RevisionIn,
    RoleIn,
    RollbackIn,
    ValidationOut,
    VersionDetail,
    VersionSummary,
)
from api.core.deps import AccountsDep, get_knowledge
from api.core.params import NoNul, Offset, RowId
from kb.content import ContentError
from kb.evaluation import EvalFileError
from support.accounts.service import AccountError, AgentView, role_of
from support.knowledge.flows import KnowledgeWorkspace
from support.knowledge.schemas import EntryStatus
from support.knowledge.service import (
    KnowledgeBusyError,
    KnowledgeService,
    KnowledgeUnavailableError,
)
from support.knowledge.store import ExportFormat

logger = logging.getLogger(__name__)
router = agent_router(tags=["agent"])

Knowledge = Annotated[KnowledgeService, Depends(get_knowledge)]
EDITOR_ONLY = "这个操作需要编辑或管理员权限。"


def get_workspace(request: Request) -> KnowledgeWorkspace:
    workspace: KnowledgeWorkspace = request.app.state.kb_workspace
    return workspace


def editor_agent(agent: CurrentAgent) -> AgentView:
    if role_of(agent) not in ("editor", "admin"):
        raise HTTPException(403, EDITOR_ONLY)
    return agent


Workspace = Annotated[KnowledgeWorkspace, Depends(get_workspace)]
EditorAgent = Annotated[AgentView, Depends(editor_agent)]
# Entry ids have this shape (kb.content.FAQ), so nothing else reaches the database.
EntryId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Username = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Text = Annotated[str, Query(max_length=200), NoNul]


def _unprocessable(summary: str, issues: list[str]) -> JSONResponse:
    # Same shape as request validation errors: "detail" for people, "errors" one per line.
    return JSONResponse({"detail": summary, "errors": issues}, status_code=422)


# --- the index in use -------------------------------------------------------------


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


@router.post(
    "/kb/reload",
    response_model=KbReloadOut,
    responses={409: {"description": "另一次重建正在进行"}, 422: {"description": "FAQ 文件有误"}},
)
async def kb_reload(
    knowledge: Knowledge, workspace: Workspace, agent: AdminAgent
) -> KbReloadOut | JSONResponse:
    """What `kefu kb build` does, from the console: rebuild the published version, move CURRENT.

    With nothing published yet it builds from the FAQ file. This process swaps the new
    build in before answering; the others follow CURRENT within about a second.
    """
    try:
        result = await asyncio.to_thread(workspace.rebuild_published)
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


# --- who may do what ----------------------------------------------------------------


@router.get("/kb/me")
def kb_me(agent: CurrentAgent) -> KbMeOut:
    role = role_of(agent)
    return KbMeOut(
        username=agent.username,
        role=role,
        can_edit=role in ("editor", "admin"),
        can_publish=role in ("editor", "admin"),
        can_rollback=role == "admin",
        can_override_gate=role == "admin",
        can_manage_accounts=role == "admin",
    )


@router.put("/kb/roles/{username}")
def set_role(
    username: Username, body: RoleIn, accounts: AccountsDep, workspace: Workspace, agent: AdminAgent
) -> KbMeOut:
    """Admin: make an account admin, editor or agent (audited)."""
    try:
        changed = accounts.set_role(username, body.role)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from exc
    workspace.audit_role_change(agent.username, username, body.role)
    return kb_me(changed)


# --- entries and the draft ------------------------------------------------------------


@router.get("/kb/entries")
def list_entries(
    workspace: Workspace,
    *,
    q: Text = "",
    category: Annotated[str | None, Query(max_length=32), NoNul] = None,
    tag: Annotated[str | None, Query(max_length=32), NoNul] = None,
    status: EntryStatus | None = None,
    changed: bool | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EntryPage:
    """The draft's entries (archived ones only with status=archived), searched and filtered.

    ``q`` matches the id, question, paraphrases and answer (substring, case-insensitive).
    """
    return workspace.list_entries(
        q=q,
        category=category,
        tag=tag,
        status=status,
        changed=changed,
        offset=offset,
        limit=limit,
    )


@router.get("/kb/entries/{entry_id}")
def get_entry(entry_id: EntryId, workspace: Workspace) -> EntryView:
    return workspace.entry(entry_id)


@router.post("/kb/entries", status_code=201, response_model=EntryView)
def create_entry(body: EntryIn, workspace: Workspace, agent: EditorAgent) -> EntryView:
    return workspace.create_entry(body, agent.username)


@router.put("/kb/entries/{entry_id}", response_model=EntryView)
def update_entry(
    entry_id: EntryId, body: EntryUpdateIn, workspace: Workspace, agent: EditorAgent
) -> EntryView:
    return workspace.update_entry(entry_id, body, agent.username)


@router.post("/kb/entries/{entry_id}/archive", response_model=EntryView)
def archive_entry(
    entry_id: EntryId, body: RevisionIn, workspace: Workspace, agent: EditorAgent
) -> EntryView:
    return workspace.set_archived(entry_id, True, body.revision, agent.username)


@router.post("/kb/entries/{entry_id}/restore", response_model=EntryView)
def restore_entry(
    entry_id: EntryId, body: RevisionIn, workspace: Workspace, agent: EditorAgent
) -> EntryView:
    return workspace.set_archived(entry_id, False, body.revision, agent.username)


@router.post("/kb/entries/{entry_id}/discard", response_model=EntryView | None)
def discard_entry(
    entry_id: EntryId, body: RevisionIn, workspace: Workspace, agent: EditorAgent
) -> EntryView | None:
    """Throw away the draft's change to this entry (back to the published one; a new
    entry is deleted, answering null)."""
    return workspace.discard(entry_id, body.revision, agent.username)


@router.post("/kb/validate")
def validate_entry(body: EntryIn, workspace: Workspace) -> ValidationOut:
    """Inline validation while typing: errors and warnings, nothing is saved."""
    return workspace.check(body)


@router.get("/kb/draft")
def draft(workspace: Workspace) -> DraftView:
    return workspace.draft()


# --- 命中测试, publish, versions, rollback --------------------------------------------


@router.post("/kb/hit-test")
async def hit_test(body: HitTestIn, workspace: Workspace) -> HitTestView:
    """The query against the published version and the draft, side by side."""
    return await asyncio.to_thread(workspace.hit_test, body.query, body.top_k)


@router.post(
    "/kb/publish",
    response_model=PublishView,
    responses={
        409: {"description": "另一次发布或重建正在进行"},
        422: {"description": "草稿有错误，或评测集上的效果下降（gate）"},
    },
)
async def publish(body: PublishIn, workspace: Workspace, agent: EditorAgent) -> PublishView:
    if body.override_gate and role_of(agent) != "admin":
        raise HTTPException(403, "只有管理员可以忽略评测下降强制发布。")
    try:
        return await asyncio.to_thread(
            workspace.publish, agent.username, body.note, override_gate=body.override_gate
        )
    except KnowledgeBusyError as exc:
        raise HTTPException(409, "知识库正在发布或重建，请稍后") from exc


@router.post("/kb/rollback", response_model=PublishView)
async def rollback(body: RollbackIn, workspace: Workspace, agent: AdminAgent) -> PublishView:
    """Republish an earlier version's content as a new version (default: the one before)."""
    try:
        return await asyncio.to_thread(
            workspace.rollback, agent.username, body.to_version, body.note
        )
    except KnowledgeBusyError as exc:
        raise HTTPException(409, "知识库正在发布或重建，请稍后") from exc


@router.get("/kb/versions")
def versions(
    workspace: Workspace, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[VersionSummary]:
    return workspace.versions(limit)


@router.get("/kb/versions/{number}")
def version(number: RowId, workspace: Workspace) -> VersionDetail:
    return workspace.version(number)


# --- funnel and learning loop --------------------------------------------------------


@router.get("/kb/funnel")
def funnel(
    workspace: Workspace,
    # 7, 30 or 90 in the console; a query string's "7" is text, so an int range, not a Literal.
    days: Annotated[int, Query(ge=1, le=365, description="统计最近多少天")] = 30,
    sort: Literal[
        "answered",
        "offered",
        "picked",
        "thumbs_up",
        "thumbs_down",
        "denied",
        "handoff_after",
        "satisfaction",
        "trouble_rate",
        "weakness",
    ] = "answered",
    order: Literal["asc", "desc"] = "desc",
) -> FunnelView:
    return workspace.funnel(days, sort=sort, descending=order == "desc")


@router.post("/kb/learn", response_model=EntryView)
def learn(body: LearnIn, workspace: Workspace, agent: EditorAgent) -> EntryView:
    """One click: a user's question becomes a paraphrase of an entry, or a new entry."""
    return workspace.learn(body, agent.username)


@router.get("/kb/candidates")
def candidates(
    workspace: Workspace,
    status: Literal["pending", "accepted", "rejected"] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[CandidateView]:
    """Candidate paraphrases to review; clarify picks are collected on each call."""
    return workspace.candidates(status, limit)


@router.post("/kb/candidates", status_code=201)
def suggest_candidate(
    body: CandidatesIn, workspace: Workspace, agent: CurrentAgent
) -> CandidateView:
    """Any agent may suggest a paraphrase; an editor accepts it."""
    return workspace.suggest(body.query, body.faq_id, agent.username)


@router.post("/kb/candidates/review")
def review_candidates(
    body: CandidateReviewIn, workspace: Workspace, agent: EditorAgent
) -> CandidateReviewOut:
    return workspace.review(body.ids, accept=body.action == "accept", actor=agent.username)


# --- import and export --------------------------------------------------------------


@router.get("/kb/export")
def export(
    workspace: Workspace,
    format: ExportFormat = "yaml",
    side: Literal["published", "draft"] = "published",
) -> Response:
    content, media_type, filename = workspace.export(format, side)
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/kb/import", response_model=ImportReport)
async def import_entries(
    request: Request,
    workspace: Workspace,
    agent: EditorAgent,
    format: ExportFormat,
    dry_run: bool = False,
) -> ImportReport | JSONResponse:
    """The file is the raw request body. Rows go into the draft; any error: nothing does."""
    payload = await request.body()
    report = await asyncio.to_thread(
        workspace.import_file, payload, format, agent.username, dry_run=dry_run
    )
    if report.errors:
        body = report.model_dump(mode="json")
        body["detail"] = f"文件有 {len(report.errors)} 处错误，没有导入任何条目。"
        return JSONResponse(body, status_code=422)
    return report


# --- settings and audit ---------------------------------------------------------------


@router.get("/kb/categories")
def categories(workspace: Workspace) -> CategoriesOut:
    return CategoriesOut(categories=workspace.categories())


@router.put("/kb/categories")
def set_categories(body: CategoriesIn, workspace: Workspace, agent: AdminAgent) -> CategoriesOut:
    return CategoriesOut(categories=workspace.set_categories(body.categories, agent.username))


@router.get("/kb/audit")
def audit(
    workspace: Workspace,
    entry_id: Annotated[str | None, Query(max_length=64), NoNul] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    return workspace.audit(entry_id=entry_id, offset=offset, limit=limit)
