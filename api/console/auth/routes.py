"""Login and logout. Thin: accounts in AccountService, throttling in FailureCounter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from api.console.deps import COOKIE_NAME, agent_router, agent_session, get_accounts
from api.console.schemas import LoginIn, Me
from api.core.deps import get_settings_dep
from support.accounts.service import AccountService, ActiveSession
from support.ratelimit import FailureCounter
from support.settings import Settings

# Login is the one /api/agent route open without a session.
login_router = APIRouter(prefix="/api/agent", tags=["agent"])
router = agent_router(tags=["agent"])

Accounts = Annotated[AccountService, Depends(get_accounts)]
WRONG_LOGIN = "用户名或密码错误。"


def _failures(request: Request) -> FailureCounter:
    counter: FailureCounter = request.app.state.login_failures
    return counter


@login_router.post("/login")
async def login(
    *,
    body: LoginIn,
    request: Request,
    response: Response,
    accounts: Accounts,
    settings: Annotated[Settings, Depends(get_settings_dep)],
    failures: Annotated[FailureCounter, Depends(_failures)],
) -> Me:
    # Locked per username (guessing one account) and per address (trying many).
    keys = [f"user:{body.username.lower()}", f"ip:{request.client.host if request.client else '?'}"]
    for key in keys:
        if await failures.locked(key):
            minutes = max(1, round(settings.agent_login_lockout / 60))
            raise HTTPException(
                429,
                f"登录失败次数过多，请 {minutes} 分钟后再试。",
                headers={"Retry-After": str(int(settings.agent_login_lockout))},
            )
    session = accounts.login(body.username, body.password)
    if session is None:
        for key in keys:
            await failures.fail(key)
        raise HTTPException(401, WRONG_LOGIN)
    await failures.clear(keys[0])
    response.set_cookie(
        COOKIE_NAME,
        session.token,
        max_age=int(settings.agent_session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.agent_cookie_secure,
        path="/",
    )
    return Me(
        username=session.agent.username,
        is_admin=session.agent.is_admin,
        csrf_token=session.csrf_token,
    )


@router.get("/me")
def me(active: Annotated[ActiveSession, Depends(agent_session)]) -> Me:
    return Me(
        username=active.agent.username,
        is_admin=active.agent.is_admin,
        csrf_token=active.csrf_token,
    )


@router.post("/logout", status_code=204)
def logout(request: Request, accounts: Accounts) -> Response:
    accounts.logout(request.cookies[COOKIE_NAME])
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
