"""Run Kefu's processes (action server, Rasa, gateway) under supervision.

The process API, reused by `make demo` (ops.demo), the tests and benchmarks
(`dialogue_stack`) and the scale-out setup: a stack is a list of `ProcessSpec`s
(command, environment, health check) handed to a `Supervisor`, which starts them,
restarts any that dies with exponential backoff (`RestartPolicy`) while the others
keep running, reports crashes and recoveries, and stops them all.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support.dialogue import rasa_is_ready, rasa_status_url
from support.settings import PROJECT_ROOT, Settings, get_settings

KEFU = PROJECT_ROOT / ".venv" / "bin" / "kefu"
UVICORN = PROJECT_ROOT / ".venv" / "bin" / "uvicorn"


@dataclass(frozen=True)
class RunningStack:
    settings: Settings
    rasa_ready_seconds: float
    logs: Path
    # Kills and restarts for the fault tests (tests/resilience).
    supervisor: Supervisor | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"


# Ports handed out by free_port: the system may offer a port again before the process
# it was meant for binds it, and two children then fight over one port (seen in CI).
_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port() -> int:
    """A TCP port nothing listens on right now, for a process started next; never one
    this process handed out before."""
    with _HANDED_OUT_LOCK:
        while True:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port


def isolated_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a stack of its own: a scratch data dir and free ports, but this
    machine's built KB index and converted models."""
    current = get_settings()
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "index_dir": current.index_dir,
        "models_dir": current.models_dir,
        "rasa_url": f"http://127.0.0.1:{free_port()}",
        "action_server_port": free_port(),
        "api_port": free_port(),
    }
    return Settings(**(values | overrides))


def settings_environment(settings: Settings) -> dict[str, str]:
    """The KEFU_* variables that reproduce ``settings`` in a child process."""
    values = {
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_INDEX_DIR": str(settings.index_dir),
        "KEFU_MODELS_DIR": str(settings.models_dir),
        "KEFU_ENCODER": settings.encoder,
        "KEFU_DATABASE_URL": settings.database_url,
        "KEFU_RASA_URL": settings.rasa_url,
        "KEFU_RASA_TOKEN": settings.rasa_token,
        "KEFU_RASA_WORKERS": str(settings.rasa_workers),
        "KEFU_RASA_TRACKER_URL": settings.rasa_tracker_url,
        "KEFU_ACTION_SERVER_PORT": str(settings.action_server_port),
        "KEFU_ACTION_SERVER_HOST": settings.action_server_host,
        "KEFU_ACTION_SERVER_TOKEN": settings.action_server_token,
        "KEFU_TIMEZONE": settings.timezone,
        "KEFU_API_HOST": settings.api_host,
        "KEFU_API_PORT": str(settings.api_port),
        "KEFU_WECHAT_TOKEN": settings.wechat_token,
        "KEFU_WECHAT_APP_ID": settings.wechat_app_id,
        "KEFU_WECHAT_APP_SECRET": settings.wechat_app_secret,
        "KEFU_WECHAT_AES_KEY": settings.wechat_aes_key,
        "KEFU_WECHAT_API_BASE": settings.wechat_api_base,
    }
    if settings.redis_url:
        values["KEFU_REDIS_URL"] = settings.redis_url
    return values


def answers(response: httpx.Response) -> bool:
    """Ready means a 200, for every process but Rasa (see support.dialogue.rasa_is_ready)."""
    return response.status_code == 200


# Supervision: the processes of a stack, each restarted with backoff when it dies.


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process of a stack: how to start it and how to tell it is ready."""

    # Short and file-safe: names the log file (<name>.log) and the process in the API.
    name: str
    # What a person reads on the console (「Rasa 服务器」).
    label: str
    command: list[str]
    # On top of os.environ.
    environment: dict[str, str]
    health_url: str | None = None
    ready: Callable[[httpx.Response], bool] = answers
    cwd: Path = PROJECT_ROOT


@dataclass(frozen=True)
class RestartPolicy:
    """Exponential backoff: ``initial`` seconds, then ``factor`` times longer, at most
    ``cap``; a process that ran ``healthy_after`` seconds before dying starts over."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    healthy_after: float = 60.0

    def delay(self, consecutive_failures: int) -> float:
        """Seconds to wait before the restart that follows this many failures in a row."""
        return min(self.cap, self.initial * self.factor ** max(0, consecutive_failures - 1))


# A line in a child's output that a person should see even in a quiet start.
PROBLEM_LINE = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b")
# ERROR lines known to be harmless: rasa_sdk looks for an optional tracing config
# (endpoints.yml in its working directory) and logs its absence as an error.
HARMLESS_LINE = re.compile(r"rasa_sdk\.tracing\.endpoints .*Failed to read endpoint configuration")
READY_PROBE_SECONDS = 0.25


@dataclass
class _Child:
    spec: ProcessSpec
    log: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restarts: int = 0
    restart_at: float | None = None
    ready: bool = False
    log_offset: int = 0
    partial_line: str = ""


class Supervisor:
    """Starts the processes of a stack, restarts any that dies, stops them all.

    A child that exits is started again after a delay from ``policy`` (None: never, so
    that a crash in a test shows); the others keep running. What a person should know
    (a crash, a restart, back to ready, with ``problems`` an ERROR line in a child's
    log) goes to ``report``; each child's own output goes to ``logs/<name>.log``.
    """

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        logs: Path,
        *,
        policy: RestartPolicy | None = None,
        report: Callable[[str], None] = lambda _line: None,
        problems: bool = False,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"进程名重复：{names}")
        self.logs = logs
        self._children = {spec.name: _Child(spec, logs / f"{spec.name}.log") for spec in specs}
        self._policy = policy
        self._report = report
        self._problems = problems
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None

    # Control

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for child in self._children.values():
                self._launch(child)
        self._monitor = threading.Thread(target=self._watch, name="kefu-supervisor", daemon=True)
        self._monitor.start()

    def stop(self, timeout: float = 20) -> None:
        """Stop every child (SIGTERM to its process group, then SIGKILL), last started first."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        with self._lock:
            for child in reversed(list(self._children.values())):
                if child.process is not None:
                    _stop(child.process, timeout)
            if self._problems:
                for child in self._children.values():
                    self._scan_log(child)

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the child's whole process group (a crash, for the fault tests)."""
        process = self.process(name)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, sig)

    # State

    @property
    def specs(self) -> list[ProcessSpec]:
        return [child.spec for child in self._children.values()]

    def process(self, name: str) -> subprocess.Popen[bytes] | None:
        """The child's current process (a new one after each restart)."""
        return self._children[name].process

    def restarts(self, name: str) -> int:
        return self._children[name].restarts

    def is_ready(self, name: str) -> bool:
        return self._children[name].ready

    def log(self, name: str) -> Path:
        return self._children[name].log

    def tail(self, name: str, characters: int = 3000) -> str:
        log = self.log(name)
        return log.read_text(errors="replace")[-characters:] if log.exists() else ""

    def wait_ready(self, timeout: float, names: Sequence[str] | None = None) -> None:
        """Until the named children (all by default) answer their health check.

        Raises RuntimeError when one exits and will not be restarted, TimeoutError when
        one is not ready in time; both name its log and show its end.
        """
        wanted = list(names or self._children)
        deadline = time.monotonic() + timeout
        while not all(self._children[name].ready for name in wanted):
            for name in wanted:
                process = self._children[name].process
                if self._policy is None and process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{name} 提前退出，日志：{self.log(name)}\n{self.tail(name)}"
                    )
            if time.monotonic() >= deadline:
                late = [name for name in wanted if not self._children[name].ready]
                raise TimeoutError(
                    f"{'、'.join(late)} 在 {timeout:.0f} 秒内没有就绪，日志：{self.logs}\n"
                    + "\n".join(self.tail(name) for name in late)
                )
            time.sleep(0.05)

    def wait_restarted(self, name: str, after: int, timeout: float) -> None:
        """Until ``name`` has been restarted more than ``after`` times and is ready again."""
        deadline = time.monotonic() + timeout
        while not (self._children[name].restarts > after and self._children[name].ready):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{name} 在 {timeout:.0f} 秒内没有重启就绪\n{self.tail(name)}")
            time.sleep(0.05)

    # The monitor thread

    def _launch(self, child: _Child) -> None:
        environment = os.environ | child.spec.environment
        child.process = _start(child.spec.command, environment, child.log, cwd=child.spec.cwd)
        child.started_at = time.monotonic()
        child.ready = False
        child.restart_at = None

    def _watch(self) -> None:
        last_probe = 0.0
        with httpx.Client(timeout=2) as client:
            while not self._stopping.wait(0.05):
                now = time.monotonic()
                with self._lock:
                    for child in self._children.values():
                        self._check(child, now)
                        if self._problems:
                            self._scan_log(child)
                if now - last_probe >= READY_PROBE_SECONDS:
                    last_probe = now
                    self._probe(client)

    def _check(self, child: _Child, now: float) -> None:
        process = child.process
        if process is None or self._stopping.is_set() or self._policy is None:
            return
        if process.poll() is None:
            if child.failures and now - child.started_at >= self._policy.healthy_after:
                child.failures = 0  # healthy for a while: the next crash starts over
            return
        if child.restart_at is None:
            if now - child.started_at >= self._policy.healthy_after:
                child.failures = 0
            child.failures += 1
            delay = self._policy.delay(child.failures)
            child.restart_at = now + delay
            child.ready = False
            self._report(
                f"{child.spec.label}意外退出（{_exit_reason(process.returncode)}），"
                f"{delay:g} 秒后自动重启；日志：{child.log}"
            )
        elif now >= child.restart_at:
            child.restarts += 1
            if self._problems:
                self._scan_log(child)  # the old process's last words, before the new log
            self._launch(child)
            child.log_offset = 0
            self._report(f"{child.spec.label}正在重启（第 {child.restarts} 次）")

    def _probe(self, client: httpx.Client) -> None:
        for child in list(self._children.values()):
            process = child.process
            if child.ready or process is None or process.poll() is not None:
                continue
            if child.spec.health_url is not None:
                try:
                    if not child.spec.ready(client.get(child.spec.health_url)):
                        continue
                except httpx.HTTPError:
                    continue
            child.ready = True
            if child.restarts:
                self._report(f"{child.spec.label}已恢复")

    def _scan_log(self, child: _Child) -> None:
        """Pass on new ERROR lines from the child's log (a quiet console still shows them)."""
        try:
            with child.log.open("rb") as log:
                log.seek(child.log_offset)
                chunk = log.read()
        except FileNotFoundError:
            return
        if not chunk:
            return
        child.log_offset += len(chunk)
        *lines, child.partial_line = (child.partial_line + chunk.decode(errors="replace")).split(
            "\n"
        )
        for line in lines:
            if PROBLEM_LINE.search(line) and not HARMLESS_LINE.search(line):
                self._report(f"{child.spec.label}：{line.strip()[:300]}")


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"信号 {signal.Signals(-code).name}"
        except ValueError:
            return f"信号 {-code}"
    return f"退出码 {code}"


def _start(
    command: list[str], environment: dict[str, str], log: Path, *, cwd: Path = PROJECT_ROOT
) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=cwd,
            # A process group of its own: a stop or a kill reaches its children too.
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            process.wait()


# The processes of Kefu's stack


def reachable(host: str) -> str:
    """Where to reach a server listening on ``host`` from this machine."""
    return "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host


def actions_process(settings: Settings, environment: dict[str, str]) -> ProcessSpec:
    return ProcessSpec(
        "actions",
        "动作服务器",
        [str(KEFU), "actions", "run"],
        environment,
        f"http://{reachable(settings.action_server_host)}:{settings.action_server_port}/health",
    )


def rasa_process(settings: Settings, environment: dict[str, str]) -> ProcessSpec:
    return ProcessSpec(
        "rasa",
        "Rasa 服务器",
        [str(KEFU), "rasa", "run"],
        environment,
        rasa_status_url(settings),
        rasa_is_ready,
    )


def gateway_process(
    settings: Settings, environment: dict[str, str], *, name: str = "api", port: int | None = None
) -> ProcessSpec:
    """The gateway (uvicorn) on ``port`` (the settings' by default)."""
    port = port or settings.api_port
    return ProcessSpec(
        name,
        "API 网关与知识库",
        [
            str(UVICORN),
            "--factory",
            "api.main:create_app",
            "--host",
            settings.api_host,
            "--port",
            str(port),
            "--no-access-log",
        ],
        environment | {"KEFU_API_PORT": str(port)},
        f"http://{reachable(settings.api_host)}:{port}/healthz",
    )


def stack_processes(settings: Settings, *, gateway: bool = False) -> list[ProcessSpec]:
    """The action server and Rasa (and the gateway), configured by ``settings``."""
    environment = settings_environment(settings) | {"PYTHONUNBUFFERED": "1"}
    specs = [actions_process(settings, environment), rasa_process(settings, environment)]
    if gateway:
        specs.append(gateway_process(settings, environment))
    return specs


@contextmanager
def dialogue_stack(
    settings: Settings,
    logs: Path,
    timeout: float = 180,
    *,
    gateway: bool = False,
    policy: RestartPolicy | None = None,
) -> Iterator[RunningStack]:
    """Action server and Rasa (and the gateway, if asked) running with ``settings``.

    The Rasa model must be trained and the KB index built. With a ``policy`` a crashed
    process is restarted (the fault tests); without one a crash fails the wait.
    """
    supervisor = Supervisor(stack_processes(settings, gateway=gateway), logs, policy=policy)
    started = time.monotonic()
    supervisor.start()
    try:
        supervisor.wait_ready(timeout, ["rasa"])
        ready = time.monotonic() - started
        supervisor.wait_ready(timeout)
        yield RunningStack(settings, ready, logs, supervisor)
    finally:
        supervisor.stop()
