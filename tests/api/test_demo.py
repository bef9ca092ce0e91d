"""`kefu demo` (what `make demo` runs) starts the stack, reports ready, and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_starts_reports_urls_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {"KEFU_DATA_DIR": str(tmp_path), "KEFU_API_PORT": str(port)}
    log = tmp_path / "demo.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(PROJECT_ROOT / ".venv" / "bin" / "kefu"), "demo"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Kefu 已就绪" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        assert "Kefu 已就绪" in text, text
        assert f"http://127.0.0.1:{port}/healthz" in text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        assert (tmp_path / "index" / "CURRENT").exists()

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "Kefu 已停止" in log.read_text()
    # Nothing is left listening on the port.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
