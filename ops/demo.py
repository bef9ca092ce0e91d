"""`make demo`: build what is stale, start every process in the Procfile, wait until
all of them answer, then print where to find them. Ctrl-C stops everything."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from ops.stack import answers
from support.accounts.service import DEMO_AGENT
from support.dialogue import rasa_is_ready, rasa_status_url
from support.settings import PROJECT_ROOT, Settings

READY_TIMEOUT_SECONDS = 240


@dataclass(frozen=True)
class Service:
    name: str
    health_url: str
    ready: Callable[[httpx.Response], bool] = answers


def _services(settings: Settings) -> list[Service]:
    base = f"http://{settings.api_host}:{settings.api_port}"
    return [
        Service("Rasa 服务器", rasa_status_url(settings), rasa_is_ready),
        Service("动作服务器", f"http://127.0.0.1:{settings.action_server_port}/health"),
        Service("API 网关与知识库", f"{base}/healthz"),
    ]


def _wait_until_ready(services: list[Service], process: subprocess.Popen[bytes]) -> bool:
    pending = list(services)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with httpx.Client(timeout=2) as client:
        while pending and time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            for service in list(pending):
                try:
                    if service.ready(client.get(service.health_url)):
                        pending.remove(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
    return not pending


class _Stop(Exception):
    """Raised by the signal handler: Ctrl-C or a SIGTERM from a process manager."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signum)


def ensure_demo_agent(settings: Settings) -> str | None:
    """Create the console's demo agent (an admin) on first run; its password, once.

    The password is random and never stored in the clear, so later runs cannot show it
    again: they return None, and `kefu agent add demo --update` sets a new one.
    Never in production, where a password printed to a terminal (and its logs) is no
    secret: the gateway refuses to start while the demo agent exists.
    """
    from support.accounts.service import AccountService
    from support.storage import migrate, session_factory

    if settings.production:
        return None
    migrate(settings.database_url)
    accounts = AccountService(session_factory(settings.database_url))
    if accounts.get(DEMO_AGENT) is not None:
        return None
    password = secrets.token_urlsafe(12)
    accounts.add(DEMO_AGENT, password, admin=True)
    return password


def run_demo(settings: Settings, console: Console, started: float) -> int:
    env = os.environ | {
        "KEFU_API_HOST": settings.api_host,
        "KEFU_API_PORT": str(settings.api_port),
        "PYTHONUNBUFFERED": "1",
    }
    honcho = Path(sys.executable).parent / "honcho"
    # Handle both signals explicitly: a shell that starts us in the background leaves
    # SIGINT ignored, and then Ctrl-C semantics would silently not apply.
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    process = subprocess.Popen(
        [str(honcho), "start", "-f", str(PROJECT_ROOT / "Procfile"), "-d", str(PROJECT_ROOT)],
        env=env,
        cwd=PROJECT_ROOT,
    )
    try:
        if not _wait_until_ready(_services(settings), process):
            console.print("[red]有服务没能启动，请查看上面的日志。[/red]")
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
            return 1
        base = f"http://{settings.api_host}:{settings.api_port}"
        password = ensure_demo_agent(settings)
        if settings.production:
            login = "生产环境不创建演示账号：用 `.venv/bin/kefu agent add <用户名>` 添加坐席"
        elif password:
            login = f"用户 {DEMO_AGENT}  密码 [bold]{password}[/bold]（只显示这一次，请记下）"
        else:
            login = (
                f"用户 {DEMO_AGENT}（密码在第一次启动时显示过；"
                f"忘了可运行 `.venv/bin/kefu agent add {DEMO_AGENT} --update` 重设）"
            )
        docs = "（生产环境不提供）" if settings.production else ""
        wechat = "" if settings.wechat_token else "（设置 KEFU_WECHAT_TOKEN 后启用）"
        console.print(
            f"\n[bold green]Kefu 已就绪[/bold green]（{time.monotonic() - started:.1f} 秒）\n"
            f"  网页聊天组件  {base}/   （演示页，右下角打开客服）\n"
            f"  微信公众号    {base}/wechat   {wechat}\n"
            f"  客服工作台    {base}/agent   {login}\n"
            f"  健康检查      {base}/healthz\n"
            f"  知识库查询    {base}/api/kb/query?q=充值一直没到账\n"
            f"  API 文档      {base}/docs   {docs}\n"
            f"  Rasa REST     {settings.rasa_url}/webhooks/rest/webhook\n"
            "按 Ctrl-C 停止。\n",
            soft_wrap=True,  # keep each address (and the password) on one line
        )
        return process.wait()
    except _Stop:
        # honcho forwards the interrupt to every process and waits for them.
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        console.print("Kefu 已停止。")
        return 0
