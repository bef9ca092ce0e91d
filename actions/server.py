"""The action server that `kefu actions run` starts: rasa_sdk's, locked down.

rasa_sdk has no authentication, and listens on every interface. Here it listens on
KEFU_ACTION_SERVER_HOST (loopback unless told otherwise) and refuses every call but
``/health`` that lacks ``Authorization: Bearer <KEFU_ACTION_SERVER_TOKEN>``, the header
Rasa's action endpoint sends (bot/endpoints.yml). Cross-origin requests are refused too:
only Rasa, a server, calls it.

Sanic 25 builds the app again in each worker (AppLoader pickles the factory), so the
factory is a module-level function and nothing here is heavy at import: the actions
themselves load lazily (actions.runtime). Each worker sets up its logging there too.

``/metrics`` (Prometheus: KB decisions and handoffs happen here) takes not Rasa's secret
but the scrape policy of support.metrics.may_scrape: KEFU_METRICS_TOKEN, or loopback.
Each action call runs under the request id the gateway gave the turn, which Rasa passes
in the tracker's latest message metadata: every log line of the call carries it.
"""

from __future__ import annotations

import hmac
import logging
from functools import partial

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from support.logs import (
    REQUEST_ID_HEADER,
    accepted_request_id,
    configure_logging,
    new_request_id,
    request_id_var,
)
from support.metrics import exposition, may_scrape
from support.settings import Settings, get_settings

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})
METRICS_PATH = "/metrics"
REFUSED = "动作服务器只接受 Rasa 的调用：缺少或错误的令牌（KEFU_ACTION_SERVER_TOKEN）。"
METRICS_REFUSED = "指标只对本机或携带 KEFU_METRICS_TOKEN 的抓取方开放。"
FORWARDED_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def bearer(token: str) -> str:
    """The Authorization header value that carries ``token``."""
    return f"Bearer {token}"


def is_authorised(header: str | None, token: str) -> bool:
    """Whether ``header`` carries ``token``, compared in constant time."""
    return hmac.compare_digest((header or "").encode(), bearer(token).encode())


def turn_request_id(request: Request) -> str:
    """The turn's id: from the tracker Rasa sends (the gateway put it in the user
    message's metadata), else the caller's header, else a new one."""
    body = request.json if request.method == "POST" and request.body else None
    tracker = body.get("tracker") if isinstance(body, dict) else None
    latest = tracker.get("latest_message") if isinstance(tracker, dict) else None
    metadata = latest.get("metadata") if isinstance(latest, dict) else None
    from_tracker = metadata.get("request_id") if isinstance(metadata, dict) else None
    return (
        accepted_request_id(from_tracker)
        or accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        or new_request_id()
    )


def create_app(
    executor: ActionExecutor,
    token: str,
    *,
    metrics_token: str = "",
    json_logs: bool = False,
    log_level: str = "INFO",
) -> Sanic:
    configure_logging(json_logs=json_logs, level=log_level)
    app: Sanic = create_app_for_serve(executor, cors_origins=None)

    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if request.path == METRICS_PATH:
            forwarded = any(name in request.headers for name in FORWARDED_HEADERS)
            allowed = may_scrape(
                peer=request.ip or None,
                authorization=request.headers.get("authorization"),
                forwarded=forwarded,
                token=metrics_token,
            )
            return None if allowed else response.json({"error": METRICS_REFUSED}, status=403)
        if is_authorised(request.headers.get("authorization"), token):
            return None
        return response.json({"error": REFUSED}, status=401, headers={"WWW-Authenticate": "Bearer"})

    async def enter_turn(request: Request) -> None:
        # Set in the request's own context: the action's handler runs in it.
        request.ctx.request_id = turn_request_id(request)
        request_id_var.set(request.ctx.request_id)
        if request.path == "/webhook":
            body = request.json if isinstance(request.json, dict) else {}
            logger.info("执行动作 %s", body.get("next_action"))

    async def leave_turn(request: Request, outgoing: HTTPResponse) -> None:
        request_id = getattr(request.ctx, "request_id", None)
        if request_id:
            outgoing.headers[REQUEST_ID_HEADER] = request_id

    async def prometheus_metrics(request: Request) -> HTTPResponse:
        body, content_type = exposition()
        return response.raw(body, content_type=content_type)

    app.on_request(require_token, priority=10)
    app.on_request(enter_turn)
    app.on_response(leave_turn)
    app.add_route(prometheus_metrics, METRICS_PATH, methods=["GET"])
    return app


def serve(settings: Settings) -> None:
    """Run the action server with ``settings`` until stopped (as `python -m rasa_sdk` would)."""
    configure_logging(json_logs=settings.log_json, level=settings.log_level)
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package("actions")
    loader = AppLoader(
        factory=partial(
            create_app,
            executor,
            settings.action_server_token,
            metrics_token=settings.metrics_token,
            json_logs=settings.log_json,
            log_level=settings.log_level,
        )
    )
    app = loader.load()
    app.prepare(
        host=settings.action_server_host,
        port=settings.action_server_port,
        workers=utils.number_of_sanic_workers(),
    )
    logger.info(
        "动作服务器启动：http://%s:%s", settings.action_server_host, settings.action_server_port
    )
    Sanic.serve(primary=app, app_loader=loader)


def main() -> None:
    # Run as `python -c "from actions.server import main; main()"` (kefu actions run), not
    # with -m: the factory Sanic pickles for its workers must be importable by this name.
    serve(get_settings())
