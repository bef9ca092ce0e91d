"""Knowledge-base benchmark: `make bench-kb`.

Part 0 (the headline): the sparse-paraphrase table (bench/kb_sparse.py), the calibration
curve, the same recipe on a second, unrelated FAQ, and query latency per encoder.
Parts 1 and 2 below run only with --legacy-quality and --scale.

Part 1 compares retrieval configurations on the held-out test split, each calibrated
on the dev split exactly as `kefu kb build` does: every encoder alone, BM25 alone, and
the hybrids. Latency is per query at batch 1 on one thread.

Part 2 measures the index at 1k, 10k and 100k synthetic entries, flat against HNSW:
build time (encoding included), query p95 and memory.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import faiss
import numpy as np
import torch
from rich import box
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.kb_sparse import ALL, CachedEncoder, SparseResult, mean_report, run_sparse
from kb.content import FAQ, Category, FAQCollection, load_faqs
from kb.encoders import load_encoder, resolve_spec
from kb.evaluation import (
    BUDGET_CONFIDENCE_Z,
    OOS_ANSWERED_BUDGET,
    WRONG_ANSWER_BUDGET,
    Calibration,
    LabelledQuery,
    calibrate,
    evaluate,
    read_eval_file,
    unseen,
)
from kb.index import Fusion, build_index
from kb.knowledge_base import KnowledgeBase
from kb.text import Tokenizer, canonicalize

ROOT = Path(__file__).resolve().parents[1]
FAQ_PATH = ROOT / "data" / "faq_zh.yml"
DEV = ROOT / "data" / "eval" / "dev.jsonl"
TEST = ROOT / "data" / "eval" / "test.jsonl"
# Same-domain questions the FAQ does not cover, held out like the test split.
UNCOVERED = ROOT / "data" / "eval" / "test_uncovered.jsonl"
BANK_FAQ = ROOT / "tests" / "kb" / "data" / "bank_faq.yml"
BANK_DEV = ROOT / "tests" / "kb" / "data" / "bank_dev.jsonl"
BANK_TEST = ROOT / "tests" / "kb" / "data" / "bank_test.jsonl"

console = Console(width=160)


WHOLE_TEST_SPLIT = False


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def latencies_ms(call: Callable[[str], object], queries: list[str]) -> list[float]:
    """One timed call per query, in milliseconds."""
    samples = []
    for query in queries:
        started = time.perf_counter()
        call(query)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def quality_table(encoders: list[str]) -> None:
    collection = load_faqs(FAQ_PATH)
    ids = {faq.id for faq in collection}
    dev = read_eval_file(DEV, ids)
    test = held_out(read_eval_file(TEST, ids), dev)
    table = Table(
        "配置",
        "top-1",
        "top-3",
        "拒答率",
        "错答率",
        "澄清率",
        "p50 ms",
        "p95 ms",
        title=f"检索配置对比（测试集 {len(test)} 条，开发集 {len(dev)} 条校准，单线程、batch 1）",
        box=box.MARKDOWN,
    )
    lexical_done = False
    with tempfile.TemporaryDirectory() as scratch:
        for spec in encoders:
            started = time.perf_counter()
            encoder = load_encoder(spec)
            load_seconds = time.perf_counter() - started
            directory, _ = build_index(collection, encoder, spec, Path(scratch) / spec)
            kb = KnowledgeBase.load(directory, encoder=encoder)
            tokenizer = Tokenizer()
            tokenizer.initialize()
            rows: list[tuple[str, Fusion | None]] = [(f"{spec} 稠密单独", Fusion(1.0))]
            if not lexical_done:
                rows.append(("BM25 单独", Fusion(0.0)))
            rows.append((f"{spec} + BM25 混合", None))
            for label, fixed in rows:
                # A single leg is measured alone: no head, so neither its veto nor
                # its own answers (Thresholds.backed).
                result = calibrate(
                    kb, dev, str(DEV), fixed_fusion=fixed, use_classifier=fixed is None
                )
                kb.with_settings(result.fusion, result.thresholds, result.head)
                report = evaluate(kb, test)
                texts = [item.query for item in test]
                if fixed is not None and fixed.dense_weight == 0.0:
                    # BM25 alone: time only the lexical leg.
                    latencies = latencies_ms(_lexical_only(kb, tokenizer), texts)
                    lexical_done = True
                elif fixed is not None:
                    latencies = latencies_ms(_dense_only(kb), texts)
                else:
                    latencies = latencies_ms(kb.query, texts)
                weight = f"（稠密权重 {result.fusion.dense_weight:.2f}）" if fixed is None else ""
                table.add_row(
                    label + weight,
                    f"{report.top1:.1%}",
                    f"{report.top3:.1%}",
                    f"{report.oos_rejection:.1%}",
                    f"{report.wrong_answer_rate:.1%}",
                    f"{report.clarify_rate:.1%}",
                    f"{percentile(latencies, 50):.2f}",
                    f"{percentile(latencies, 95):.2f}",
                )
            console.print(f"  {spec}: 加载 {load_seconds:.1f} 秒", style="dim")
            del kb, encoder
            gc.collect()
    console.print(table)


# The benchmark times one leg of the KB's private pipeline on purpose.
def _lexical_only(kb: KnowledgeBase, tokenizer: Tokenizer) -> Callable[[str], object]:
    loaded = kb._loaded
    return lambda query: loaded.lexical.scores(tokenizer.tokens(canonicalize(query)))


def _dense_only(kb: KnowledgeBase) -> Callable[[str], object]:
    loaded = kb._loaded
    return lambda query: loaded.dense.search(loaded.encoder.encode([canonicalize(query)])[0], 64)


# Synthetic content: wallet-flavoured questions combined from parts, so that BM25 and
# the encoder see realistic token statistics at any size.
SUBJECTS = [
    "充值",
    "提现",
    "转账",
    "付款",
    "退款",
    "银行卡",
    "信用卡",
    "账户",
    "手续费",
    "二维码",
    "登录密码",
    "支付密码",
    "实名认证",
    "交易记录",
    "跨境汇款",
    "手机号",
    "助记词",
    "优惠券",
    "积分",
    "会员",
    "发票",
    "余额",
    "红包",
    "理财",
    "限额",
    "账单",
    "客服",
    "App",
    "邮箱",
    "验证",
]
PROBLEMS = [
    "一直没到账",
    "失败了",
    "怎么操作",
    "要多久",
    "被冻结了",
    "显示处理中",
    "收费吗",
    "在哪里设置",
    "提示异常",
    "金额不对",
    "可以取消吗",
    "有上限吗",
    "怎么修改",
    "查不到记录",
    "为什么被拒绝",
    "能不能加急",
    "是不是安全",
    "需要什么材料",
]
CONTEXTS = [
    "昨天",
    "刚才",
    "周末",
    "月底",
    "第一次",
    "用工行卡",
    "用招行卡",
    "在国外",
    "给朋友",
    "在商店",
    "晚上",
    "节假日",
    "急用",
    "大额",
    "小额",
    "用新手机",
    "换了号码",
    "出差时",
]


def synthetic_collection(entries: int, rows_per_faq: int = 10) -> FAQCollection:
    rng = random.Random(entries)
    faqs = []
    for number in range(entries // rows_per_faq):
        subject = rng.choice(SUBJECTS)
        texts = [
            f"{rng.choice(CONTEXTS)}{subject}{rng.choice(PROBLEMS)}（{number}-{k}）"
            for k in range(rows_per_faq)
        ]
        faqs.append(
            FAQ(
                id=f"synthetic_{number}",
                category=Category.OTHER,
                question=texts[0],
                paraphrases=(*texts[1:], f"合成條目{number}號"),
                answer=f"第 {number} 个合成答案。",
            )
        )
    return FAQCollection(tuple(faqs), f"synthetic-{entries}")


def scale_table(sizes: list[int], configured_spec: str) -> None:
    table = Table(
        "条目数",
        "编码器",
        "索引",
        "构建总时长 s",
        "其中编码 s",
        "查询 p50 ms",
        "查询 p95 ms",
        "索引大小 MB",
        "RSS 增量 MB",
        title=f"规模测试（合成条目，KEFU_ENCODER={configured_spec}，单线程查询）",
        box=box.MARKDOWN,
    )
    queries = [f"{c}{s}{p}" for c, s, p in zip(CONTEXTS * 3, SUBJECTS, PROBLEMS * 2, strict=False)]
    for size in sizes:
        collection = synthetic_collection(size)
        texts = [canonicalize(t) for faq in collection for t in faq.texts]
        encoder_spec = resolve_spec(configured_spec, len(texts))
        encoder = load_encoder(encoder_spec)
        encode_started = time.perf_counter()
        encoder.encode(texts[:2000])
        encode_seconds = (time.perf_counter() - encode_started) * len(texts) / min(len(texts), 2000)
        for index_type in ("flat", "hnsw"):
            gc.collect()
            before = rss_mb()
            with tempfile.TemporaryDirectory() as scratch:
                faiss.omp_set_num_threads(os.cpu_count() or 1)  # the build may use every core
                started = time.perf_counter()
                directory, _ = build_index(
                    collection, encoder, encoder_spec, Path(scratch), index_type=index_type
                )
                build_seconds = time.perf_counter() - started
                kb = KnowledgeBase.load(directory, encoder=encoder)  # sets FAISS to 1 thread
                latencies = latencies_ms(kb.query, queries * 4)
                size_mb = (directory / "dense.faiss").stat().st_size / 1e6
                after = rss_mb()
                table.add_row(
                    f"{len(texts):,}",
                    encoder_spec,
                    index_type,
                    f"{build_seconds:.1f}",
                    f"{encode_seconds:.1f}",
                    f"{percentile(latencies, 50):.2f}",
                    f"{percentile(latencies, 95):.2f}",
                    f"{size_mb:.0f}",
                    f"{after - before:.0f}",
                )
                del kb
    console.print(table)


def held_out(test: list[LabelledQuery], dev: list[LabelledQuery]) -> list[LabelledQuery]:
    """The test questions to measure on: by default those the dev split does not repeat
    (the dev questions teach the head, which remembers them); `--whole-test-split` keeps
    all of them, as the figures before the head learned from the dev split were taken."""
    return test if WHOLE_TEST_SPLIT else unseen(test, dev)


def sparse_tables(encoders: list[str], seeds: list[int]) -> None:
    """The headline: k paraphrases per entry, before (dense + BM25) and after (+ head)."""
    collection = load_faqs(FAQ_PATH)
    ids = {faq.id for faq in collection}
    dev = read_eval_file(DEV, ids)
    test = held_out(read_eval_file(TEST, ids), dev)
    uncovered = held_out(read_eval_file(UNCOVERED, ids), dev)
    started = time.perf_counter()
    results = run_sparse(collection, dev, test, encoders, uncovered=uncovered, seeds=seeds)
    table = Table(
        "编码器",
        "打分",
        "每条释义数 k",
        "top-1",
        "错答率",
        "拒答率（范围外）",
        "澄清率",
        "直接答对率",
        "范围外给选项",
        "未覆盖：被回答 / 给选项",
        "校准点",
        title=(
            f"稀疏释义基准（{len(collection)} 个条目，开发集 {len(dev)} 条校准，"
            f"测试集 {len(test)} 条评测，另有 FAQ 没覆盖的同领域问题 {len(uncovered)} 条，"
            f"种子 {','.join(map(str, seeds))}）"
        ),
        box=box.MARKDOWN,
    )
    groups: dict[tuple[str, str, int], list[SparseResult]] = {}
    for result in results:
        groups.setdefault((result.encoder, result.scoring, result.k), []).append(result)
    for (spec, scoring, k), group in groups.items():
        mean = mean_report([r.report for r in group])
        outside = mean_report([r.uncovered for r in group])
        first = group[0].calibration
        table.add_row(
            spec,
            scoring,
            "全部" if k == ALL else str(k),
            f"{mean['top1']:.1%}",
            f"{mean['wrong_answer_rate']:.1%}",
            f"{mean['oos_rejection']:.1%}",
            f"{mean['clarify_rate']:.1%}",
            f"{mean['direct_answer_rate']:.1%}",
            f"{mean['oos_clarify_rate']:.1%}",
            f"{1 - outside['oos_rejection']:.1%} / {outside['oos_clarify_rate']:.1%}",
            _point(first),
        )
    console.print(table)
    console.print(f"  用时 {time.perf_counter() - started:.0f} 秒", style="dim")


def _point(calibration: Calibration) -> str:
    fusion, thresholds = calibration.fusion, calibration.thresholds
    return (
        f"稠密 {fusion.dense_weight:.1f} 分类头 {fusion.classifier_weight:.2f}；"
        f"答 ≥{thresholds.answer:.3f} 领先 ≥{thresholds.margin:.2f} 澄清 ≥{thresholds.clarify:.3f}"
        + (f" 分类头 ≥{thresholds.backed:.2f}" if thresholds.backed is not None else "")
    )


def calibration_curve(spec: str) -> None:
    """The chosen point and the dev curve of the default configuration (all paraphrases)."""
    collection = load_faqs(FAQ_PATH)
    ids = {faq.id for faq in collection}
    dev = read_eval_file(DEV, ids)
    encoder = CachedEncoder(spec)
    with tempfile.TemporaryDirectory() as scratch:
        directory, _ = build_index(collection, encoder, spec, Path(scratch))
        kb = KnowledgeBase.load(directory, encoder=encoder)
        calibration = calibrate(kb, dev, str(DEV))
    encoder.save()
    table = Table(
        "回答阈值",
        "直接答对（范围内）",
        "错答（全部）",
        "范围外被回答",
        title=f"校准曲线（{spec}，全部释义，开发集；领先 ≥ {calibration.thresholds.margin:.2f}）",
        box=box.MARKDOWN,
    )
    for point in calibration.curve:
        chosen = abs(point.answer - calibration.thresholds.answer) < 1e-9
        table.add_row(
            f"{point.answer:.3f}" + (" ← 选中" if chosen else ""),
            f"{point.answered_correctly:.1%}",
            f"{point.wrong:.1%}",
            f"{point.oos_answered:.1%}",
        )
    console.print(table)
    console.print(
        f"  选中：{_point(calibration)}（预算：错答 ≤ {WRONG_ANSWER_BUDGET:.0%}、"
        f"范围外被回答 ≤ {OOS_ANSWERED_BUDGET:.0%}，按 Wilson 上界 z = {BUDGET_CONFIDENCE_Z}）"
    )


def other_faq_table(encoders: list[str]) -> None:
    """A second, unrelated FAQ (a bank's, 8 paraphrases per entry): does the recipe carry?"""
    collection = load_faqs(BANK_FAQ)
    ids = {faq.id for faq in collection}
    dev = read_eval_file(BANK_DEV, ids)
    test = held_out(read_eval_file(BANK_TEST, ids), dev)
    results = run_sparse(collection, dev, test, encoders, ks=(ALL,))
    table = Table(
        "编码器",
        "打分",
        "top-1",
        "错答率",
        "拒答率",
        "澄清率",
        "直接答对率",
        "范围外给选项",
        title=f"另一份 FAQ（银行，{len(collection)} 个条目，每条 8 条释义；测试集 {len(test)} 条）",
        box=box.MARKDOWN,
    )
    for result in results:
        report = result.report
        table.add_row(
            result.encoder,
            result.scoring,
            f"{report.top1:.1%}",
            f"{report.wrong_answer_rate:.1%}",
            f"{report.oos_rejection:.1%}",
            f"{report.clarify_rate:.1%}",
            f"{report.direct_answer_rate:.1%}",
            f"{report.oos_clarify_rate:.1%}",
        )
    console.print(table)


def latency_table(encoders: list[str]) -> None:
    """In-process query latency with the real encoder (no cache), batch 1, one thread."""
    collection = load_faqs(FAQ_PATH)
    ids = {faq.id for faq in collection}
    test = read_eval_file(TEST, ids)
    texts = [item.query for item in test]
    table = Table("编码器", "查询 p50 ms", "查询 p95 ms", "构建 s（编码+分类头）", box=box.MARKDOWN)
    with tempfile.TemporaryDirectory() as scratch:
        for spec in encoders:
            encoder = load_encoder(spec)
            started = time.perf_counter()
            directory, _ = build_index(collection, encoder, spec, Path(scratch) / spec)
            build_seconds = time.perf_counter() - started
            kb = KnowledgeBase.load(directory, encoder=encoder)
            latencies = latencies_ms(kb.query, texts)
            table.add_row(
                spec,
                f"{percentile(latencies, 50):.2f}",
                f"{percentile(latencies, 95):.2f}",
                f"{build_seconds:.1f}",
            )
            del kb, encoder
            gc.collect()
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoders", default="e5-small-int8,use,e5-small")
    parser.add_argument("--seeds", default="0,1,2", help="稀疏释义抽样的随机种子，逗号分隔")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--skip-sparse", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--legacy-quality", action="store_true", help="旧的编码器单腿对比表")
    parser.add_argument("--scale", action="store_true", help="1k/10k/100k 规模测试（较慢）")
    parser.add_argument("--scale-encoder", default="auto")
    parser.add_argument(
        "--whole-test-split",
        action="store_true",
        help="在整个测试集上评测（默认去掉与开发集相同的问题：分类头学过开发集）",
    )
    arguments = parser.parse_args()
    global WHOLE_TEST_SPLIT  # noqa: PLW0603 - one switch for every table of this run
    WHOLE_TEST_SPLIT = arguments.whole_test_split
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    encoders = arguments.encoders.split(",")
    if not arguments.skip_sparse:
        sparse_tables(encoders, [int(seed) for seed in arguments.seeds.split(",")])
        calibration_curve(encoders[0])
        other_faq_table(encoders)
    if not arguments.skip_latency:
        latency_table(encoders)
    if arguments.legacy_quality:
        quality_table(encoders)
    if arguments.scale:
        sizes = [int(size) for size in arguments.sizes.split(",")]
        scale_table(sizes, arguments.scale_encoder)


if __name__ == "__main__":
    main()
