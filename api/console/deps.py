"""Console authentication: the session cookie, CSRF on writes, the admin flag.

Every ``/api/agent/*`` router is built with :func:`agent_router`, so a new route is
protected by default; ``tests/console/test_auth.py`` walks the app's route table to
make sure of it. Also the console's own service, the AgentDesk, built in the lifespan.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from api.console.cases.desk import AgentDesk
from api.core.deps import AGENT_COOKIE, optional_console_session
from support.accounts.service import ActiveSession, AgentView, csrf_matches

COOKIE_NAME = AGENT_COOKIE
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_LOGGED_IN = "请先登录客服工作台。"
CSRF_FAILED = "安全校验失败，请刷新页面后重试。"
ADMIN_ONLY = "这个操作需要管理员权限。"


def get_desk(request: Request) -> AgentDesk:
    desk: AgentDesk = request.app.state.desk
    return desk


DeskDep = Annotated[AgentDesk, Depends(get_desk)]


optional_session = optional_console_session


# 401 and 403 are HTTP's own answers about the request, not domain errors: HTTPException.
def agent_session(
    request: Request, active: Annotated[ActiveSession | None, Depends(optional_session)]
) -> ActiveSession:
    """The caller's console session: 401 without one, 403 on a write without its CSRF token."""
    if active is None:
        raise HTTPException(401, NOT_LOGGED_IN)
    if request.method not in SAFE_METHODS and not csrf_matches(
        active.csrf_token, request.headers.get(CSRF_HEADER)
    ):
        raise HTTPException(403, CSRF_FAILED)
    return active


def current_agent(active: Annotated[ActiveSession, Depends(agent_session)]) -> AgentView:
    return active.agent


def admin_agent(agent: Annotated[AgentView, Depends(current_agent)]) -> AgentView:
    if not agent.is_admin:
        raise HTTPException(403, ADMIN_ONLY)
    return agent


CurrentSession = Annotated[ActiveSession, Depends(agent_session)]
CurrentAgent = Annotated[AgentView, Depends(current_agent)]
AdminAgent = Annotated[AgentView, Depends(admin_agent)]


def agent_router(**options: Any) -> APIRouter:
    """A router under /api/agent whose every route needs a session (and CSRF on writes)."""
    return APIRouter(prefix="/api/agent", dependencies=[Depends(agent_session)], **options)
