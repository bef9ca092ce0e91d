"""Abuse limits per client address (and per web session) on the public endpoints.

Routes take them as dependencies: ``dependencies=[SessionCreationLimit]`` or a parameter.
The counts are support.ratelimit's moving windows, in Redis when KEFU_REDIS_URL is set,
so that every gateway replica shares them. A refused request raises RateLimitedError
(429, a Chinese message and Retry-After) before any work is done, so nothing is stored.

The client address is the TCP peer's. Behind a reverse proxy (nginx) every request comes
from the proxy, so X-Forwarded-For is read, but only when the peer is a trusted proxy
(KEFU_TRUSTED_PROXIES): anyone else could write any address there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from fastapi import Depends, Request

from support.errors import RateLimitedError
from support.ratelimit import RateLimiter, rate_limiter
from support.settings import Settings

UNKNOWN_ADDRESS = "unknown"


class Bucket(StrEnum):
    SESSIONS = "sessions"
    KB_QUERY = "kb_query"
    CHAT = "chat"
    SESSION_READS = "session_reads"


MESSAGES = {
    Bucket.SESSIONS: "新建会话太频繁，请稍后再试。",
    Bucket.KB_QUERY: "查询太频繁，请稍后再试。",
    Bucket.CHAT: "请求太频繁，请稍后再试。",
    Bucket.SESSION_READS: "请求太频繁，请稍后再试。",
}


@dataclass(frozen=True)
class AbuseLimits:
    limiters: dict[Bucket, RateLimiter]
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network | str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> AbuseLimits:
        window = settings.address_rate_window
        limits = {
            Bucket.SESSIONS: settings.address_session_limit,
            Bucket.KB_QUERY: settings.address_kb_query_limit,
            Bucket.CHAT: settings.address_chat_limit,
            Bucket.SESSION_READS: settings.session_read_limit,
        }
        return cls(
            {bucket: rate_limiter(settings.redis_url, n, window) for bucket, n in limits.items()},
            _parse_proxies(settings.trusted_proxies),
        )

    async def check(self, bucket: Bucket, key: str) -> None:
        limiter = self.limiters[bucket]
        # Keys name their bucket: two buckets with the same limit share limits' item.
        scoped = f"{bucket.value}:{key}"
        if not await limiter.allow(scoped):
            retry = await limiter.retry_after(scoped)
            raise RateLimitedError(MESSAGES[bucket], headers={"Retry-After": str(retry)})

    def client_address(self, request: Request) -> str:
        peer = request.client.host if request.client else UNKNOWN_ADDRESS
        if not self._trusted(peer):
            return peer
        # The nearest untrusted hop, from the right: the left part is the client's to write.
        forwarded = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
            if hop.strip()
        ]
        for hop in reversed(forwarded):
            if not self._trusted(hop):
                return hop[:64]
        return peer

    def _trusted(self, address: str) -> bool:
        return any(_matches(address, proxy) for proxy in self.trusted_proxies)


def _parse_proxies(
    value: str,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network | str, ...]:
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network | str] = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            proxies.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            proxies.append(entry)  # a host name, as some test clients and sockets report
    return tuple(proxies)


@cache
def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _matches(address: str, proxy: ipaddress.IPv4Network | ipaddress.IPv6Network | str) -> bool:
    if isinstance(proxy, str):
        return address == proxy
    parsed = _address(address)
    return parsed is not None and parsed.version == proxy.version and parsed in proxy


def get_abuse_limits(request: Request) -> AbuseLimits:
    """The limits the gateway's lifespan built (api.main)."""
    limits: AbuseLimits = request.app.state.abuse_limits
    return limits


def client_address(request: Request) -> str:
    return get_abuse_limits(request).client_address(request)


def per_address(bucket: Bucket) -> Callable[[Request], Awaitable[None]]:
    """A dependency that counts the request against ``bucket`` for the client's address."""

    async def limit(request: Request) -> None:
        limits = get_abuse_limits(request)
        await limits.check(bucket, f"address:{limits.client_address(request)}")

    limit.__name__ = f"limit_{bucket.value}_per_address"
    return limit


async def limit_session_reads(request: Request, session_id: str) -> None:
    """Per web session (its token has been checked): history, feedback, events."""
    await get_abuse_limits(request).check(Bucket.SESSION_READS, f"session:{session_id}")


SessionCreationLimit = Depends(per_address(Bucket.SESSIONS))
KbQueryLimit = Depends(per_address(Bucket.KB_QUERY))
ChatLimit = Depends(per_address(Bucket.CHAT))
