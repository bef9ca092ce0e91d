"""Full-turn latency through Rasa's REST channel, KB answer included: `make bench-turn`.

Starts the action server and `rasa run` exactly as `make demo` does (SQLite tracker
store), measures how long Rasa takes to be ready, then times sequential turns that
each ask an FAQ question from the held-out test split.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.stack import dialogue_stack, isolated_settings
from support.dialogue import rest_channel_headers

ROOT = Path(__file__).resolve().parents[1]


def _decision(item: dict[str, object]) -> object:
    """The KB's decision that the action attached to a reply (its json_message)."""
    custom = item.get("custom")
    kb = custom.get("kb") if isinstance(custom, dict) else None
    return kb.get("decision") if isinstance(kb, dict) else None


def questions() -> list[str]:
    lines = (ROOT / "data" / "eval" / "test.jsonl").read_text("utf-8").splitlines()
    return [record["query"] for record in map(json.loads, lines) if record["expected"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = isolated_settings(Path(scratch))
        with (
            dialogue_stack(settings, Path(scratch) / "logs") as stack,
            httpx.Client(timeout=30, headers=rest_channel_headers(settings.rasa_token)) as client,
        ):
            url = f"{settings.rasa_url}/webhooks/rest/webhook"
            pool = questions()
            for warm in range(5):  # first turns pay for lazy imports and caches
                client.post(url, json={"sender": f"warm-{warm}", "message": pool[warm]})
            latencies, answered = [], 0
            for turn in range(arguments.turns):
                question = pool[turn % len(pool)]
                started = time.perf_counter()
                reply = client.post(url, json={"sender": f"bench-{turn}", "message": question})
                latencies.append((time.perf_counter() - started) * 1000)
                reply.raise_for_status()
                answered += any(_decision(item) == "answer" for item in reply.json())
    p50, p95 = np.percentile(latencies, [50, 95])
    print("| 指标 | 结果 |")
    print("|---|---|")
    print(f"| Rasa 就绪时间（启动到模型加载完成） | {stack.rasa_ready_seconds:.1f} s |")
    print(f"| 整轮延迟 p50（REST 通道，含知识库回答） | {p50:.0f} ms |")
    print(f"| 整轮延迟 p95 | {p95:.0f} ms |")
    print(f"| 轮数 / 其中知识库直接回答 | {len(latencies)} / {answered} |")


if __name__ == "__main__":
    main()
