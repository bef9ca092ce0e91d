"""Knowledge workspace benchmark: publish one changed entry, and list / search / 命中测试.

    .venv/bin/python bench/kb_publish_bench.py [--sizes 28,5000,100000] [--no-gate]

For each size the KB is the shipped FAQ plus synthetic entries up to that many. The
synthetic texts' vectors are put in the embedding cache directly (random unit vectors):
encoding 300,000 texts would take the bench an hour and measures nothing about a
publish, which is what this reports. The shipped entries are encoded for real.

Then: version 1 is published (the full build), one entry gets a new paraphrase, and that
publish is timed: validation, the build reusing every cached vector, calibration, the
eval gate (data/eval, published vs draft) and the switch of CURRENT. ``encoded`` is how
many texts that publish had to encode. At each size, list (50 rows), search and
命中测试 (published and draft side by side, the draft's index warm) are timed too.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.content import FAQ, load_faqs
from kb.encoders import load_encoder, resolve_spec
from kb.text import canonicalize
from support.knowledge.flows import KnowledgeWorkspace
from support.knowledge.schemas import EntryUpdateIn
from support.knowledge.service import KnowledgeService
from support.knowledge.store import KbStore
from support.settings import Settings
from support.storage import migrate, session_factory

ROOT = Path(__file__).resolve().parents[1]
FAQ_PATH = ROOT / "data" / "faq_zh.yml"
EVAL = ROOT / "data" / "eval"
WORDS = [
    "账户",
    "余额",
    "转账",
    "提现",
    "充值",
    "银行卡",
    "手续费",
    "到账",
    "限额",
    "积分",
    "优惠券",
    "会员",
    "发票",
    "退款",
    "订单",
    "商户",
    "二维码",
    "红包",
    "理财",
    "利息",
    "汇率",
    "跨境",
    "实名",
    "认证",
    "人脸",
    "指纹",
    "设备",
    "通知",
    "短信",
    "邮箱",
    "客服",
    "投诉",
    "冻结",
    "解冻",
    "注销",
    "绑定",
    "解绑",
    "额度",
    "账单",
    "分期",
    "还款",
    "逾期",
    "代扣",
    "自动",
    "续费",
    "活动",
    "奖励",
    "返现",
    "年费",
]


def synthetic(count: int, rng: random.Random) -> list[FAQ]:
    faqs = []
    for number in range(count):
        words = rng.sample(WORDS, 4)
        faqs.append(
            FAQ(
                id=f"synthetic_{number:06d}",
                category="其他",
                question=f"{words[0]}和{words[1]}的问题 {number} 怎么处理？",
                paraphrases=(f"{words[2]}{words[3]} {number} 怎么办",),
                answer=f"关于{words[0]}的第 {number} 条说明，以 App 内显示为准。",
            )
        )
    return faqs


def timed(call: Callable[[], object], repeats: int) -> float:
    """Median milliseconds of ``repeats`` calls (after one warm-up call)."""
    call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run(size: int, gate: bool, workdir: Path, encoder_spec: str) -> dict[str, float | int]:
    rng = random.Random(size)
    real = list(load_faqs(FAQ_PATH).faqs)
    extra = synthetic(max(size - len(real), 0), rng)
    root = workdir / f"kb{size}"
    shutil.rmtree(root, ignore_errors=True)
    # The injected encoder must be the one the KB's size resolves to (KEFU_ENCODER=auto).
    encoder_spec = resolve_spec(encoder_spec, sum(len(f.texts) for f in [*real[:size], *extra]))
    settings = Settings(
        data_dir=root,
        index_dir=root / "index",
        database_url=f"sqlite:///{root / 'kefu.db'}",
        faq_path=FAQ_PATH,
        calibration_path=EVAL / "dev.jsonl",
        encoder=encoder_spec,
    )
    migrate(settings.database_url)
    encoder = load_encoder(encoder_spec, models_dir=settings.models_dir)
    store = KbStore(session_factory(settings.database_url))
    knowledge = KnowledgeService(settings)
    workspace = KnowledgeWorkspace(
        store,
        knowledge,
        settings,
        encoder=encoder,
        eval_files=sorted(EVAL.glob("*.jsonl")) if gate else [],
    )
    texts = [canonicalize(text) for faq in extra for text in faq.texts]
    if texts:
        vectors = rng_vectors(len(texts), encoder.dim, size)
        workspace._embeddings(encoder_spec).prefill(texts, vectors)
    store.import_records([*real[:size], *extra], "bench", "（基准）")

    started = time.perf_counter()
    first = workspace.publish("bench", "第 1 版")
    full_build = time.perf_counter() - started

    target = real[1].id if size > 1 else real[0].id
    entry = workspace.entry(target)
    workspace.update_entry(
        target,
        EntryUpdateIn(
            revision=entry.revision, paraphrases=[*entry.paraphrases, "基准新增的一条问法"]
        ),
        "bench",
    )
    started = time.perf_counter()
    second = workspace.publish("bench", "改一条释义")
    one_change = time.perf_counter() - started

    list_ms = timed(lambda: workspace.list_entries(limit=50), 5)
    search_ms = timed(lambda: workspace.list_entries(q="密码", limit=50), 5)
    entry = workspace.entry(target)
    workspace.update_entry(
        target, EntryUpdateIn(revision=entry.revision, answer=entry.answer + "（草稿）"), "bench"
    )
    started = time.perf_counter()
    workspace.hit_test("忘记登录密码怎么办")  # the first one builds the draft's index
    draft_build = time.perf_counter() - started
    hit_ms = timed(lambda: workspace.hit_test("忘记登录密码怎么办"), 10)
    knowledge.close()
    return {
        "entries": size,
        "rows": first.version.entries,
        "full_build_s": round(full_build, 1),
        "one_change_s": round(one_change, 2),
        "encoded": second.encoded_rows,
        "list_ms": round(list_ms, 1),
        "search_ms": round(search_ms, 1),
        "draft_index_s": round(draft_build, 1),
        "hit_test_ms": round(hit_ms, 1),
    }


def rng_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    generator = np.random.default_rng(seed)
    vectors = generator.standard_normal((count, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="28,5000,100000")
    parser.add_argument("--no-gate", action="store_true", help="publish without the eval gate")
    parser.add_argument("--encoder", default="auto")
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kefu-publish-bench-"))
    print(
        "entries | full build s | publish one change s | encoded | list ms | search ms | "
        "draft index s | 命中测试 ms"
    )
    try:
        for size in (int(s) for s in arguments.sizes.split(",")):
            result = run(size, not arguments.no_gate, workdir, arguments.encoder)
            print(
                f"{result['entries']:>7} | {result['full_build_s']:>12} | "
                f"{result['one_change_s']:>20} | {result['encoded']:>7} | "
                f"{result['list_ms']:>7} | {result['search_ms']:>9} | "
                f"{result['draft_index_s']:>13} | {result['hit_test_ms']}",
                flush=True,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
