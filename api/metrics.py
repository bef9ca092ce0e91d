"""/metrics: Prometheus' view of this gateway replica.

Counters and histograms are incremented where things happen (support.metrics); the
queue's length and each component's health are read when Prometheus scrapes, so every
replica reports them (take their max in queries). Who may scrape: support.metrics.may_scrape.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request, Response

from api.core.deps import EscalationsDep, KnowledgeDep, SettingsDep
from api.health import probe_components
from support import metrics

router = APIRouter(include_in_schema=False)
REFUSED = "指标只对本机或携带 KEFU_METRICS_TOKEN 的抓取方开放。"
FORWARDED_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


@router.get("/metrics")
async def prometheus_metrics(
    request: Request,
    knowledge: KnowledgeDep,
    settings: SettingsDep,
    escalations: EscalationsDep,
) -> Response:
    allowed = metrics.may_scrape(
        peer=request.client.host if request.client else None,
        authorization=request.headers.get("authorization"),
        forwarded=any(header in request.headers for header in FORWARDED_HEADERS),
        token=settings.metrics_token,
    )
    if not allowed:
        raise HTTPException(403, REFUSED)
    counts = await asyncio.to_thread(escalations.counts_by_status)
    for status, count in counts.items():
        metrics.queue_length.labels(status.value).set(count)
    await probe_components(knowledge, settings)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
