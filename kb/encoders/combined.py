"""A weighted combination of encoders whose inner product is the weighted mean cosine."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kb.encoders import Encoder, FloatMatrix


class WeightedCombination:
    def __init__(self, parts: Sequence[tuple[Encoder, float]]) -> None:
        total = sum(weight for _, weight in parts)
        if len(parts) < 2 or total <= 0 or any(weight <= 0 for _, weight in parts):
            raise ValueError("组合至少需要两个编码器，且权重必须为正数")
        self._parts = [(encoder, weight / total) for encoder, weight in parts]
        self.name = "+".join(f"{encoder.name}@{weight:g}" for encoder, weight in self._parts)
        self.dim = sum(encoder.dim for encoder, _ in self._parts)
        self.revision = "+".join(encoder.revision for encoder, _ in self._parts)

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        # Concatenating sqrt(w_i)·v_i of unit vectors gives a unit vector whose inner
        # product with another such vector is sum_i w_i·cos_i.
        blocks = [
            encoder.encode(texts) * np.float32(math.sqrt(weight)) for encoder, weight in self._parts
        ]
        return np.concatenate(blocks, axis=1).astype(np.float32)
