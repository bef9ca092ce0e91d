"""The one settings object. Every value can be set with a ``KEFU_*`` environment variable."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Development-only secrets: anything that knows the source knows them.
DEFAULT_RASA_TOKEN = "kefu-local-token"
DEFAULT_ACTION_SERVER_TOKEN = "kefu-local-action-token"
# A web origin as browsers send it: scheme, host, optional port, nothing else.
_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9a-fA-F:]+\](:[0-9]{1,5})?"
)


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
    # Encoder spec for the KB, see kb.encoders. auto: e5-small int8 (the better retrieval
    # at k = 1..all paraphrases within the latency budget, README bench-kb) up to 40,000
    # index rows, USE above (a 100,000-row build within two minutes).
    encoder: str = "auto"
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
    rasa_token: str = DEFAULT_RASA_TOKEN
    # Rasa's Sanic workers. More than one needs the Redis lock store (KEFU_REDIS_URL):
    # each worker is a process with its own copy of the model, ~1.4 GB.
    rasa_workers: int = 1
    action_server_port: int = 5055
    # The action server listens on loopback
    # unless told otherwise, and answers only calls that carry this shared secret
    # (Rasa's action endpoint sends it). Rasa's REST channel and HTTP API take only
    # callers with KEFU_RASA_TOKEN. Both defaults are for local development only.
    action_server_host: str = "127.0.0.1"
    action_server_token: str = DEFAULT_ACTION_SERVER_TOKEN
    # Where the gateway's health check finds the action server (its base URL) when it
    # runs on another host, as in containers; empty: loopback on action_server_port.
    action_server_url: str = ""
    # Web chat: at most this many messages per user in the window (seconds).
    chat_rate_limit: int = 20
    chat_rate_window: float = 10.0
    # Abuse limits per client address, each at most this many requests in the window
    # (seconds): new chat sessions, KB queries, and all other web chat requests
    # (messages, history, feedback, events); reads per web session on top. In Redis with
    # KEFU_REDIS_URL, so they hold across gateway replicas.
    address_rate_window: float = 60.0
    address_session_limit: int = 100
    address_kb_query_limit: int = 300
    address_chat_limit: int = 1200
    session_read_limit: int = 120
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed;
    # the client address is otherwise the TCP peer's.
    trusted_proxies: str = ""
    # Issue 13 (embedding): the sites (origins, comma-separated, e.g.
    # https://www.wallet.example) whose pages may load widget.js and call the chat API
    # from the browser. Empty: only pages served by the gateway itself.
    widget_origins: str = ""
    # Issue 13 (observability): log lines as JSON objects instead of text, and the level.
    log_json: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics on the gateway and the action server: with a token, any caller that sends
    # "Authorization: Bearer <token>" (Prometheus' authorization setting); without one,
    # only direct callers on loopback (not requests a proxy forwarded).
    metrics_token: str = ""

    @property
    def widget_origin_list(self) -> list[str]:
        return [
            # Browsers send the scheme and host in lower case.
            origin.strip().rstrip("/").lower()
            for origin in self.widget_origins.split(",")
            if origin.strip()
        ]

    @field_validator("widget_origins")
    @classmethod
    def _origins_are_origins(cls, value: str) -> str:
        for origin in (part.strip().rstrip("/") for part in value.split(",")):
            if origin and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"KEFU_WIDGET_ORIGINS 里的 {origin!r} 不是网站来源："
                    "应写成 https://www.example.com（协议、域名和可选端口，不带路径，不能用 *）"
                )
        return value

    # WeChat official account (公众号). The API base is only changed by tests.
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    # WeChat gives up after 5 s; answer by then, or reply later by 客服消息.
    wechat_deadline: float = 4.0
    # Issue 15 (WeChat identity): a callback's timestamp may be at most this many
    # seconds off the server clock, and each timestamp + nonce is accepted once meanwhile.
    wechat_replay_window: float = Field(default=300.0, gt=0)
    # Issue 14 (resilience): a worker's claim on a callback lasts this long unless it
    # renews it; after a crash another worker (or the restarted gateway) takes it over.
    wechat_claim_lease: float = Field(default=30.0, gt=0)
    # 客服消息 that fail for a passing reason are retried from the outbox this many times,
    # after wechat_outbox_backoff seconds, then twice as long each time (at most 5 minutes).
    wechat_outbox_attempts: int = Field(default=6, ge=1)
    wechat_outbox_backoff: float = Field(default=2.0, gt=0)

    # Issue 15 (production mode and sessions that end). KEFU_ENV=production refuses to
    # start with development defaults (see insecure_for_production) and hides /docs and
    # the internals of /healthz and the KB manifest from callers without a console login.
    env: Literal["development", "production"] = "development"
    # Agent console: how long a login lasts, and whether the cookie needs HTTPS. Unset:
    # HTTPS-only in production, not in development (the local demo runs over http).
    agent_session_hours: float = 12.0
    agent_cookie_secure: bool | None = None
    # Open console event streams re-check their login this often (seconds) and end once
    # it is gone: logout, expiry, password reset.
    agent_stream_recheck: float = 20.0
    # Failed logins allowed per username and per client address before a lock-out.
    agent_login_failures: int = 5
    agent_login_lockout: float = 900.0

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def cookie_secure(self) -> bool:
        return self.production if self.agent_cookie_secure is None else self.agent_cookie_secure

    def insecure_for_production(self) -> list[str]:
        """What production refuses, each naming the setting to change (empty when fine)."""
        problems = []
        if self.rasa_token in ("", DEFAULT_RASA_TOKEN):
            problems.append(
                f"KEFU_RASA_TOKEN 是开发用的默认值 {DEFAULT_RASA_TOKEN}（或为空）："
                "请换成随机的长字符串"
            )
        if self.action_server_token in ("", DEFAULT_ACTION_SERVER_TOKEN):
            problems.append(
                f"KEFU_ACTION_SERVER_TOKEN 是开发用的默认值 {DEFAULT_ACTION_SERVER_TOKEN}"
                "（或为空）：请换成随机的长字符串"
            )
        wechat = (self.wechat_app_id, self.wechat_app_secret, self.wechat_aes_key)
        if (any(wechat) or self.wechat_token) and len(self.wechat_token) < 8:
            problems.append(
                "配置了微信公众号，但 KEFU_WECHAT_TOKEN 为空或太短：请设为至少 8 个字符的随机令牌"
                "（与公众号后台「服务器配置」中的令牌一致）"
            )
        if self.agent_cookie_secure is False:
            problems.append(
                "KEFU_AGENT_COOKIE_SECURE=false 会让登录 cookie 走明文 HTTP："
                "请删除这项设置或设为 true，并在 HTTPS 之后部署"
            )
        return problems

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.production and (problems := self.insecure_for_production()):
            raise InsecureProductionError(problems)
        return self

    rasa_tracker_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['data_dir'] / 'rasa_tracker.db'}"
    )

    @property
    def e5_model_dir(self) -> Path:
        return self.models_dir / "multilingual-e5-small"

    @property
    def e5_int8_model_dir(self) -> Path:
        return self.models_dir / "multilingual-e5-small-int8"


class InsecureProductionError(RuntimeError):
    """KEFU_ENV=production with development defaults. Not a ValueError on purpose: pydantic
    would wrap it with every input value, secrets included, into its error message."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}；" for problem in problems)
        super().__init__(f"生产环境（KEFU_ENV=production）拒绝启动：\n{lines}")


@lru_cache
def get_settings() -> Settings:
    return Settings()
