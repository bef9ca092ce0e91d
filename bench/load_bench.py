"""Load benchmark: `make bench-load`.

200 web-chat users at once, 10 turns each, on two configurations:

- 演示配置: what `make demo` runs: one gateway, one Rasa server, one action server,
  SQLite, no Redis (ops.stack.dialogue_stack);
- 横向扩展配置: what `make scale-demo` runs: nginx in front of 2 gateways, 2 Rasa
  servers and 2 action servers, PostgreSQL and Redis (ops.scale.scale_stack).

Each user sends its turns one after the other and then reads its history (and Rasa's
tracker) back: ops.load counts lost messages, messages out of order and cross talk.
Reported: turns/s, p50/p95/p99 of a turn, errors, degraded answers (Rasa too slow, the
KB answered), handoffs, and the memory of every process (RSS and PSS, with children)
right after the load. Every question comes from the held-out test split.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.load import LoadResult, run_load
from ops.scale import ProcessMemory, ScaleLayout, process_memory, scale_settings, scale_stack
from ops.stack import dialogue_stack, isolated_settings

# The demo configuration has no proxy in front: every benchmark user comes from
# 127.0.0.1, so the per-address limits are lifted for the processes this starts.
BENCH_LIMITS = {
    "KEFU_ADDRESS_SESSION_LIMIT": "100000",
    "KEFU_ADDRESS_CHAT_LIMIT": "1000000",
}
DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/kefu_bench_load"
REDIS_URL = "redis://127.0.0.1:6379/11"


def fresh_database(url: str) -> None:
    """Drop and recreate the benchmark's own database: every run starts empty."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def load(base_url: str, users: int, turns: int, rasa: tuple[str, str]) -> LoadResult:
    asyncio.run(run_load(base_url, 4, 2, rasa=rasa))  # lazy imports and caches first
    return asyncio.run(run_load(base_url, users, turns, rasa=rasa))


def demo_configuration(
    users: int, turns: int, scratch: Path
) -> tuple[LoadResult, dict[str, ProcessMemory]]:
    settings = isolated_settings(scratch / "demo")
    with dialogue_stack(settings, scratch / "demo" / "logs", 300, gateway=True) as stack:
        assert stack.supervisor is not None
        result = load(stack.gateway_url, users, turns, (settings.rasa_url, settings.rasa_token))
        names = {"api": "网关", "rasa": "Rasa", "actions": "动作服务器"}
        pids = {}
        for name, label in names.items():
            process = stack.supervisor.process(name)
            if process is not None:
                pids[label] = process.pid
        return result, process_memory(pids)


def scale_configuration(
    users: int, turns: int, scratch: Path, redis_url: str
) -> tuple[LoadResult, dict[str, ProcessMemory]]:
    import redis

    fresh_database(DATABASE_URL)
    redis.Redis.from_url(redis_url).flushdb()  # the benchmark's own db number
    layout = ScaleLayout.on_free_ports()
    settings = scale_settings(
        scratch / "scale", layout, database_url=DATABASE_URL, redis_url=redis_url
    )
    with scale_stack(settings, layout, scratch / "scale" / "logs") as running:
        result = load(running.public_url, users, turns, (settings.rasa_url, settings.rasa_token))
        return result, process_memory(running.pids())


def report(results: dict[str, LoadResult], memory: dict[str, dict[str, ProcessMemory]]) -> None:
    print(
        "\n| 配置 | 轮次 | 轮/秒 | p50 | p95 | p99 "
        "| 丢失 | 乱序 | 串话 | 错误 | 降级回答 | 转人工 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        print(
            f"| {name} | {result.turns} | {result.turns_per_second:.1f} "
            f"| {result.percentile(50):.0f} ms | {result.percentile(95):.0f} ms "
            f"| {result.percentile(99):.0f} ms | {result.lost} | {result.out_of_order} "
            f"| {result.cross_talk} | {result.errors} | {result.degraded} | {result.handoffs} |"
        )
    for name, result in results.items():
        for failure in result.failures[:5]:
            print(f"  {name} 失败示例：{failure}", file=sys.stderr)
    print("\n压测后各进程的内存（含子进程；RSS / PSS）：")
    print("| 配置 | 进程 | RSS | PSS |")
    print("|---|---|---|---|")
    for name, processes in memory.items():
        for process, measured in processes.items():
            print(
                f"| {name} | {process} | {measured.rss_mib:.0f} MiB | {measured.pss_mib:.0f} MiB |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--redis-url", default=REDIS_URL, help="横向扩展配置用的 Redis（独立库号）")
    parser.add_argument("--only", choices=["demo", "scale"], default=None, help="只跑一种配置")
    arguments = parser.parse_args()
    for name, value in BENCH_LIMITS.items():
        os.environ.setdefault(name, value)
    print(f"{arguments.users} 个用户同时聊天，每人 {arguments.turns} 轮（问题取自测试集）")
    results: dict[str, LoadResult] = {}
    memory: dict[str, dict[str, ProcessMemory]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if arguments.only in (None, "demo"):
            name = "演示配置（1 网关 / 1 Rasa / 1 动作服务器，SQLite）"
            results[name], memory["演示配置"] = demo_configuration(
                arguments.users, arguments.turns, Path(scratch)
            )
            print(f"{name}：完成", flush=True)
        if arguments.only in (None, "scale"):
            name = "横向扩展配置（nginx + 2 网关 / 2 Rasa / 2 动作服务器，PostgreSQL + Redis）"
            results[name], memory["横向扩展配置"] = scale_configuration(
                arguments.users, arguments.turns, Path(scratch), arguments.redis_url
            )
            print(f"{name}：完成", flush=True)
    report(results, memory)


if __name__ == "__main__":
    main()
