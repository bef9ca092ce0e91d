"""Chat gateway benchmark: `make bench-chat`.

Starts the whole stack (Rasa, the action server, the gateway) in the production
configuration: Redis lock store, Redis tracker store and two Rasa workers (Rasa is the
CPU-bound part and needs the Redis lock store for more than one worker). Without a
reachable Redis it falls back to one worker and SQLite, as `make demo` runs. Then it
measures a turn through ``POST /api/chat/sessions/{id}/messages`` at concurrency 1 and
16 (p50, p95, turns/s, errors), and a WeChat text message end to end (plain mode,
signed, passive reply) for p50/p99. Every turn asks an FAQ question from the held-out test split.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.stack import RunningStack, dialogue_stack, isolated_settings
from support.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
WECHAT_TOKEN = "bench-token"
# Each session stays under the per-user limit (20 messages in 10 s).
SESSIONS = 96
# Every benchmark user comes from one address: the per-address abuse limits (sessions,
# chat requests) are lifted for the gateway this starts (it inherits the environment).
BENCH_LIMITS = {
    "KEFU_ADDRESS_SESSION_LIMIT": "100000",
    "KEFU_ADDRESS_CHAT_LIMIT": "1000000",
}


def questions() -> list[str]:
    lines = (ROOT / "data" / "eval" / "test.jsonl").read_text("utf-8").splitlines()
    return [record["query"] for record in map(json.loads, lines) if record["expected"]]


async def web_turns(stack: RunningStack, concurrency: int, turns: int) -> dict[str, float]:
    base = stack.gateway_url
    pool = questions()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        sessions = []
        for _ in range(SESSIONS):
            body = (await client.post("/api/chat/sessions")).json()
            sessions.append((body["session_id"], {"Authorization": f"Bearer {body['token']}"}))
        latencies: list[float] = []
        errors = 0
        failures: list[str] = []
        counter = iter(range(turns))

        async def worker() -> None:
            nonlocal errors
            for turn in counter:
                session_id, headers = sessions[turn % SESSIONS]
                started = time.perf_counter()
                try:
                    response = await client.post(
                        f"/api/chat/sessions/{session_id}/messages",
                        json={"text": pool[turn % len(pool)]},
                        headers=headers,
                    )
                    body = response.json() if response.status_code == 200 else {}
                    # A question that asks for a person pauses the bot; that is no error.
                    ok = bool(body.get("replies")) or body.get("state") == "waiting_agent"
                    if not ok:
                        failures.append(f"{response.status_code} {response.text[:120]}")
                except httpx.HTTPError as exc:
                    ok = False
                    failures.append(repr(exc))
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    p50, p95 = np.percentile(latencies, [50, 95])
    for failure in sorted(set(failures))[:5]:
        print(f"  失败示例：{failure}", file=sys.stderr)
    return {"p50": p50, "p95": p95, "rate": len(latencies) / elapsed, "errors": errors}


def wechat_body(openid: str, text: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def wechat_query() -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


async def wechat_messages(stack: RunningStack, count: int) -> dict[str, float]:
    pool = questions()
    latencies: list[float] = []
    errors = queued = 0
    # Message ids unique to this run: the Redis inbox remembers ids for a day.
    run_id = int(time.time() * 1000) * 1000
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        for n in range(count):
            body = wechat_body(f"o-bench-{n % SESSIONS}", pool[n % len(pool)], run_id + n)
            started = time.perf_counter()
            response = await client.post("/wechat", params=wechat_query(), content=body)
            latencies.append((time.perf_counter() - started) * 1000)
            # "success" without content: the user is with an agent (or it went async).
            queued += response.status_code == 200 and response.text == "success"
            errors += response.status_code != 200 or not (
                "<Content>" in response.text or response.text == "success"
            )
    p50, p99 = np.percentile(latencies, [50, 99])
    return {"p50": p50, "p99": p99, "errors": errors, "queued": queued}


async def measure(stack: RunningStack, turns: int) -> None:
    await web_turns(stack, 4, 40)  # warm caches and lazy imports first
    single = await web_turns(stack, 1, turns)
    before = cpu_by_service()
    sixteen = await web_turns(stack, 16, turns * 2)
    after = cpu_by_service()
    wechat = await wechat_messages(stack, turns)
    print("| 场景 | p50 | p95 / p99 | 吞吐 | 错误 |")
    print("|---|---|---|---|---|")
    print(
        f"| 网页聊天，并发 1 | {single['p50']:.0f} ms | p95 {single['p95']:.0f} ms | "
        f"{single['rate']:.1f} 轮/秒 | {single['errors']:.0f} |"
    )
    print(
        f"| 网页聊天，并发 16 | {sixteen['p50']:.0f} ms | p95 {sixteen['p95']:.0f} ms | "
        f"{sixteen['rate']:.1f} 轮/秒 | {sixteen['errors']:.0f} |"
    )
    print(
        f"| 微信文本消息（明文，被动回复） | {wechat['p50']:.0f} ms | p99 {wechat['p99']:.0f} ms "
        f"| 顺序发送（{wechat['queued']:.0f} 条转人工后回 success） | {wechat['errors']:.0f} |"
    )
    # Where the CPU goes on this 2-core box: what caps the throughput at concurrency 16.
    spent = {name: (after[name] - before.get(name, 0.0)) * 1000 / (turns * 2) for name in after}
    print("\n并发 16 时每轮的 CPU 时间：")
    print("| " + " | ".join(spent) + " | 合计 |")
    print("|" + "---|" * (len(spent) + 1))
    print(
        "| "
        + " | ".join(f"{ms:.1f} ms" for ms in spent.values())
        + f" | {sum(spent.values()):.1f} ms |"
    )


def _process_table() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds used so far), read from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces; fields follow it.
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return table


def _service(pid: int) -> str:
    command = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "rasa_sdk" in command or "actions run" in command:
        return "动作服务器"
    if "rasa" in command:
        return "Rasa"
    if "uvicorn" in command:
        return "网关"
    return "其他"


def cpu_by_service() -> dict[str, float]:
    """CPU seconds used by each service this benchmark started (with their workers)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    totals: dict[str, float] = {}
    for child in children.get(os.getpid(), []):
        try:
            name = _service(child)
        except OSError:
            continue
        stack, used = [child], 0.0
        while stack:
            pid = stack.pop()
            used += table[pid][1]
            stack.extend(children.get(pid, []))
        totals[name] = totals.get(name, 0.0) + used
    own = os.times()
    totals["压测客户端"] = own.user + own.system
    return totals


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument(
        "--redis-url", default=get_settings().redis_url or "redis://127.0.0.1:6379/14"
    )
    parser.add_argument("--rasa-workers", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=None,
        help="Kefu 的数据库（默认临时 SQLite）；生产配置用 PostgreSQL",
    )
    parser.add_argument(
        "--tracker-url",
        default=None,
        help="Rasa tracker store（有 Redis 时默认用它，否则临时 SQLite）",
    )
    arguments = parser.parse_args()
    redis_url = arguments.redis_url if redis_reachable(arguments.redis_url) else None
    workers = arguments.rasa_workers if redis_url else 1
    databases = "PostgreSQL" if arguments.database_url else "SQLite"
    tracker_url = arguments.tracker_url or (
        # Its own database in the same Redis: trackers are keyed by sender id.
        redis_url.rsplit("/", 1)[0] + "/13" if redis_url else None
    )
    tracker = (tracker_url or "sqlite").split(":", 1)[0]
    print(
        f"配置：Rasa 工作进程 {workers} 个，锁存储 {'Redis' if redis_url else '内存'}，"
        f"tracker store {tracker}，数据库 {databases}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        settings = isolated_settings(
            Path(scratch),
            wechat_token=WECHAT_TOKEN,
            wechat_app_id="wx-bench",
            wechat_app_secret="bench-secret",
            redis_url=redis_url,
            rasa_workers=workers,
            **({"database_url": arguments.database_url} if arguments.database_url else {}),
            **({"rasa_tracker_url": tracker_url} if tracker_url else {}),
        )
        for name, value in BENCH_LIMITS.items():
            os.environ.setdefault(name, value)
        with dialogue_stack(settings, Path(scratch) / "logs", gateway=True) as stack:
            asyncio.run(measure(stack, arguments.turns))


if __name__ == "__main__":
    main()
