"""The action server that `kefu actions run` starts: rasa_sdk's, locked down.

rasa_sdk has no authentication, and listens on every interface. Here it listens on
KEFU_ACTION_SERVER_HOST (loopback unless told otherwise) and refuses every call but
``/health`` that lacks ``Authorization: Bearer <KEFU_ACTION_SERVER_TOKEN>``, the header
Rasa's action endpoint sends (bot/endpoints.yml). Cross-origin requests are refused too:
only Rasa, a server, calls it.

Sanic 25 builds the app again in each worker (AppLoader pickles the factory), so the
factory is a module-level function and nothing here is heavy at import: the actions
themselves load lazily (actions.runtime).
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

from support.settings import Settings, get_settings

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})
REFUSED = "动作服务器只接受 Rasa 的调用：缺少或错误的令牌（KEFU_ACTION_SERVER_TOKEN）。"


def bearer(token: str) -> str:
    """The Authorization header value that carries ``token``."""
    return f"Bearer {token}"


def is_authorised(header: str | None, token: str) -> bool:
    """Whether ``header`` carries ``token``, compared in constant time."""
    return hmac.compare_digest((header or "").encode(), bearer(token).encode())


def create_app(executor: ActionExecutor, token: str) -> Sanic:
    app: Sanic = create_app_for_serve(executor, cors_origins=None)

    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if is_authorised(request.headers.get("authorization"), token):
            return None
        return response.json({"error": REFUSED}, status=401, headers={"WWW-Authenticate": "Bearer"})

    app.on_request(require_token)
    return app


def serve(settings: Settings) -> None:
    """Run the action server with ``settings`` until stopped (as `python -m rasa_sdk` would)."""
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package("actions")
    loader = AppLoader(factory=partial(create_app, executor, settings.action_server_token))
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
