"""The publish-time vector cache: each text encoded once per encoder and weights."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from support.knowledge.embeddings import EmbeddingCache


class _Hashing:
    """A tiny deterministic encoder whose vectors depend on its revision."""

    name = "hashing"
    dim = 8

    def __init__(self, revision: str) -> None:
        self.revision = revision
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        rows = [
            np.frombuffer(hashlib.sha256(f"{self.revision}:{t}".encode()).digest()[:8], np.uint8)
            for t in texts
        ]
        matrix = np.stack(rows).astype(np.float32) + 1
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_texts_are_encoded_once_and_shared_across_processes(tmp_path: Path) -> None:
    encoder = _Hashing("1")
    first = EmbeddingCache(tmp_path, "hashing", encoder.revision)
    vectors = first.vectors(encoder, ["怎么提现", "忘记密码"])
    assert first.encoded == 2
    # Another process (a fresh cache object on the same folder) reads the shard.
    second = EmbeddingCache(tmp_path, "hashing", encoder.revision)
    again = second.vectors(encoder, ["忘记密码", "怎么提现", "新的问法"])
    assert second.encoded == 1
    assert np.array_equal(again[:2], vectors[::-1])


def test_new_weights_do_not_reuse_vectors_of_the_old_ones(tmp_path: Path) -> None:
    old, new = _Hashing("1"), _Hashing("2")
    EmbeddingCache(tmp_path, "hashing", old.revision).vectors(old, ["怎么提现"])
    cache = EmbeddingCache(tmp_path, "hashing", new.revision)
    vector = cache.vectors(new, ["怎么提现"])
    assert cache.encoded == 1 and new.calls == 1
    assert np.allclose(vector, new.encode(["怎么提现"]))
