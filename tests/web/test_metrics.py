"""The gateway's /metrics: counted at the real code points, read by Prometheus only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from support.escalations.schemas import EscalationRequest
from tests.web.conftest import Gateway


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def local_client(gateway: Gateway) -> TestClient:
    """The same app, called from loopback (the default test client is "testclient")."""
    return TestClient(gateway.client.app, client=("127.0.0.1", 40_000))


def test_only_loopback_or_the_token_may_scrape(gateway: Gateway) -> None:
    assert gateway.client.get("/metrics").status_code == 403  # not loopback
    local = local_client(gateway)
    assert local.get("/metrics").status_code == 200
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    gateway.client.app.state.settings = gateway.settings.model_copy(  # type: ignore[attr-defined]
        update={"metrics_token": "scrape-token-0123456789"}
    )
    assert local.get("/metrics").status_code == 403
    remote = gateway.client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"}
    )
    assert remote.status_code == 200
    assert remote.headers["content-type"].startswith("text/plain")


def test_turns_kb_decisions_and_handoffs_are_counted(gateway: Gateway) -> None:
    session_id, headers = gateway.session()
    turns = value("kefu_turn_duration_seconds_count", channel="web")
    assert gateway.say(session_id, headers, text="你好").status_code == 200
    assert value("kefu_turn_duration_seconds_count", channel="web") == turns + 1

    # Rasa down: the KB answers alone, and its decision is counted here, in the gateway.
    gateway.rasa.down = True
    decisions = sum(
        value("kefu_kb_decisions_total", decision=d) for d in ("answer", "clarify", "fallback")
    )
    assert gateway.say(session_id, headers, text="提现多久能到账").status_code == 200
    after = sum(
        value("kefu_kb_decisions_total", decision=d) for d in ("answer", "clarify", "fallback")
    )
    assert after == decisions + 1
    assert value("kefu_turn_duration_seconds_count", channel="web") == turns + 2

    handoffs = value("kefu_handoffs_total", reason="user_request")
    gateway.escalations().open(
        EscalationRequest(conversation_id=session_id, channel="web", reason="user_request")
    )
    assert value("kefu_handoffs_total", reason="user_request") == handoffs + 1


def test_the_queue_and_the_components_are_read_at_scrape_time(gateway: Gateway) -> None:
    local = local_client(gateway)
    before = scraped(local.get("/metrics").text)
    waiting = before[("kefu_queue_length", (("status", "waiting"),))]
    session_id, _ = gateway.session()
    escalation = gateway.escalations().open(
        EscalationRequest(conversation_id=session_id, channel="web", reason="user_request")
    )
    after = scraped(local.get("/metrics").text)
    assert after[("kefu_queue_length", (("status", "waiting"),))] == waiting + 1
    # The database answers; Rasa and the action server (port 9) do not.
    assert after[("kefu_component_up", (("component", "database"),))] == 1
    assert after[("kefu_component_up", (("component", "kb"),))] == 1
    assert after[("kefu_component_up", (("component", "rasa"),))] == 0
    assert after[("kefu_component_up", (("component", "actions"),))] == 0

    waits = value("kefu_queue_wait_seconds_count")
    gateway.escalations().assign(escalation.escalation.id, "alice")
    assert value("kefu_queue_wait_seconds_count") == waits + 1
    gateway.escalations().assign(escalation.escalation.id, "bob")  # a take-over is no new wait
    assert value("kefu_queue_wait_seconds_count") == waits + 1
    taken = scraped(local.get("/metrics").text)
    assert taken[("kefu_queue_length", (("status", "waiting"),))] == waiting
    assert taken[("kefu_queue_length", (("status", "assigned"),))] >= 1
