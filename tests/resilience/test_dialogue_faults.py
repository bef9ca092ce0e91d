"""Rasa and the action server crashing under a supervised stack, through the gateway.

One stack for the module (Rasa takes ~30 s to load): action server, Rasa and gateway
under ops.stack.Supervisor with a quick restart policy, as `make demo` runs them.
Each test kills one process with SIGKILL and checks what the user gets meanwhile (an
answer, or a plain Chinese notice), that nothing they said is lost, and that the
conversation carries on where it was once the process is back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kb.pipeline import BuildOutcome
from ops.stack import RestartPolicy, RunningStack, Supervisor, dialogue_stack, free_port
from support.conversations.flows import DEGRADED_NOTICE
from support.settings import Settings

HELPED = "这个回答解决您的问题了吗？"
RESTART_TIMEOUT = 180
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def stack(
    trained_model: str, built: BuildOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    data = tmp_path_factory.mktemp("faults")
    settings = Settings(
        data_dir=data,
        index_dir=built.directory.parent,
        redis_url=None,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_port=free_port(),
        api_port=free_port(),
        chat_rate_limit=1_000_000,
    )
    policy = RestartPolicy(initial=0.5, factor=2, cap=2.0, healthy_after=30)
    with dialogue_stack(settings, data / "logs", gateway=True, policy=policy) as running:
        yield running


class User:
    """A web-widget user of the gateway."""

    def __init__(self, stack: RunningStack) -> None:
        self._client = httpx.Client(base_url=stack.gateway_url, timeout=60)
        created = self._client.post("/api/chat/sessions").json()
        self.id: str = created["session_id"]
        self._headers = {"Authorization": f"Bearer {created['token']}"}

    def say(self, text: str) -> dict[str, Any]:
        response = self._client.post(
            f"/api/chat/sessions/{self.id}/messages", json={"text": text}, headers=self._headers
        )
        assert response.status_code == 200, response.text
        turn: dict[str, Any] = response.json()
        return turn

    def history(self) -> list[dict[str, Any]]:
        response = self._client.get(f"/api/chat/sessions/{self.id}/messages", headers=self._headers)
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


def texts(turn: dict[str, Any]) -> list[str]:
    return [str(reply["text"]) for reply in turn["replies"]]


def _supervisor(stack: RunningStack) -> Supervisor:
    assert stack.supervisor is not None
    return stack.supervisor


def test_rasa_killed_during_a_ticket_form_the_form_resumes(stack: RunningStack) -> None:
    supervisor = _supervisor(stack)
    user = User(stack)
    assert texts(user.say("冲值一直没到帐，怎么回事"))[-1] == HELPED
    assert "提交工单" in texts(user.say("否"))[0]
    assert "描述" in texts(user.say("提交工单"))[0]

    restarts = supervisor.restarts("rasa")
    supervisor.kill("rasa")  # kill -9, in the middle of the form
    during = user.say("昨天充值五百元到现在还没到账")
    # Degraded mode on its own: the KB answers, under a notice that says so.
    assert during["degraded"] is True
    assert texts(during)[0] == DEGRADED_NOTICE
    assert len(texts(during)) > 1 and all(CHINESE.search(text) for text in texts(during))

    supervisor.wait_restarted("rasa", restarts, RESTART_TIMEOUT)
    resumed = user.say("昨天充值五百元到现在还没到账")
    assert resumed["degraded"] is False  # and back, on its own
    assert "联系方式" in texts(resumed)[0]  # the form asks its next question
    assert "交易单号" in texts(user.say("13812345678"))[0]
    done = texts(user.say("无"))[0]
    assert re.search(r"T\d{8}-\d{4}", done), done
    # Nothing the user said is lost: every message is in the transcript, in order.
    said = [m["text"] for m in user.history() if m["role"] == "user"]
    assert said == [
        "冲值一直没到帐，怎么回事",
        "否",
        "提交工单",
        "昨天充值五百元到现在还没到账",
        "昨天充值五百元到现在还没到账",
        "13812345678",
        "无",
    ]


def test_action_server_killed_during_a_turn(stack: RunningStack) -> None:
    supervisor = _supervisor(stack)
    user = User(stack)
    restarts = supervisor.restarts("actions")
    supervisor.kill("actions")
    during = user.say("怎么注销账户")
    # Rasa's custom action fails and Rasa says nothing: the KB answers, under the notice.
    assert during["degraded"] is True, during
    assert texts(during)[0] == DEGRADED_NOTICE
    assert len(texts(during)) > 1 and all(CHINESE.search(text) for text in texts(during))

    supervisor.wait_restarted("actions", restarts, RESTART_TIMEOUT)
    after = user.say("怎么注销账户")
    assert texts(after)[-1] == HELPED
    said = [m["text"] for m in user.history() if m["role"] == "user"]
    assert said == ["怎么注销账户", "怎么注销账户"]
