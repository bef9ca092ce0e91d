"""Issue 13 (observability): who may scrape, the handoff labels, and that the Grafana
dashboard and the alert rules in monitoring/ parse and name only metrics that exist."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from support import metrics
from support.replies.vocabulary import HandoffReason
from tests.conftest import PROJECT_ROOT

MONITORING = PROJECT_ROOT / "monitoring"
# Prometheus' own series, which no code of ours defines.
BUILT_IN = {"up"}
PROMQL_FUNCTIONS = {
    "sum", "min", "max", "avg", "count", "rate", "increase", "histogram_quantile", "by",
    "without", "and", "or", "unless", "on", "ignoring", "le",
}  # fmt: skip
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def defined_series() -> set[str]:
    """Every series name Kefu's metrics expose (support.metrics, in the default registry)."""
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("kefu_"):
            names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def series_in(expression: str) -> set[str]:
    """Metric names an expression reads: identifiers not inside {...} and not functions."""
    without_matchers = re.sub(r"\{[^}]*\}", "", expression)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_matchers)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {word for word in words if word not in PROMQL_FUNCTIONS and "_" in word} | (
        words & BUILT_IN
    )


def test_every_issue_metric_is_defined() -> None:
    assert defined_series() >= {
        "kefu_turn_duration_seconds_bucket",
        "kefu_kb_decisions_total",
        "kefu_handoffs_total",
        "kefu_queue_length",
        "kefu_queue_wait_seconds_bucket",
        "kefu_wechat_deadline_misses_total",
        "kefu_wechat_customer_message_failures_total",
        "kefu_component_up",
    }


def _alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((MONITORING / "prometheus" / "alerts.yml").read_text("utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_the_alert_rules_parse_and_read_only_existing_metrics() -> None:
    rules = _alert_rules()
    assert len(rules) >= 8
    known = defined_series() | BUILT_IN
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        expression = rule["expr"]
        assert expression.count("(") == expression.count(")"), rule["alert"]
        read = series_in(expression)
        assert read, rule["alert"]
        assert read <= known, f"{rule['alert']} 引用了不存在的指标：{read - known}"
    alerted = set().union(*(series_in(rule["expr"]) for rule in rules))
    # Each thing the issue asks operators to watch has an alert.
    for family in ("kefu_component_up", "kefu_turn_duration_seconds_bucket",
                   "kefu_queue_length", "kefu_wechat_deadline_misses_total",
                   "kefu_wechat_customer_message_failures_total"):  # fmt: skip
        assert family in alerted


def test_the_dashboard_parses_and_reads_only_existing_metrics() -> None:
    dashboard = json.loads((MONITORING / "grafana" / "kefu-dashboard.json").read_text("utf-8"))
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    read = set().union(*(series_in(expression) for expression in expressions))
    assert read <= defined_series(), read - defined_series()
    # Every metric Kefu defines is on the dashboard.
    shown_families = {re.sub(r"_(bucket|count|sum)$", "", name) for name in read}
    defined_families = {re.sub(r"_bucket$", "", n) for n in defined_series()
                        if not n.endswith(("_count", "_sum"))}  # fmt: skip
    assert defined_families <= shown_families


def test_the_example_scrape_config_loads_the_rules() -> None:
    config = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text("utf-8"))
    assert config["rule_files"] == ["alerts.yml"]
    assert {job["job_name"] for job in config["scrape_configs"]} == {"kefu-gateway", "kefu-actions"}


def test_handoff_reasons_are_their_codes_and_nothing_else() -> None:
    for reason in HandoffReason:
        assert metrics.handoff_reason_label(reason.value) == reason.value
    # Free text (an older row, a script) never becomes a label of its own.
    assert metrics.handoff_reason_label("用户 13800000000 要求转人工") == "other"


@pytest.mark.parametrize(
    ("peer", "authorization", "forwarded", "token", "allowed"),
    [
        ("127.0.0.1", None, False, "", True),
        ("::1", None, False, "", True),
        ("10.0.0.5", None, False, "", False),
        ("127.0.0.1", None, True, "", False),  # nginx on the same host, for a stranger
        (None, None, False, "", False),
        ("10.0.0.5", "Bearer s3cret-token", False, "s3cret-token", True),
        ("127.0.0.1", None, False, "s3cret-token", False),  # a token, once set, is needed
        ("10.0.0.5", "Bearer s3cret-toke", False, "s3cret-token", False),
    ],
)
def test_who_may_scrape(
    peer: str | None, authorization: str | None, forwarded: bool, token: str, allowed: bool
) -> None:
    assert (
        metrics.may_scrape(peer=peer, authorization=authorization, forwarded=forwarded, token=token)
        is allowed
    )
