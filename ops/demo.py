"""`make demo`: build what is stale, start every process under supervision, wait until
all of them answer, then print where to find them. Ctrl-C stops everything.

The console stays quiet: it shows one line per build step and per component, the
ready block (URLs, the demo password, where the logs are) and real problems (a
failed step, a crash and its restart, ERROR lines). Everything else (TensorFlow,
pkg_resources and faiss loader messages, Rasa's own log) goes to files under
``var/logs/`` that the ready block names.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ops.stack import ProcessSpec, RestartPolicy, Supervisor, stack_processes
from support.accounts.service import DEMO_AGENT
from support.settings import PROJECT_ROOT, Settings

READY_TIMEOUT_SECONDS = 240
# A crashed process is back within a second, then 2, 4, … at most 30 s apart; a
# minute of good health and the next crash starts over.
DEMO_RESTART_POLICY = RestartPolicy(initial=1.0, factor=2.0, cap=30.0, healthy_after=60.0)
BUILD_LOG = "demo.log"
# A build step: what it is called on the console, and what it runs.
Step = tuple[str, Callable[[], object]]


def demo_processes(settings: Settings) -> list[ProcessSpec]:
    """What `make demo` runs, under the supervisor: the action server, Rasa and the gateway."""
    return stack_processes(settings, gateway=True)


def logs_dir(settings: Settings) -> Path:
    return settings.data_dir / "logs"


def shown(path: Path) -> str:
    """A path as a person types it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so C++ libraries
    and child processes too) to ``log`` for the duration."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with (
        log.open("ab") as target,
        log.open("a", encoding="utf-8", buffering=1) as text,
        contextlib.redirect_stdout(text),  # Python's own writers, wherever they point
        contextlib.redirect_stderr(text),
    ):
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_steps(steps: Sequence[Step], console: Console, log: Path) -> bool:
    """Run the build steps with their output in ``log``; one console line each."""
    for name, action in steps:
        began = time.monotonic()
        try:
            with output_to(log):
                action()
        except _Stop:
            raise
        except (Exception, SystemExit) as exc:
            console.print(
                f"[red]✗ {name}失败：{escape(str(exc) or type(exc).__name__)}[/red]"
                f"（详见 {shown(log)}）"
            )
            return False
        console.print(f"✓ {name}（{time.monotonic() - began:.1f} 秒）")
    return True


def _wait_until_ready(
    supervisor: Supervisor, console: Console, started: float, stop: threading.Event
) -> bool:
    """One line per component as it becomes ready; False if one never does."""
    pending = list(supervisor.specs)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while pending and time.monotonic() < deadline and not stop.is_set():
        for spec in list(pending):
            if supervisor.is_ready(spec.name):
                pending.remove(spec)
                console.print(f"✓ {spec.label}已就绪（{time.monotonic() - started:.1f} 秒）")
        time.sleep(0.1)
    for spec in pending:
        console.print(
            f"[red]✗ {spec.label}没能启动，日志：{shown(supervisor.log(spec.name))}[/red]\n"
            + escape(supervisor.tail(spec.name, 1500))
        )
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


def ready_block(settings: Settings, password: str | None, seconds: float, logs: Path) -> str:
    base = f"http://{settings.api_host}:{settings.api_port}"
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
    return (
        f"\n[bold green]Kefu 已就绪[/bold green]（{seconds:.1f} 秒）\n"
        f"  网页聊天组件  {base}/   （演示页，右下角打开客服）\n"
        f"  微信公众号    {base}/wechat   {wechat}\n"
        f"  客服工作台    {base}/agent   {login}\n"
        f"  健康检查      {base}/healthz\n"
        f"  知识库查询    {base}/api/kb/query?q=充值一直没到账\n"
        f"  API 文档      {base}/docs   {docs}\n"
        f"  Rasa REST     {settings.rasa_url}/webhooks/rest/webhook\n"
        f"  日志          {shown(logs)}/"
        f"（构建：{BUILD_LOG}；各服务：rasa.log、actions.log、api.log）\n"
        "某个服务崩溃会自动重启，其余服务照常运行。按 Ctrl-C 停止。\n"
    )


def run_demo(
    settings: Settings,
    console: Console,
    started: float,
    steps: Sequence[Step] = (),
    *,
    processes: Sequence[ProcessSpec] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Build (``steps``), start ``processes`` (Kefu's by default) under supervision,
    print the ready block, and run until Ctrl-C, SIGTERM or ``stop``."""
    stop = stop or threading.Event()
    logs = logs_dir(settings)
    build_log = logs / BUILD_LOG
    logs.mkdir(parents=True, exist_ok=True)
    build_log.write_text("")
    if threading.current_thread() is threading.main_thread():
        # Handle both signals explicitly: a shell that starts us in the background leaves
        # SIGINT ignored, and then Ctrl-C semantics would silently not apply.
        signal.signal(signal.SIGINT, _raise_stop)
        signal.signal(signal.SIGTERM, _raise_stop)
    supervisor = Supervisor(
        processes if processes is not None else demo_processes(settings),
        logs,
        policy=DEMO_RESTART_POLICY,
        report=lambda line: console.print(f"[yellow]! {escape(line)}[/yellow]"),
        problems=True,
    )
    try:
        if not run_steps(steps, console, build_log):
            return 1
        supervisor.start()
        if not _wait_until_ready(supervisor, console, started, stop):
            return 0 if stop.is_set() else 1
        try:
            with output_to(build_log):  # the migration's log lines
                password = ensure_demo_agent(settings)
        except _Stop:
            raise
        except Exception as exc:
            console.print(
                f"[red]✗ 演示账号没能创建：{escape(str(exc))}（详见 {shown(build_log)}）[/red]"
            )
            return 1
        console.print(
            ready_block(settings, password, time.monotonic() - started, logs),
            soft_wrap=True,  # keep each address (and the password) on one line
        )
        while not stop.wait(0.5):
            pass
        return 0
    except _Stop:
        return 0
    finally:
        if threading.current_thread() is threading.main_thread():
            # A second Ctrl-C must not cut the shutdown short and leave processes behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop(timeout=30)
        console.print("Kefu 已停止。")
