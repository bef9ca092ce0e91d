"""Login and logout. Thin: accounts in AccountService, throttling in the FailureCounter."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, HTTPException, Request, Response

from api.console.auth.schemas import LoginIn, Me
from api.console.deps import COOKIE_NAME, CurrentSession, agent_router
from api.core.abuse import client_address
from api.core.deps import AccountsDep, LoginFailuresDep, SettingsDep
from support.errors import RateLimitedError

# Login is the one /api/agent route open without a session.
login_router = APIRouter(prefix="/api/agent", tags=["agent"])
router = agent_router(tags=["agent"])

WRONG_LOGIN = "用户名或密码错误。"
# argon2 takes tens of milliseconds of CPU and 64 MiB per check, by design. Checked in
# threads of their own (argon2 releases the GIL), two at a time: a burst of logins neither
# stalls the event loop nor takes the few threads of the default executor, which /healthz
# and other requests need.
PASSWORD_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kefu-password")


@login_router.post("/login")
async def login(
    *,
    body: LoginIn,
    request: Request,
    response: Response,
    accounts: AccountsDep,
    settings: SettingsDep,
    failures: LoginFailuresDep,
) -> Me:
    # Locked per username (guessing one account) and per address (trying many).
    keys = [f"user:{body.username.lower()}", f"ip:{client_address(request)}"]
    for key in keys:
        if await failures.locked(key):
            minutes = max(1, round(settings.agent_login_lockout / 60))
            raise RateLimitedError(
                f"登录失败次数过多，请 {minutes} 分钟后再试。",
                headers={"Retry-After": str(int(settings.agent_login_lockout))},
            )
    session = await asyncio.get_running_loop().run_in_executor(
        PASSWORD_CHECKS, accounts.login, body.username, body.password
    )
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
        secure=settings.cookie_secure,
        path="/",
    )
    return Me.model_validate(session)


@router.get("/me")
def me(active: CurrentSession) -> Me:
    return Me.model_validate(active)


@router.post("/logout", status_code=204)
def logout(request: Request, accounts: AccountsDep, settings: SettingsDep) -> Response:
    accounts.logout(request.cookies[COOKIE_NAME])
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=settings.cookie_secure
    )
    return response
