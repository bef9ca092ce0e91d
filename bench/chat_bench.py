"""Chat gateway benchmark: `make bench-chat`.

Starts the whole stack (Rasa, the action server, the gateway) as `make demo` does,
then measures a turn through ``POST /api/chat/sessions/{id}/messages`` at concurrency
1 and 16 (p50, p95, turns/s, errors), and a WeChat text message end to end (plain
mode, signed, passive reply) for p50/p99. Every turn asks an FAQ question from the
held-out test split, so the KB answers it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.core.config import Settings, get_settings
from api.stack import RunningStack, dialogue_stack

ROOT = Path(__file__).resolve().parents[1]
WECHAT_TOKEN = "bench-token"
# Each session stays under the per-user limit (20 messages in 10 s).
SESSIONS = 96


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    errors = 0
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        for n in range(count):
            body = wechat_body(f"o-bench-{n % SESSIONS}", pool[n % len(pool)], 7_000_000 + n)
            started = time.perf_counter()
            response = await client.post("/wechat", params=wechat_query(), content=body)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200 or "<Content>" not in response.text
    p50, p99 = np.percentile(latencies, [50, 99])
    return {"p50": p50, "p99": p99, "errors": errors}


async def measure(stack: RunningStack, turns: int) -> None:
    await web_turns(stack, 4, 40)  # warm caches and lazy imports first
    single = await web_turns(stack, 1, turns)
    sixteen = await web_turns(stack, 16, turns * 2)
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
        f"| 顺序发送 | {wechat['errors']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    arguments = parser.parse_args()
    defaults = get_settings()
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            data_dir=Path(scratch),
            index_dir=defaults.index_dir,
            models_dir=defaults.models_dir,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            action_server_port=free_port(),
            api_port=free_port(),
            wechat_token=WECHAT_TOKEN,
            wechat_app_id="wx-bench",
            wechat_app_secret="bench-secret",
        )
        with dialogue_stack(settings, Path(scratch) / "logs", gateway=True) as stack:
            asyncio.run(measure(stack, arguments.turns))


if __name__ == "__main__":
    main()
