"""Running Rasa: its environment, training, and the `rasa run` command line.

Rasa lives in its own Python 3.10 environment (.venv-rasa); everything it needs to
know comes from the one settings object, passed as the environment variables that
bot/endpoints.yml reads.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from support.settings import PROJECT_ROOT, Settings

BOT_DIR = PROJECT_ROOT / "bot"
RASA_BIN = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
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


# Addresses that mean "every interface": Rasa reaches such a server on loopback.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


def action_endpoint(settings: Settings) -> str:
    """Where Rasa calls the action server: the host it listens on, or loopback."""
    host = settings.action_server_host
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    return str(
        httpx.URL(scheme="http", host=host, port=settings.action_server_port, path="/webhook")
    )


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
        "KEFU_ACTION_ENDPOINT": action_endpoint(settings),
        # Sent with every action call (bot/endpoints.yml), checked by actions.server.
        "KEFU_ACTION_SERVER_TOKEN": settings.action_server_token,
        # The HTTP API's token (kefu_rasa.serve) and the REST channel's (credentials.yml).
        "KEFU_RASA_TOKEN": settings.rasa_token,
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
    ]
    files += sorted((PROJECT_ROOT / "guard").glob("*.py"))
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
    # kefu_rasa.serve adds --auth-token from KEFU_RASA_TOKEN (rasa_environment): a token
    # on the command line would be readable by every local user.
    return [
        str(RASA_PYTHON),
        "-m",
        "kefu_rasa.serve",
        "run",
        "--model",
        str(MODEL_PATH),
        "--enable-api",
        "--interface",
        url.host or "127.0.0.1",
        "--port",
        str(port or url.port or 5005),
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
    ]
