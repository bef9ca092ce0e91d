"""Sparse-paraphrase benchmark (part of `make bench-kb`).

Real maintainers write 3–8 paraphrases per entry, not 30. For k = 1, 3, 8 and all, every
entry keeps its question and a seeded sample of k paraphrases; the KB is rebuilt from
that, calibrated on the dev split exactly as `kefu kb build` does, and measured on the
held-out test split. Each encoder is compared with and without the classifier head.

Embeddings are cached under var/cache/bench (keyed by encoder and text), so a rerun
encodes nothing and the whole table takes well under a minute per encoder.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.content import FAQ, FAQCollection
from kb.encoders import Encoder, FloatMatrix, load_encoder
from kb.evaluation import (
    Calibration,
    EvalReport,
    LabelledQuery,
    calibrate,
    evaluate,
    summarize,
)
from kb.index import build_index, default_settings
from kb.knowledge_base import KnowledgeBase
from kb.text import canonicalize

CACHE_DIR = Path(__file__).resolve().parents[1] / "var" / "cache" / "bench"
ALL = 0  # k meaning "every paraphrase"


class CachedEncoder:
    """Caches single texts (queries, as the KB encodes them) on disk; batches (index rows)
    always go to the real encoder, in the same chunks a real build uses.

    int8 models quantise activations per batch, so a row's vector depends a little on its
    batch-mates: reusing a vector computed beside other rows would measure a KB that
    production never builds.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.name = spec
        self._encoder: Encoder | None = None
        # Keyed by the weights too: a re-exported model must not reuse old query vectors.
        self.revision = self.real().revision
        key = hashlib.sha1(f"{spec}@{self.revision}".encode()).hexdigest()[:12]
        self._path = CACHE_DIR / f"{key}-queries.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if self._path.exists():
            with np.load(self._path, allow_pickle=False) as stored:
                self._vectors = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
        self.dim = self.real().dim

    def real(self) -> Encoder:
        if self._encoder is None:
            self._encoder = load_encoder(self.spec)
        return self._encoder

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        if len(texts) != 1:
            return self.real().encode(texts)
        text = texts[0]
        if text not in self._vectors:
            self._vectors[text] = self.real().encode([text])[0]
            self._dirty = True
        return self._vectors[text][None, :].astype(np.float32)

    def warm_queries(self, texts: Sequence[str]) -> None:
        """Encode queries one at a time, as the KB does when it answers them."""
        for text in texts:
            self.encode([text])

    def save(self) -> None:
        if not self._dirty:
            return
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        texts = list(self._vectors)
        np.savez(
            self._path,
            texts=np.array(texts),
            vectors=np.stack([self._vectors[t] for t in texts]),
        )
        self._dirty = False


def sparse_collection(collection: FAQCollection, k: int, seed: int) -> FAQCollection:
    """Each entry's question plus a seeded sample of k of its paraphrases (all when k=0)."""
    faqs = []
    for faq in collection:
        paraphrases = list(faq.paraphrases)
        if k != ALL and k < len(paraphrases):
            paraphrases = random.Random(f"{seed}:{faq.id}").sample(paraphrases, k)
        # model_construct: fewer paraphrases than the content rules ask for is the point.
        faqs.append(FAQ.model_construct(**{**faq.__dict__, "paraphrases": tuple(paraphrases)}))
    return FAQCollection(tuple(faqs), f"{collection.content_hash}-k{k}-s{seed}")


# How a KB gets its fusion and thresholds: calibrated on the dev split without the
# classifier head, with the head the paraphrases taught, with the head the dev split's
# labelled questions taught as well (what `kefu kb build` does), or the encoder's fixed
# defaults (a FAQ that comes with no dev split).
DEFAULTS_SCORING = "defaults (no dev split)"
PARAPHRASE_HEAD = "dense+BM25+head (paraphrases only)"
TAUGHT_HEAD = "dense+BM25+head"
SCORINGS = (
    ("dense+BM25", False, False),
    (PARAPHRASE_HEAD, True, False),
    (TAUGHT_HEAD, True, True),
    (DEFAULTS_SCORING, False, False),
)


def defaults_only(spec: str) -> Calibration:
    fusion, thresholds = default_settings(spec)
    empty = summarize([])
    return Calibration(fusion, thresholds, empty, "none", "defaults", "no dev split")


@dataclass(frozen=True)
class SparseResult:
    encoder: str
    scoring: str  # one of SCORINGS
    k: int
    report: EvalReport
    # The same-domain questions the FAQ does not cover (data/eval/test_uncovered.jsonl).
    uncovered: EvalReport
    calibration: Calibration
    near_duplicates: int
    build_seconds: float


def run_sparse(
    collection: FAQCollection,
    dev: Sequence[LabelledQuery],
    test: Sequence[LabelledQuery],
    encoder_specs: Sequence[str],
    *,
    uncovered: Sequence[LabelledQuery] = (),
    ks: Sequence[int] = (1, 3, 8, ALL),
    seeds: Sequence[int] = (0,),
) -> list[SparseResult]:
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for spec in encoder_specs:
            encoder = CachedEncoder(spec)
            # Warm the cache (queries are canonicalised like the KB does).
            asked = (*dev, *test, *uncovered)
            encoder.warm_queries([canonicalize(q.query) for q in asked])
            for k in ks:
                for seed in seeds:
                    sparse = sparse_collection(collection, k, seed)
                    started = time.perf_counter()
                    directory, _ = build_index(sparse, encoder, spec, Path(scratch) / spec)
                    build_seconds = time.perf_counter() - started
                    for scoring, head, taught in SCORINGS:
                        # Fresh each time: a taught head must not leak into the next scoring.
                        kb = KnowledgeBase.load(directory, encoder=encoder)
                        if scoring == DEFAULTS_SCORING:
                            calibration = defaults_only(spec)
                        else:
                            calibration = calibrate(
                                kb, dev, "dev", use_classifier=head, teach_head=taught
                            )
                        kb.with_settings(
                            calibration.fusion, calibration.thresholds, calibration.head
                        )
                        results.append(
                            SparseResult(
                                spec,
                                scoring,
                                k,
                                evaluate(kb, test),
                                evaluate(kb, uncovered),
                                calibration,
                                len(kb.near_duplicates),
                                build_seconds,
                            )
                        )
            encoder.save()
    return results


def mean_report(reports: Sequence[EvalReport]) -> dict[str, float]:
    fields = (
        "top1",
        "wrong_answer_rate",
        "oos_rejection",
        "clarify_rate",
        "direct_answer_rate",
        "oos_clarify_rate",
    )
    return {name: float(np.mean([getattr(r, name) for r in reports])) for name in fields}
