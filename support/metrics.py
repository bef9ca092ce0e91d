"""Prometheus metrics: one definition each, incremented where the thing happens.

Each process (gateway replica, action server) keeps its own counters in memory and
serves them on its own ``/metrics``; Prometheus scrapes every replica and sums. When a
process forks workers with ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client writes
the values to files there and :func:`exposition` merges them.

Labels are bounded on purpose (a channel, a KB decision, a handoff reason code from
support.replies.vocabulary.HandoffReason, a WeChat errcode): never a user, a
conversation or free text.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from support.replies.vocabulary import HandoffReason

# A turn is 50 ms when Rasa answers, up to WeChat's 5 s deadline when something is slow.
TURN_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0)
# Users wait for an agent from seconds to hours.
QUEUE_WAIT_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0)


# A reason the escalation records that is not one of HandoffReason's codes (older text).
OTHER_REASON = "other"
_KNOWN_REASONS = frozenset(reason.value for reason in HandoffReason)


def handoff_reason_label(reason: str) -> str:
    """The escalation's reason as a label: its HandoffReason code, or "other"."""
    return reason if reason in _KNOWN_REASONS else OTHER_REASON


turn_duration_seconds = Histogram(
    "kefu_turn_duration_seconds",
    "用户一轮对话的处理时间（从收到消息到回复存好），按渠道",
    ["channel"],
    buckets=TURN_BUCKETS,
)
kb_decisions_total = Counter(
    "kefu_kb_decisions_total",
    "知识库对用户问题的决定：answer（回答）/ clarify（澄清）/ fallback（兜底）",
    ["decision"],
)
handoffs_total = Counter(
    "kefu_handoffs_total",
    "转人工的次数，按原因",
    ["reason"],
)
queue_length = Gauge(
    "kefu_queue_length",
    "等待或正由坐席处理的转人工会话数，按状态（抓取时从数据库读取）",
    ["status"],
    multiprocess_mode="livemostrecent",
)
queue_wait_seconds = Histogram(
    "kefu_queue_wait_seconds",
    "用户从转人工到坐席接手等待的时间",
    buckets=QUEUE_WAIT_BUCKETS,
)
wechat_deadline_misses_total = Counter(
    "kefu_wechat_deadline_misses",
    "微信被动回复超过期限、改用客服消息补发的次数",
)
wechat_customer_message_failures_total = Counter(
    "kefu_wechat_customer_message_failures",
    "客服消息发送失败的次数，按微信错误码（网络错误记为 network）",
    ["errcode"],
)
component_up = Gauge(
    "kefu_component_up",
    "各组件是否可用（1 可用，0 不可用），抓取 /metrics 时探测",
    ["component"],
    multiprocess_mode="livemin",
)


def may_scrape(*, peer: str | None, authorization: str | None, forwarded: bool, token: str) -> bool:
    """Whether a caller may read ``/metrics`` (gateway and action server alike).

    With KEFU_METRICS_TOKEN, whoever sends it as a bearer token (Prometheus on another
    host, in another pod). Without, only a direct caller on loopback: a request that a
    proxy forwarded (X-Forwarded-For / Forwarded) comes from outside even though its
    TCP peer is local.
    """
    if token:
        return hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode())
    if forwarded or peer is None:
        return False
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return peer == "localhost"


def exposition() -> tuple[bytes, str]:
    """The body and content type of a ``/metrics`` response for this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
