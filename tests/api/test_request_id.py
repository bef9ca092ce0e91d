"""A turn's request id: honoured or made up by the gateway, passed to Rasa, picked up by
the action server from the tracker, and on every log line written for the turn."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.server import bearer
from support.dialogue import RasaClient
from support.logs import REQUEST_ID_HEADER, request_context
from support.settings import Settings
from tests.actions.process import SECRET, running_action_server
from tests.actions.test_server import handoff_call


async def test_the_rasa_client_passes_the_id_in_metadata_and_header() -> None:
    seen: list[httpx.Request] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"text": "好的"}])

    client = RasaClient(Settings(), httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
    with request_context("turn-0002"):
        await client.send("c1", "你好", {"channel": "web"})
    await client.send("c2", "你好", {"channel": "web"})  # outside a request: nothing added
    await client.aclose()
    first, second = (json.loads(request.content) for request in seen)
    assert first["metadata"] == {"channel": "web", "request_id": "turn-0002"}
    assert seen[0].headers[REQUEST_ID_HEADER] == "turn-0002"
    assert second["metadata"] == {"channel": "web"}
    assert REQUEST_ID_HEADER not in seen[1].headers


# The action server as a process, logging JSON lines.


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("actions-request-id")
    with running_action_server(data, {"KEFU_LOG_JSON": "true"}) as server:
        yield server.url, server.log


def _json_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_the_action_server_logs_the_turn_under_the_gateways_id(
    action_server: tuple[str, Path],
) -> None:
    url, log = action_server
    call = handoff_call(f"rid-{time.monotonic_ns()}")
    # As Rasa sends it: the gateway's metadata is the latest user message's.
    call["tracker"]["latest_message"]["metadata"]["request_id"] = "turn-0003"
    response = httpx.post(
        f"{url}/webhook", json=call, headers={"Authorization": bearer(SECRET)}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.headers[REQUEST_ID_HEADER] == "turn-0003"
    time.sleep(0.2)  # the worker's stderr reaches the file
    turn = [line for line in _json_lines(log) if line["request_id"] == "turn-0003"]
    assert any("action_handoff" in line["message"] for line in turn), log.read_text()[-2000:]
    # Nothing of the action server's own was logged for this call without the id.
    ours = [line for line in _json_lines(log) if line["logger"].startswith(("actions", "support"))]
    assert ours and all(
        line["request_id"] != "-" for line in ours if "action_handoff" in line["message"]
    )


def test_the_action_servers_metrics_count_the_handoff(action_server: tuple[str, Path]) -> None:
    url, _ = action_server
    call = handoff_call(f"metrics-{time.monotonic_ns()}")
    httpx.post(f"{url}/webhook", json=call, headers={"Authorization": bearer(SECRET)}, timeout=30)
    scraped = httpx.get(f"{url}/metrics")
    assert scraped.status_code == 200
    assert 'kefu_handoffs_total{reason="user_request"}' in scraped.text
    # Forwarded by a proxy: from outside, though the TCP peer is local.
    forwarded = httpx.get(f"{url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 403
