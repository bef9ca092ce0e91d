"""Start Kefu's dialogue processes (action server, Rasa) for tests and benchmarks.

`make demo` runs the same commands through honcho and the Procfile; this module runs
them as child processes with a given configuration, waits until they are ready, and
stops them again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
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

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"


def free_port() -> int:
    """A TCP port nothing listens on right now, for a process started next."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _wait(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    ready: Callable[[httpx.Response], bool] = answers,
) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"进程提前退出，日志：{log}\n{log.read_text()[-3000:]}")
            try:
                if ready(client.get(url)):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    raise TimeoutError(f"{url} 在 {timeout:.0f} 秒内没有就绪，日志：{log}")


def _start(command: list[str], environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def dialogue_stack(
    settings: Settings, logs: Path, timeout: float = 180, *, gateway: bool = False
) -> Iterator[RunningStack]:
    """Action server and Rasa (and the gateway, if asked) running with ``settings``.

    The Rasa model must be trained and the KB index built.
    """
    logs.mkdir(parents=True, exist_ok=True)
    environment = os.environ | settings_environment(settings)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        actions = _start([str(KEFU), "actions", "run"], environment, logs / "actions.log")
        processes.append(actions)
        started = time.monotonic()
        rasa = _start([str(KEFU), "rasa", "run"], environment, logs / "rasa.log")
        processes.append(rasa)
        if gateway:
            api = _start(
                [
                    str(UVICORN),
                    "--factory",
                    "api.main:create_app",
                    "--host",
                    settings.api_host,
                    "--port",
                    str(settings.api_port),
                    "--no-access-log",
                ],
                environment,
                logs / "api.log",
            )
            processes.append(api)
        _wait(
            f"http://127.0.0.1:{settings.action_server_port}/health",
            actions,
            logs / "actions.log",
            timeout,
        )
        _wait(rasa_status_url(settings), rasa, logs / "rasa.log", timeout, rasa_is_ready)
        ready = time.monotonic() - started
        if gateway:
            _wait(
                f"http://{settings.api_host}:{settings.api_port}/healthz",
                api,
                logs / "api.log",
                timeout,
            )
        yield RunningStack(settings, ready, logs)
    finally:
        for process in reversed(processes):
            _stop(process)
