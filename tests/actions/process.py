"""The action server as `kefu actions run` starts it, in a process of its own."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ops.stack import KEFU, free_port
from support.storage import migrate
from tests.conftest import PROJECT_ROOT

SECRET = "a-deployment-secret-0123456789"


@dataclass(frozen=True)
class RunningActionServer:
    url: str
    port: int
    database_url: str
    log: Path


@contextmanager
def running_action_server(
    data: Path, extra_environment: dict[str, str] | None = None
) -> Iterator[RunningActionServer]:
    """Start it on a fresh SQLite database in ``data`` (no KB: the warm-up gives up at once)."""
    database_url = f"sqlite:///{data / 'kefu.db'}"
    migrate(database_url)
    port = free_port()
    environment = (
        {key: value for key, value in os.environ.items() if not key.startswith("KEFU_")}
        | {
            "KEFU_DATA_DIR": str(data),
            "KEFU_DATABASE_URL": database_url,
            "KEFU_INDEX_DIR": str(data / "index"),
            "KEFU_ACTION_SERVER_PORT": str(port),
            "KEFU_ACTION_SERVER_TOKEN": SECRET,
        }
        | (extra_environment or {})
    )
    log = data / "actions.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(KEFU), "actions", "run"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        else:
            pytest.fail(f"动作服务器没有就绪：{log.read_text()[-3000:]}")
        yield RunningActionServer(url, port, database_url, log)
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
