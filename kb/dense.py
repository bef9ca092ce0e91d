"""The dense leg: FAISS inner-product search over unit vectors.

A flat index is exact and, for a KB of hundreds or a few thousand rows, faster than
any graph. Past ``HNSW_THRESHOLD`` rows a brute-force scan per query gets too slow for
the latency budget, so the build switches to HNSW on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import faiss
import numpy as np
from numpy.typing import NDArray

HNSW_THRESHOLD = 20_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96

IndexType = Literal["flat", "hnsw"]


def choose_index_type(rows: int) -> IndexType:
    return "hnsw" if rows > HNSW_THRESHOLD else "flat"


class DenseIndex:
    def __init__(self, index: faiss.Index, index_type: IndexType) -> None:
        self._index = index
        self.index_type: IndexType = index_type
        if index_type == "hnsw":
            faiss.ParameterSpace().set_index_parameter(index, "efSearch", HNSW_EF_SEARCH)

    @property
    def rows(self) -> int:
        return int(self._index.ntotal)

    @classmethod
    def build(cls, vectors: NDArray[np.float32], index_type: IndexType | None = None) -> DenseIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        chosen = index_type or choose_index_type(len(vectors))
        dim = vectors.shape[1]
        index: faiss.Index
        if chosen == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index = hnsw
        else:
            index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return cls(index, chosen)

    def search(
        self, vector: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The k nearest rows to one query vector, best first, as (row ids, cosines)."""
        k = min(k, self.rows)
        scores, rows = self._index.search(np.ascontiguousarray(vector.reshape(1, -1)), k)
        keep = rows[0] >= 0  # HNSW may return fewer than k
        return rows[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def vectors(self) -> NDArray[np.float32]:
        """Every stored row vector, in row order (flat and HNSW-flat keep them as given)."""
        stored: NDArray[np.float32] = self._index.reconstruct_n(0, self.rows)
        return stored

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, index_type: IndexType) -> DenseIndex:
        return cls(faiss.read_index(str(path)), index_type)


# Rows sampled to estimate the background similarity: the mean over ~2M pairs is stable
# to the third decimal, and the cost stays flat on a 100k-row build.
BACKGROUND_SAMPLE = 2000


def background_similarity(
    vectors: NDArray[np.float32], owners: NDArray[np.int32], seed: int = 0
) -> float:
    """The mean cosine between rows of different entries: what "unrelated" scores here.

    Encoders differ wildly in it (e5 puts unrelated texts at about 0.86, USE at 0.30),
    and so do FAQs of different density; measuring cosines from it makes one answer
    threshold mean the same thing on any KB.
    """
    if len(vectors) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    chosen = (
        rng.choice(len(vectors), BACKGROUND_SAMPLE, replace=False)
        if len(vectors) > BACKGROUND_SAMPLE
        else np.arange(len(vectors))
    )
    sample = np.asarray(vectors[chosen], dtype=np.float32)
    different = owners[chosen][:, None] != owners[chosen][None, :]
    if not different.any():
        # One entry only: its paraphrases among themselves are the best estimate left
        # (an overestimate, so the KB errs towards not answering).
        different = ~np.eye(len(chosen), dtype=bool)
    return float((sample @ sample.T)[different].mean())


def relative_to_background(cosines: NDArray[np.float32], background: float) -> NDArray[np.float32]:
    """Cosines rescaled so that the background maps to 0 and identity to 1."""
    if background <= 0.0 or background >= 1.0:
        return cosines
    scale = np.float32(1.0 - background)
    rescaled: NDArray[np.float32] = np.clip(
        (cosines - np.float32(background)) / scale, 0.0, 1.0
    ).astype(np.float32)
    return rescaled
