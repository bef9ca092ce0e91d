"""`kefu demo` (what `make demo` runs) starts the stack, reports ready, and stops on Ctrl-C.

Quietly: the console has the build steps, one line per component and the ready block;
TensorFlow's, pkg_resources' and faiss's start-up messages and Rasa's log are in the
files under the data directory's logs/ that the ready block names. (The same output
path with fake noisy processes, and crash restarts: tests/resilience.)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from kb.index import set_current
from kb.pipeline import BuildOutcome
from ops.demo import ensure_demo_agent
from ops.stack import free_port
from support.dialogue import rest_channel_headers
from support.settings import Settings
from tests.conftest import PROJECT_ROOT


def test_demo_starts_reports_urls_and_stops_cleanly(
    tmp_path: Path, default_build: BuildOutcome, trained_model: str
) -> None:
    # The demo's own build is tests/kb's (the same FAQ, encoder and dev split, so the same
    # build id): the demo finds it and reuses it, as a second `make demo` does.
    index = tmp_path / "index"
    index.mkdir()
    copy = Path(shutil.copytree(default_build.directory, index / default_build.directory.name))
    set_current(index, copy)
    port, rasa_port, actions_port = free_port(), free_port(), free_port()
    env = os.environ | {
        "KEFU_DATA_DIR": str(tmp_path),
        "KEFU_API_PORT": str(port),
        "KEFU_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "KEFU_ACTION_SERVER_PORT": str(actions_port),
    }
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
        deadline = time.monotonic() + 420
        while "Kefu 已就绪" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        assert "Kefu 已就绪" in text, text
        assert f"http://127.0.0.1:{port}/healthz" in text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        # The copy was reused, not built again beside it.
        assert [path.name for path in index.iterdir() if path.is_dir()] == [copy.name]
        turn = httpx.post(
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            json={"sender": "demo-test", "message": "怎么注销账户"},
            headers=rest_channel_headers(Settings().rasa_token),
            timeout=60,
        ).json()
        assert turn[-1]["text"] == "这个回答解决您的问题了吗？"
        # The demo agent's password is printed once, and it opens the console.
        printed = re.search(r"/agent\s+用户 demo\s+密码 (\S+)（只显示这一次", text)
        assert printed, text
        # Quiet: none of the libraries' start-up noise, and the logs are named.
        for noise in ("tensorflow", "pkg_resources", "faiss", "DeprecationWarning", "Sanic"):
            assert noise.lower() not in text.lower(), text
        assert f"日志          {tmp_path / 'logs'}/" in text
        assert (tmp_path / "logs" / "rasa.log").stat().st_size > 0
        assert len([line for line in text.splitlines() if line.strip()]) < 25, text
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/agent/login",
            json={"username": "demo", "password": printed.group(1)},
        )
        assert login.status_code == 200
        assert login.json()["is_admin"] is True

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            # Each service runs in a process group of its own: ask the demo to stop them
            # all (as Ctrl-C would) before killing, or a failed run leaves them running.
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    assert "Kefu 已停止" in log.read_text()
    assert ensure_demo_agent(Settings(data_dir=tmp_path)) is None  # never printed twice
    # Nothing is left listening on any of the ports.
    for used in (port, rasa_port, actions_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", used)) != 0
