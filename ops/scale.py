"""`make scale-demo`: Kefu scaled out on one machine, the way a site runs it on several.

Two gateways behind nginx (Debian's package, with a config generated from
deploy/nginx/kefu.conf.template into the data directory), two Rasa servers and two
action servers, each pair behind its own nginx port, on one PostgreSQL database and one
Redis database. What the replicas share lives there: conversations, tickets and
escalations in PostgreSQL; Rasa's trackers and locks, rate limits, WeChat
de-duplication and the pub/sub fan-out of live events in Redis. The KB index directory
is a shared path: every process follows its CURRENT pointer (kb.follow).

The processes are ops.stack's process specs run by its Supervisor (which restarts a
replica that dies in the demo), so tests/scale and bench/load_bench.py run exactly what
`make scale-demo` runs.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ops.stack import (
    ProcessSpec,
    RestartPolicy,
    Supervisor,
    actions_process,
    free_port,
    gateway_process,
    rasa_process,
    settings_environment,
)
from support.settings import PROJECT_ROOT, Settings, get_settings

NGINX = Path("/usr/sbin/nginx")
NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "kefu.conf.template"
# A database and a Redis db number of their own, so the scale-out demo never mixes with
# `make demo`'s SQLite or the tests' Redis db 15.
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/kefu_scale"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
DEFAULT_PUBLIC_PORT = 8080
READY_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class ScaleLayout:
    """The ports of one scale-out stack: nginx's three, and each replica's own."""

    public_port: int
    rasa_port: int
    actions_port: int
    gateway_ports: tuple[int, ...]
    rasa_ports: tuple[int, ...]
    action_ports: tuple[int, ...]

    @classmethod
    def on_free_ports(cls, replicas: int = 2, public_port: int | None = None) -> ScaleLayout:
        def ports() -> tuple[int, ...]:
            return tuple(free_port() for _ in range(replicas))

        return cls(
            public_port=public_port or free_port(),
            rasa_port=free_port(),
            actions_port=free_port(),
            gateway_ports=ports(),
            rasa_ports=ports(),
            action_ports=ports(),
        )


@dataclass
class RunningScale:
    settings: Settings
    layout: ScaleLayout
    logs: Path
    # Children named "gateway-1", "rasa-2", "actions-1", "nginx".
    supervisor: Supervisor

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.public_port}"

    @property
    def gateway_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.layout.gateway_ports]

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.layout.rasa_ports]

    @property
    def action_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.layout.action_ports]

    def pids(self) -> dict[str, int]:
        """Each child's current process id (a new one after a restart)."""
        found = {}
        for spec in self.supervisor.specs:
            process = self.supervisor.process(spec.name)
            if process is not None:
                found[spec.name] = process.pid
        return found


def scale_settings(
    data_dir: Path,
    layout: ScaleLayout,
    *,
    database_url: str,
    redis_url: str,
    **overrides: Any,
) -> Settings:
    """The settings every replica shares; each process then gets its own port on top.

    Rasa and the action server are reached through nginx (``rasa_url``,
    ``action_server_port``), so a gateway or a Rasa server never names one replica.
    """
    current = get_settings()
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "index_dir": current.index_dir,
        "models_dir": current.models_dir,
        "database_url": database_url,
        "redis_url": redis_url,
        # Trackers in Redis next to the locks: the fastest store Rasa has (ops.rasa).
        "rasa_tracker_url": redis_url,
        # Replicas, not Sanic workers: one worker per Rasa server.
        "rasa_workers": 1,
        "rasa_url": f"http://127.0.0.1:{layout.rasa_port}",
        "action_server_port": layout.actions_port,
        "api_port": layout.public_port,
        # Only nginx's X-Forwarded-For is believed (api.core.abuse).
        "trusted_proxies": "127.0.0.1",
    }
    return Settings(**(values | overrides))


def render_nginx_config(layout: ScaleLayout, prefix: Path) -> str:
    """deploy/nginx/kefu.conf.template with this stack's addresses and directories."""

    def servers(ports: tuple[int, ...]) -> str:
        return "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in ports)

    values = {
        "PREFIX": str(prefix),
        "GATEWAY_LISTEN": f"127.0.0.1:{layout.public_port}",
        "RASA_LISTEN": f"127.0.0.1:{layout.rasa_port}",
        "ACTIONS_LISTEN": f"127.0.0.1:{layout.actions_port}",
        "GATEWAY_SERVERS": servers(layout.gateway_ports),
        "RASA_SERVERS": servers(layout.rasa_ports),
        "ACTION_SERVERS": servers(layout.action_ports),
    }
    config = NGINX_TEMPLATE.read_text("utf-8")
    for name, value in values.items():
        config = config.replace(f"@{name}@", value)
    if leftover := re.search(r"@[A-Z_]+@", config):
        raise ValueError(f"nginx 配置模板里有没替换的占位符 {leftover.group()}")
    return config


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names if it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            )
            if not exists:
                # A name from our own settings, quoted as an identifier.
                quoted = parsed.database.replace('"', '""')
                connection.execute(text(f'CREATE DATABASE "{quoted}"'))
    finally:
        admin.dispose()


def scale_processes(
    settings: Settings, layout: ScaleLayout, environment: Mapping[str, str]
) -> list[ProcessSpec]:
    """Every replica and nginx, as ops.stack's process specs (one port each)."""
    shared = (
        settings_environment(settings)
        | {"KEFU_TRUSTED_PROXIES": settings.trusted_proxies, "PYTHONUNBUFFERED": "1"}
        | dict(environment)
    )
    specs = []
    for number, port in enumerate(layout.action_ports, 1):
        own = settings.model_copy(update={"action_server_port": port})
        spec = actions_process(own, shared | {"KEFU_ACTION_SERVER_PORT": str(port)})
        specs.append(replace(spec, name=f"actions-{number}", label=f"动作服务器 {number}"))
    for number, port in enumerate(layout.rasa_ports, 1):
        own = settings.model_copy(update={"rasa_url": f"http://127.0.0.1:{port}"})
        spec = rasa_process(own, shared | {"KEFU_RASA_URL": own.rasa_url})
        specs.append(replace(spec, name=f"rasa-{number}", label=f"Rasa 服务器 {number}"))
    for number, port in enumerate(layout.gateway_ports, 1):
        spec = gateway_process(settings, shared, name=f"gateway-{number}", port=port)
        specs.append(replace(spec, label=f"API 网关 {number}"))
    prefix = settings.data_dir / "scale"
    specs.append(
        ProcessSpec(
            "nginx",
            "nginx 负载均衡",
            [str(NGINX), "-p", str(prefix), "-c", "nginx.conf", "-g", "daemon off;"],
            shared,
            f"http://127.0.0.1:{layout.public_port}/healthz",
        )
    )
    return specs


def write_nginx_config(settings: Settings, layout: ScaleLayout) -> Path:
    """The generated config, under the data directory (with nginx's scratch directories)."""
    prefix = settings.data_dir / "scale"
    for temporary in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / temporary).mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(render_nginx_config(layout, prefix), "utf-8")
    return config


@contextmanager
def scale_stack(
    settings: Settings,
    layout: ScaleLayout,
    logs: Path,
    *,
    environment: Mapping[str, str] | None = None,
    timeout: float = READY_TIMEOUT_SECONDS,
    policy: RestartPolicy | None = None,
    report: Callable[[str], None] = lambda _line: None,
) -> Iterator[RunningScale]:
    """Every replica and nginx running with ``settings``; stopped again on exit.

    The Rasa model must be trained and the KB index built. ``environment`` adds
    variables for every process (tests point at a scratch FAQ). With a ``policy`` a
    crashed replica is restarted (the demo); without one a crash fails the wait (tests).
    """
    from support.storage import migrate

    if not NGINX.exists():
        raise RuntimeError("找不到 nginx：请运行 scripts/setup.sh system（安装 Debian 的 nginx）")
    # Once, before any replica starts: two processes migrating one database would race.
    ensure_database(settings.database_url)
    migrate(settings.database_url)
    write_nginx_config(settings, layout)
    supervisor = Supervisor(
        scale_processes(settings, layout, environment or {}), logs, policy=policy, report=report
    )
    supervisor.start()
    try:
        supervisor.wait_ready(timeout)
        yield RunningScale(settings, layout, logs, supervisor)
    finally:
        supervisor.stop()


@dataclass(frozen=True)
class ProcessMemory:
    """A process with its children (Sanic's worker, for instance)."""

    processes: int
    rss_mib: float
    pss_mib: float


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _rollup(pid: int) -> tuple[float, float]:
    """RSS and PSS in KiB (PSS splits pages shared with other processes between them)."""
    rss = pss = 0.0
    for line in (Path("/proc") / str(pid) / "smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "Rss":
            rss = float(value.split()[0])
        elif key == "Pss":
            pss = float(value.split()[0])
    return rss, pss


def process_memory(pids: Mapping[str, int]) -> dict[str, ProcessMemory]:
    """Memory of each named process tree, measured now from /proc."""
    children = _children()
    measured = {}
    for name, root in pids.items():
        pending, count, rss, pss = [root], 0, 0.0, 0.0
        while pending:
            pid = pending.pop()
            try:
                own_rss, own_pss = _rollup(pid)
            except OSError:
                continue
            count += 1
            rss, pss = rss + own_rss, pss + own_pss
            pending.extend(children.get(pid, []))
        measured[name] = ProcessMemory(count, rss / 1024, pss / 1024)
    return measured


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signum)


def run_scale_demo(
    console: Console,
    *,
    database_url: str = DEFAULT_DATABASE_URL,
    redis_url: str = DEFAULT_REDIS_URL,
    public_port: int = DEFAULT_PUBLIC_PORT,
) -> int:
    """Start the scale-out stack, print where everything is and what each process
    weighs, and keep it running until Ctrl-C."""
    from ops.demo import ensure_demo_agent

    started = time.monotonic()
    current = get_settings()
    layout = ScaleLayout.on_free_ports(public_port=public_port)
    settings = scale_settings(
        current.data_dir, layout, database_url=database_url, redis_url=redis_url
    )
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    logs = current.data_dir / "logs" / "scale"
    try:
        with scale_stack(
            settings, layout, logs, policy=RestartPolicy(), report=console.print
        ) as running:
            password = ensure_demo_agent(settings)
            login = (
                f"用户 demo  密码 [bold]{password}[/bold]（只显示这一次，请记下）"
                if password
                else "用户 demo（忘了密码可运行 "
                f"`KEFU_DATABASE_URL={database_url} .venv/bin/kefu agent add demo --update`）"
            )
            nginx_port = layout.actions_port
            console.print(
                f"\n[bold green]Kefu 横向扩展演示已就绪[/bold green]"
                f"（{time.monotonic() - started:.1f} 秒）\n"
                f"  入口（nginx）  {running.public_url}/   客服工作台 {running.public_url}/agent\n"
                f"  坐席登录       {login}\n"
                f"  网关副本       {'  '.join(running.gateway_urls)}\n"
                f"  Rasa 副本      {'  '.join(running.rasa_urls)}"
                f"（经 nginx：{settings.rasa_url}）\n"
                f"  动作服务器副本 {'  '.join(running.action_urls)}"
                f"（经 nginx：http://127.0.0.1:{nginx_port}）\n"
                f"  PostgreSQL     {make_url(database_url).render_as_string(hide_password=True)}\n"
                f"  Redis          {redis_url}\n"
                f"  nginx 配置     {settings.data_dir / 'scale' / 'nginx.conf'}\n"
                f"  日志           {logs}\n",
                soft_wrap=True,
            )
            console.print("各进程的内存（含子进程）：")
            for name, memory in process_memory(running.pids()).items():
                console.print(
                    f"  {name:<10} RSS {memory.rss_mib:6.0f} MiB   PSS {memory.pss_mib:6.0f} MiB"
                )
            console.print("进程意外退出会自动重启。按 Ctrl-C 停止。")
            while True:
                time.sleep(1)
    except _Stop:
        console.print("横向扩展演示已停止。")
        return 0
