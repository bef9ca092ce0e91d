"""Running and talking to Rasa: its environment, training, and an HTTP client.

Rasa lives in its own Python 3.10 environment (.venv-rasa); everything it needs to
know comes from the one settings object, passed as the environment variables that
bot/endpoints.yml reads.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.engine import make_url

from api.core.config import PROJECT_ROOT, Settings

BOT_DIR = PROJECT_ROOT / "bot"
RASA_BIN = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL_NAME = "kefu"
MODEL_PATH = BOT_DIR / "models" / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_PATH = BOT_DIR / "models" / f"{MODEL_NAME}.fingerprint"
# One thread per TensorFlow op: Rasa serves many small predictions concurrently, and on
# 2 cores intra-op threads only contend with the gateway and the action server.
TENSORFLOW_THREADS = {
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
}
QUIET = {
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning,"
    "ignore::FutureWarning,ignore::UserWarning",
}


def _tracker_store(url: str) -> dict[str, str]:
    """Rasa's tracker store: SQLite, PostgreSQL, or Redis (the fastest, for busy sites)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "redis":
        return {
            "KEFU_RASA_TRACKER_TYPE": "redis",
            "KEFU_RASA_TRACKER_DIALECT": "",
            "KEFU_RASA_TRACKER_URL": parsed.host or "127.0.0.1",
            "KEFU_RASA_TRACKER_PORT": str(parsed.port or 6379),
            "KEFU_RASA_TRACKER_DB": (parsed.database or "0").strip("/") or "0",
            "KEFU_RASA_TRACKER_PASSWORD": parsed.password or "",
        }
    if backend == "sqlite":
        database = Path(parsed.database or "rasa_tracker.db").resolve()
        database.parent.mkdir(parents=True, exist_ok=True)
        full = f"sqlite:///{database}"
    elif backend == "postgresql":
        # Rasa 3.6 ships psycopg2; drop any +driver suffix meant for the app's psycopg 3.
        full = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    else:
        raise ValueError(f"Rasa 的 tracker store 只支持 SQLite、PostgreSQL 或 Redis：{url}")
    return {
        "KEFU_RASA_TRACKER_TYPE": "SQL",
        "KEFU_RASA_TRACKER_DIALECT": backend,
        # A full URL: Rasa uses it as is, and ignores the port and password below.
        "KEFU_RASA_TRACKER_URL": full,
        "KEFU_RASA_TRACKER_PORT": "0",
        "KEFU_RASA_TRACKER_DB": parsed.database or "",
        "KEFU_RASA_TRACKER_PASSWORD": "",
    }


def _lock_store(redis_url: str | None) -> dict[str, str]:
    if not redis_url:
        return {
            "KEFU_RASA_LOCK_STORE": "in_memory",
            "KEFU_RASA_REDIS_HOST": "",
            "KEFU_RASA_REDIS_PORT": "6379",
            "KEFU_RASA_REDIS_DB": "0",
            "KEFU_RASA_REDIS_PASSWORD": "",
        }
    parsed = httpx.URL(redis_url)
    return {
        "KEFU_RASA_LOCK_STORE": "redis",
        "KEFU_RASA_REDIS_HOST": parsed.host or "127.0.0.1",
        "KEFU_RASA_REDIS_PORT": str(parsed.port or 6379),
        "KEFU_RASA_REDIS_DB": parsed.path.strip("/") or "0",
        "KEFU_RASA_REDIS_PASSWORD": parsed.password or "",
    }


def rasa_environment(settings: Settings) -> dict[str, str]:
    """The environment both `rasa train` and `rasa run` need, on top of os.environ."""
    python_path = [str(PROJECT_ROOT), str(BOT_DIR)]
    if os.environ.get("PYTHONPATH"):
        python_path.append(os.environ["PYTHONPATH"])
    return {
        **os.environ,
        **QUIET,
        **TENSORFLOW_THREADS,
        "PYTHONPATH": os.pathsep.join(python_path),
        "KEFU_ACTION_ENDPOINT": f"http://127.0.0.1:{settings.action_server_port}/webhook",
        "SANIC_WORKERS": str(settings.rasa_workers if settings.redis_url else 1),
        **_tracker_store(settings.rasa_tracker_url),
        **_lock_store(settings.redis_url),
    }


def training_inputs() -> list[Path]:
    """Everything a trained model depends on; a change in any of them makes it stale."""
    files = [
        BOT_DIR / "config.yml",
        BOT_DIR / "domain.yml",
        PROJECT_ROOT / "kb" / "resources" / "jieba" / "userdict.txt",
        PROJECT_ROOT / "actions" / "guard.py",
    ]
    files += sorted((BOT_DIR / "data").glob("*.yml"))
    files += sorted((BOT_DIR / "kefu_rasa").glob("*.py"))
    return files


def training_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_is_current() -> bool:
    return (
        MODEL_PATH.exists()
        and FINGERPRINT_PATH.exists()
        and FINGERPRINT_PATH.read_text().strip() == training_fingerprint()
    )


def train(settings: Settings, *, force: bool = False) -> bool:
    """Train bot/models/kefu.tar.gz unless it is current; returns whether it trained."""
    if not force and model_is_current():
        return False
    fingerprint = training_fingerprint()
    subprocess.run(
        [
            str(RASA_BIN),
            "train",
            "--fixed-model-name",
            MODEL_NAME,
            "--out",
            "models",
            "--force",
        ],
        cwd=BOT_DIR,
        env=rasa_environment(settings),
        check=True,
    )
    FINGERPRINT_PATH.write_text(fingerprint)
    return True


def run_command(settings: Settings, port: int | None = None) -> list[str]:
    """The `rasa run` command line for the trained model (run it in BOT_DIR)."""
    url = httpx.URL(settings.rasa_url)
    return [
        str(RASA_BIN),
        "run",
        "--model",
        str(MODEL_PATH),
        "--enable-api",
        "--auth-token",
        settings.rasa_token,
        "--interface",
        url.host or "127.0.0.1",
        "--port",
        str(port or url.port or 5005),
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
    ]


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: list[dict[str, str]]
    # What the KB decided for this reply (actions.faq.kb_metadata), when it was asked.
    kb: dict[str, Any] | None = None
    # The escalation's id, when this reply handed the conversation to a person.
    handoff: int | None = None


def bot_messages(items: list[dict[str, Any]]) -> list[BotMessage]:
    """The REST channel's items as messages.

    An action's ``json_message`` arrives as its own ``{"custom": {...}}`` item right after
    the text it went with; its ``kb`` and ``handoff`` are attached to that message (or to
    the last one, if no text came before it).
    """
    messages: list[BotMessage] = []
    pending: dict[str, Any] = {}
    for item in items:
        if item.get("text") or item.get("buttons"):
            messages.append(
                BotMessage(
                    text=str(item.get("text") or ""),
                    buttons=[
                        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in item.get("buttons") or []
                    ],
                )
            )
        custom = item.get("custom")
        if not isinstance(custom, dict):
            continue
        found = _custom_fields(custom)
        if messages:
            messages[-1] = replace(messages[-1], **found)
        else:
            pending.update(found)
    if pending and messages:
        messages[-1] = replace(messages[-1], **pending)
    return messages


def _custom_fields(custom: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(custom.get("kb"), dict):
        found["kb"] = custom["kb"]
    handoff = custom.get("handoff")
    if isinstance(handoff, dict) and isinstance(handoff.get("escalation_id"), int):
        found["handoff"] = handoff["escalation_id"]
    return found


class RasaClient:
    """The gateway's and the console's way to Rasa: chat turns and conversation control."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._base = settings.rasa_url.rstrip("/")
        self._token = settings.rasa_token
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30, connect=2))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        response = await self._client.post(
            f"{self._base}/webhooks/rest/webhook",
            json={"sender": sender_id, "message": text, "metadata": metadata or {}},
        )
        response.raise_for_status()
        return bot_messages(response.json())

    async def resume(self, sender_id: str) -> None:
        """Give the conversation back to the bot after a handoff (ConversationResumed).

        The action_listen after it closes the turn, so the user's next message starts a
        fresh turn that the rules recognise, whatever was said while paused.
        """
        response = await self._client.post(
            f"{self._base}/conversations/{quote(sender_id, safe='')}/tracker/events",
            params={"token": self._token},
            json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
        )
        response.raise_for_status()

    async def tracker(self, sender_id: str) -> dict[str, Any]:
        response = await self._client.get(
            f"{self._base}/conversations/{quote(sender_id, safe='')}/tracker",
            params={"token": self._token},
        )
        response.raise_for_status()
        tracker: dict[str, Any] = response.json()
        return tracker

    async def ready(self) -> bool:
        """True once the server has loaded its model."""
        try:
            response = await self._client.get(f"{self._base}/status", params={"token": self._token})
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and "model_file" in response.json()
