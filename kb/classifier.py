"""A classifier head trained at build time: softmax regression from a text's embedding
to the FAQ it belongs to, fitted on the entries' questions and paraphrases.

Cosine similarity asks "which stored wording is closest"; the head asks "which entry's
wordings does this look like, as opposed to the others'". With the few paraphrases real
maintainers write, the second question generalises better: the head learns which
directions separate two neighbouring entries instead of relying on one lucky paraphrase.

Its output is a probability over the entries, so its scale does not depend on the
encoder; it still needs the similarity legs to notice out-of-scope questions, since a
softmax always picks somebody.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

# L2 penalty, chosen on the dev split over k = 1..all paraphrases and both encoders:
# weaker and the head overfits k = 1, stronger and its probabilities go flat.
L2_PENALTY = 1e-4
ITERATIONS = 400
# Training cost grows with rows × dim × entries (per iteration); past this the build
# would take more than a few seconds on 2 cores, and the KB uses dense + BM25 alone.
MAX_TRAINING_COST = 1e8


class ClassifierHead:
    """Softmax regression on centred, re-normalised embeddings.

    Centring removes the direction every text shares (e5's cosines bunch at 0.8–0.9
    because of it), so the head sees what tells entries apart.
    """

    def __init__(
        self, weights: NDArray[np.float32], bias: NDArray[np.float32], mean: NDArray[np.float32]
    ) -> None:
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)  # (dim, entries)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self.mean = np.ascontiguousarray(mean, dtype=np.float32)

    @property
    def entries(self) -> int:
        return int(self.bias.shape[0])

    @staticmethod
    def affordable(rows: int, dim: int, entries: int) -> bool:
        return entries >= 2 and rows * dim * entries <= MAX_TRAINING_COST

    @classmethod
    def train(
        cls, vectors: NDArray[np.float32], owners: NDArray[np.int32], entries: int
    ) -> ClassifierHead | None:
        """Fit on (row vector, owning entry); None when too costly or too few entries."""
        if not cls.affordable(len(vectors), int(vectors.shape[1]), entries):
            return None
        # Small matrices: BLAS threads only fight each other (10x slower on 2 busy cores).
        with threadpool_limits(1):
            return cls._fit(vectors, owners, entries)

    @classmethod
    def _fit(
        cls, vectors: NDArray[np.float32], owners: NDArray[np.int32], entries: int
    ) -> ClassifierHead:
        mean = vectors.mean(axis=0).astype(np.float32)
        features = _centred(vectors, mean)
        targets = np.zeros((len(vectors), entries), dtype=np.float32)
        targets[np.arange(len(vectors)), owners] = 1.0
        weights = np.zeros((features.shape[1], entries), dtype=np.float32)
        bias = np.zeros(entries, dtype=np.float32)
        weights_step = np.zeros_like(weights)
        bias_step = np.zeros_like(bias)
        # Nesterov gradient descent on the convex loss. Rows have unit length, so the
        # loss is at most 1/2-smooth and a step of 1 is safe.
        learning_rate, momentum = np.float32(1.0), np.float32(0.9)
        rows = np.float32(len(features))
        for _ in range(ITERATIONS):
            ahead_weights = weights + momentum * weights_step
            ahead_bias = bias + momentum * bias_step
            error = (_softmax(features @ ahead_weights + ahead_bias) - targets) / rows
            weights_gradient = features.T @ error + np.float32(L2_PENALTY) * ahead_weights
            weights_step = momentum * weights_step - learning_rate * weights_gradient
            bias_step = momentum * bias_step - learning_rate * error.sum(axis=0)
            weights += weights_step
            bias += bias_step
        # An entry without rows never wins.
        bias[np.bincount(owners, minlength=entries) == 0] = -1e4
        return cls(weights, bias, mean)

    def probabilities(self, vector: NDArray[np.float32]) -> NDArray[np.float32]:
        features = _centred(vector.reshape(1, -1), self.mean)
        probabilities: NDArray[np.float32] = _softmax(features @ self.weights + self.bias)[0]
        return probabilities

    def save(self, path: Path) -> None:
        np.savez(path, weights=self.weights, bias=self.bias, mean=self.mean)

    @classmethod
    def load(cls, path: Path) -> ClassifierHead | None:
        if not path.exists():
            return None
        with np.load(path) as stored:
            return cls(stored["weights"], stored["bias"], stored["mean"])


def _centred(vectors: NDArray[np.float32], mean: NDArray[np.float32]) -> NDArray[np.float32]:
    centred = np.asarray(vectors, dtype=np.float32) - mean
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    result: NDArray[np.float32] = centred / np.maximum(norms, np.float32(1e-12))
    return result


def _softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: NDArray[np.float32] = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return result
