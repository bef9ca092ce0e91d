"""The action server as `kefu actions run` starts it: loopback only, and Rasa's secret
required (issue 15, finding 5: a forged POST /webhook queued a fake conversation)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.server import bearer, is_authorised
from ops.rasa import action_endpoint
from support.escalations.service import EscalationService
from support.settings import Settings
from support.storage import session_factory
from tests.actions.process import SECRET, running_action_server


@dataclass(frozen=True)
class ActionServer:
    url: str
    port: int
    database_url: str

    def queued(self, conversation_id: str) -> bool:
        escalations = EscalationService(session_factory(self.database_url))
        return escalations.open_for_conversation(conversation_id) is not None


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    with running_action_server(tmp_path_factory.mktemp("action-server")) as server:
        yield ActionServer(server.url, server.port, server.database_url)


def handoff_call(conversation_id: str) -> dict[str, Any]:
    """What Rasa posts to run action_handoff, as the attacker forged it."""
    latest = {
        "text": "转人工",
        "intent": {"name": "request_human", "confidence": 1.0},
        "entities": [],
        "metadata": {"channel": "web"},
    }
    return {
        "next_action": "action_handoff",
        "sender_id": conversation_id,
        "version": "3.6.21",
        "domain": {"intents": ["request_human"], "slots": {}},
        "tracker": {
            "sender_id": conversation_id,
            "slots": {},
            "latest_message": latest,
            "events": [{"event": "user", "text": "转人工", "parse_data": latest}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer kefu-local-action-token"},  # the development default
        {"Authorization": f"Bearer {SECRET[:-1]}"},
        {"Authorization": SECRET},
        {"Authorization": f"Basic {SECRET}"},
    ],
    ids=["none", "default", "almost", "no-scheme", "basic"],
)
def test_a_forged_action_call_is_refused_and_queues_nothing(
    action_server: ActionServer, headers: dict[str, str]
) -> None:
    conversation = f"forged-{len(headers)}-{time.monotonic_ns()}"
    response = httpx.post(
        f"{action_server.url}/webhook", json=handoff_call(conversation), headers=headers
    )
    assert response.status_code == 401
    assert "KEFU_ACTION_SERVER_TOKEN" in response.json()["error"]
    assert not action_server.queued(conversation)


def test_the_action_list_needs_the_secret_too(action_server: ActionServer) -> None:
    assert httpx.get(f"{action_server.url}/actions").status_code == 401
    listed = httpx.get(f"{action_server.url}/actions", headers={"Authorization": bearer(SECRET)})
    assert {"name": "action_handoff"} in listed.json()


def test_rasas_call_with_the_secret_runs_the_action(action_server: ActionServer) -> None:
    conversation = f"rasa-{time.monotonic_ns()}"
    response = httpx.post(
        f"{action_server.url}/webhook",
        json=handoff_call(conversation),
        headers={"Authorization": bearer(SECRET)},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert {"event": "pause", "timestamp": None} in response.json()["events"]
    assert action_server.queued(conversation)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (Linux: /proc/net/tcp*)."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(socket.inet_ntop(family, raw))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_it_listens_on_loopback_only_by_default(action_server: ActionServer) -> None:
    assert _listening_addresses(action_server.port) == {"127.0.0.1"}


def test_the_health_check_stays_open(action_server: ActionServer) -> None:
    # The gateway's /healthz, the demo and the test stack probe it without the secret.
    assert httpx.get(f"{action_server.url}/health").json() == {"status": "ok"}


def test_the_secret_is_compared_whole() -> None:
    assert is_authorised(f"Bearer {SECRET}", SECRET)
    for wrong in (None, "", "Bearer ", f"Bearer {SECRET} ", f"bearer {SECRET}", "Bearer 秘密"):
        assert not is_authorised(wrong, SECRET)


def test_rasa_calls_the_host_the_action_server_listens_on() -> None:
    settings = Settings(action_server_port=5055)
    assert settings.action_server_host == "127.0.0.1"
    assert action_endpoint(settings) == "http://127.0.0.1:5055/webhook"
    everywhere = Settings(action_server_host="0.0.0.0", action_server_port=6000)
    assert action_endpoint(everywhere) == "http://127.0.0.1:6000/webhook"
    remote = Settings(action_server_host="actions.internal", action_server_port=5055)
    assert action_endpoint(remote) == "http://actions.internal:5055/webhook"


def test_the_gateway_probes_the_action_server_where_it_runs() -> None:
    from api.health import action_server_health_url

    assert action_server_health_url(Settings(action_server_port=6001)) == (
        "http://127.0.0.1:6001/health"
    )
    in_a_cluster = Settings(action_server_url="http://kefu-actions:5055/")
    assert action_server_health_url(in_a_cluster) == "http://kefu-actions:5055/health"
