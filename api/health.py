"""/healthz: which parts of Kefu are up.

The KB and the database are essential (503 without them). Rasa and the action server
are not: without them the gateway answers from the KB (degraded mode).

In production, callers without a console login (load balancers, probes, strangers) get the
status alone: the build, the components and their errors are internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import redis.asyncio as redis_asyncio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.core.deps import InternalsVisibleDep, KnowledgeDep, SettingsDep
from support import metrics
from support.dialogue import rasa_is_ready, rasa_status_url
from support.knowledge.service import KnowledgeService
from support.settings import Settings
from support.storage import engine_for

router = APIRouter(tags=["health"])
PROBE_TIMEOUT = 1.5


def _database(url: str) -> dict[str, Any]:
    try:
        with engine_for(url).connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"up": True}
    except Exception as exc:  # reported, not raised: this is the health page
        return {"up": False, "error": type(exc).__name__}


def _answers(response: httpx.Response) -> bool:
    return response.status_code == 200


async def _http(url: str, *, ready: Callable[[httpx.Response], bool] = _answers) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
            response = await client.get(url)
        up = ready(response)
        return {"up": up} if up else {"up": False, "error": f"HTTP {response.status_code}"}
    except httpx.HTTPError as exc:
        return {"up": False, "error": type(exc).__name__}


async def _redis(url: str) -> dict[str, Any]:
    client = redis_asyncio.Redis.from_url(url, socket_timeout=PROBE_TIMEOUT)
    try:
        await client.ping()
        return {"up": True}
    except Exception as exc:  # reported, not raised
        return {"up": False, "error": type(exc).__name__}
    finally:
        await client.aclose()


async def probe_components(
    knowledge: KnowledgeService, settings: Settings
) -> dict[str, dict[str, Any]]:
    """Each component's state, probed now (/healthz, and /metrics' kefu_component_up)."""
    kb: dict[str, Any] = {"up": knowledge.ready}
    if knowledge.ready:
        manifest = knowledge.manifest()
        kb |= {"build_id": manifest.build_id, "faqs": manifest.faqs}
    else:
        kb["error"] = knowledge.error
    probes = [
        asyncio.to_thread(_database, settings.database_url),
        _http(rasa_status_url(settings), ready=rasa_is_ready),
        _http(action_server_health_url(settings)),
    ]
    if settings.redis_url:
        probes.append(_redis(settings.redis_url))
    results = await asyncio.gather(*probes)
    components = {"kb": kb, "database": results[0], "rasa": results[1], "actions": results[2]}
    if settings.redis_url:
        components["redis"] = results[3]
    for name, component in components.items():
        metrics.component_up.labels(name).set(1 if component["up"] else 0)
    return components


@router.get("/healthz")
async def healthz(
    request: Request,
    knowledge: KnowledgeDep,
    settings: SettingsDep,
    internals: InternalsVisibleDep,
) -> JSONResponse:
    components = await probe_components(knowledge, settings)
    kb = components["kb"]
    essential = kb["up"] and components["database"]["up"]
    everything = all(component["up"] for component in components.values())
    status = "ok" if everything else ("degraded" if essential else "down")
    body = {"status": status, "components": components} if internals else {"status": status}
    return JSONResponse(body, status_code=200 if essential else 503)


def action_server_health_url(settings: Settings) -> str:
    """The action server's /health: KEFU_ACTION_SERVER_URL in containers, else loopback."""
    base = settings.action_server_url or f"http://127.0.0.1:{settings.action_server_port}"
    return base.rstrip("/") + "/health"
