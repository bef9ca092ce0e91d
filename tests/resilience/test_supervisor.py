"""The supervisor behind `make demo` and the scale-out stack, with fake processes.

A crashed child comes back after a backoff that doubles up to a cap and starts over
after a healthy period; the other children keep running, untouched.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from ops.stack import ProcessSpec, RestartPolicy, Supervisor, free_port

FAKE_CHILD = Path(__file__).with_name("fake_child.py")


def fake(name: str, *extra: str, port: int | None = None) -> ProcessSpec:
    port = port or free_port()
    return ProcessSpec(
        name,
        f"假服务 {name}",
        [sys.executable, str(FAKE_CHILD), str(port), *extra],
        {},
        f"http://127.0.0.1:{port}/health",
    )


def crashing(name: str) -> ProcessSpec:
    """A child that dies right after it starts, every time."""
    return ProcessSpec(
        name, f"崩溃的服务 {name}", [sys.executable, "-c", "raise SystemExit(3)"], {}
    )


class Reports:
    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append((time.monotonic(), line))

    def times(self, fragment: str) -> list[float]:
        with self._lock:
            return [at for at, line in self.lines if fragment in line]


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RestartPolicy(initial=1, factor=2, cap=30)
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_killed_child_is_restarted_and_the_others_keep_running(tmp_path: Path) -> None:
    reports = Reports()
    policy = RestartPolicy(initial=0.2, cap=1.0, healthy_after=30)
    with Supervisor(
        [fake("rasa"), fake("api")], tmp_path, policy=policy, report=reports
    ) as supervisor:
        supervisor.wait_ready(20)
        other = supervisor.process("api")
        assert other is not None
        supervisor.kill("rasa")
        supervisor.wait_restarted("rasa", 0, timeout=20)
        assert supervisor.restarts("rasa") == 1
        assert supervisor.process("api") is other and other.poll() is None
        assert supervisor.restarts("api") == 0
        lines = [line for _, line in reports.lines]
        assert any("假服务 rasa意外退出（信号 SIGKILL）" in line for line in lines), lines
        assert any("假服务 rasa已恢复" in line for line in lines), lines
    assert other.poll() is not None  # stopped with the rest


def test_restarts_back_off_and_start_over_after_a_healthy_period(tmp_path: Path) -> None:
    reports = Reports()
    policy = RestartPolicy(initial=0.2, factor=2, cap=0.8, healthy_after=60)
    with Supervisor([crashing("loop")], tmp_path, policy=policy, report=reports):
        deadline = time.monotonic() + 20
        while len(reports.times("正在重启")) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    exits, restarts = reports.times("意外退出"), reports.times("正在重启")
    waits = [restart - exit for exit, restart in zip(exits, restarts, strict=False)][:4]
    # 0.2, 0.4, 0.8, then the cap (0.8); the monitor looks every 0.05 s.
    for wait, expected in zip(waits, [0.2, 0.4, 0.8, 0.8], strict=True):
        assert expected - 0.05 <= wait <= expected + 0.3, waits

    reports = Reports()
    healthy = RestartPolicy(initial=0.2, factor=2, cap=5.0, healthy_after=0.5)
    with Supervisor([fake("steady")], tmp_path, policy=healthy, report=reports) as supervisor:
        supervisor.wait_ready(20)
        for round_ in range(3):
            time.sleep(0.7)  # longer than healthy_after: each crash is a first one
            supervisor.kill("steady", signal.SIGKILL)
            supervisor.wait_restarted("steady", round_, timeout=20)
    assert all("0.2 秒后自动重启" in line for _, line in reports.lines if "意外退出" in line)
    exits, restarts = reports.times("意外退出"), reports.times("正在重启")
    assert all(restart - exit < 0.6 for exit, restart in zip(exits, restarts, strict=True))


def test_without_a_policy_a_crash_fails_the_wait(tmp_path: Path) -> None:
    with Supervisor([crashing("once")], tmp_path) as supervisor, pytest.raises(RuntimeError):
        supervisor.wait_ready(10)


def test_free_port_never_hands_out_a_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # The system may offer a port again before the child it was meant for binds it;
    # two children would then fight over it (a CI run saw "Address already in use").
    import ops.stack

    offered = iter([61_001, 61_001, 61_001, 61_002])

    class Probe:
        def __enter__(self) -> Probe:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def bind(self, address: tuple[str, int]) -> None:
            self.port = next(offered)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(ops.stack.socket, "socket", Probe)
    monkeypatch.setattr(ops.stack, "_HANDED_OUT", set())
    assert [ops.stack.free_port(), ops.stack.free_port()] == [61_001, 61_002]
