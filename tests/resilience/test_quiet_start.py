"""`make demo`'s console: build steps, component lines, the ready block, real problems.

Runs the demo's own output path (ops.demo.run_demo) with fake noisy processes and a
noisy build step: the start-up noise of TensorFlow, pkg_resources and faiss must land
in the log files under the data directory, and never on the console.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from rich.console import Console

from ops.demo import run_demo
from ops.stack import free_port
from support.settings import Settings
from tests.resilience.fake_child import HARMLESS_ERROR, NOISE
from tests.resilience.test_supervisor import fake

# What the console may show, line by line: nothing else.
ALLOWED = [
    r"✓ .+（\d+\.\d 秒）",
    r"! .+",
    r"Kefu 已就绪（\d+\.\d 秒）",
    r"  (网页聊天组件|微信公众号|客服工作台|健康检查|知识库查询|API 文档|Rasa REST|日志) .+",
    r"某个服务崩溃会自动重启，其余服务照常运行。按 Ctrl-C 停止。",
    r"Kefu 已停止。",
]


def noisy_step() -> None:
    """Like `kefu kb build` / `rasa train`: Python, C and child processes all print."""
    print(NOISE[0])
    print(NOISE[1], file=sys.stderr)
    os.write(2, (NOISE[2] + "\n").encode())
    subprocess.run([sys.executable, "-c", f"print({NOISE[0]!r})"], check=True)


def test_the_console_shows_only_components_the_ready_block_and_problems(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_port=free_port())
    output = io.StringIO()
    console = Console(file=output, width=300, color_system=None)
    stop = threading.Event()
    result: list[int] = []
    processes = [fake("rasa"), fake("actions", "--error"), fake("api")]
    demo = threading.Thread(
        target=lambda: result.append(
            run_demo(
                settings,
                console,
                time.monotonic(),
                [("知识库索引", noisy_step), ("Rasa 模型", noisy_step)],
                processes=processes,
                stop=stop,
            )
        )
    )
    demo.start()
    try:
        deadline = time.monotonic() + 60
        while "Kefu 已就绪" not in output.getvalue() and time.monotonic() < deadline:
            assert demo.is_alive(), output.getvalue()
            time.sleep(0.1)
        assert "Kefu 已就绪" in output.getvalue(), output.getvalue()
    finally:
        stop.set()
        demo.join(timeout=60)
    assert result == [0]
    console_text = output.getvalue()
    lines = [line for line in console_text.splitlines() if line.strip()]
    for line in lines:
        assert any(re.fullmatch(pattern, line) for pattern in ALLOWED), line
    # One line per build step (in order) and per component (in the order they became
    # ready, which the scheduler decides), the password once, the log directory named.
    ticks = [line.split("（")[0] for line in lines if line.startswith("✓")]
    assert ticks[:2] == ["✓ 知识库索引", "✓ Rasa 模型"]
    assert sorted(ticks[2:]) == sorted(
        ["✓ 假服务 rasa已就绪", "✓ 假服务 actions已就绪", "✓ 假服务 api已就绪"]
    )
    assert re.search(r"用户 demo  密码 \S+（只显示这一次", console_text)
    assert f"日志          {tmp_path / 'logs'}/" in console_text
    # A real problem is shown: the ERROR line of a child's log.
    assert any(line.startswith("! 假服务 actions：") and "数据库连接失败" in line for line in lines)
    # The noise went to the logs, not the console (a known harmless ERROR line too).
    assert "endpoint configuration" not in console_text
    assert HARMLESS_ERROR in (tmp_path / "logs" / "actions.log").read_text()
    for noise in NOISE:
        assert noise not in console_text
    build_log = (tmp_path / "logs" / "demo.log").read_text()
    assert all(noise in build_log for noise in NOISE)
    assert NOISE[0] in (tmp_path / "logs" / "rasa.log").read_text()
