"""The one settings object. Every value can be set with a ``KEFU_*`` environment variable."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _default_models_dir() -> Path:
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "kefu" / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

    # Where Kefu keeps what it writes: the SQLite database, the KB index, logs.
    data_dir: Path = PROJECT_ROOT / "var"
    # Built KB indexes; CURRENT inside names the one in use.
    index_dir: Path = Field(default_factory=lambda data: data["data_dir"] / "index")
    # Converted encoder weights (shared by every checkout on the machine).
    models_dir: Path = _default_models_dir()
    # The FAQ source of truth.
    faq_path: Path = PROJECT_ROOT / "data" / "faq_zh.yml"
    # Encoder spec for the KB, see kb.encoders.load_encoder.
    encoder: str = "use"
    # Labelled queries the KB build calibrates its fusion and thresholds on.
    calibration_path: Path = PROJECT_ROOT / "data" / "eval" / "dev.jsonl"

    api_host: str = "127.0.0.1"
    api_port: int = 8000

    # Kefu's own database (tickets, escalations, conversations). SQLAlchemy URL;
    # PostgreSQL in production, e.g. postgresql+psycopg://kefu@db:5432/kefu.
    database_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['data_dir'] / 'kefu.db'}"
    )
    # Redis, when configured: Rasa's lock store and the gateway's de-duplication.
    redis_url: str | None = None
    # Times shown to users and ticket numbers (T20261121-0042) use this zone.
    timezone: str = "Asia/Shanghai"

    # Rasa server, action server and Rasa's own tracker store.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = "kefu-local-token"
    # Rasa's Sanic workers. More than one needs the Redis lock store (KEFU_REDIS_URL):
    # each worker is a process with its own copy of the model, ~1.4 GB.
    rasa_workers: int = 1
    action_server_port: int = 5055
    # Web chat: at most this many messages per user in the window (seconds).
    chat_rate_limit: int = 20
    chat_rate_window: float = 10.0

    # WeChat official account (公众号). The API base is only changed by tests.
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    # WeChat gives up after 5 s; answer by then, or reply later by 客服消息.
    wechat_deadline: float = 4.0

    # Agent console: how long a login lasts, and whether the cookie needs HTTPS
    # (turn on behind TLS; off by default so that the local demo works over http).
    agent_session_hours: float = 12.0
    agent_cookie_secure: bool = False
    # Failed logins allowed per username and per client address before a lock-out.
    agent_login_failures: int = 5
    agent_login_lockout: float = 900.0

    rasa_tracker_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['data_dir'] / 'rasa_tracker.db'}"
    )

    @property
    def e5_model_dir(self) -> Path:
        return self.models_dir / "multilingual-e5-small"


@lru_cache
def get_settings() -> Settings:
    return Settings()
