"""Dense scores count from the KB's own background, so thresholds carry across KBs."""

from __future__ import annotations

import numpy as np

from kb.dense import BACKGROUND_SAMPLE, background_similarity, relative_to_background
from kb.encoders import l2_normalize
from kb.knowledge_base import KnowledgeBase


def test_background_is_the_mean_cosine_between_different_entries() -> None:
    rng = np.random.default_rng(0)
    vectors = l2_normalize(rng.normal(size=(60, 16)).astype(np.float32))
    owners = np.repeat(np.arange(12, dtype=np.int32), 5)
    cosines = vectors @ vectors.T
    expected = cosines[owners[:, None] != owners[None, :]].mean()
    assert abs(background_similarity(vectors, owners) - expected) < 1e-5
    # Rows of the same entry do not count: identical within entries, orthogonal across.
    orthogonal = np.repeat(np.eye(12, 16, dtype=np.float32), 5, axis=0)
    assert background_similarity(orthogonal, owners) == 0.0


def test_background_of_a_large_kb_is_estimated_from_a_sample() -> None:
    rng = np.random.default_rng(1)
    shared = rng.normal(size=32)
    rows = BACKGROUND_SAMPLE * 3
    vectors = l2_normalize((rng.normal(size=(rows, 32)) + 2 * shared).astype(np.float32))
    owners = np.arange(rows, dtype=np.int32) // 4
    estimate = background_similarity(vectors, owners)
    exact_sample = vectors[:3000] @ vectors[:3000].T
    assert abs(estimate - float(exact_sample.mean())) < 0.01
    assert estimate > 0.5  # a shared direction, as e5's vectors have


def test_rescaling_maps_background_to_zero_and_identity_to_one() -> None:
    cosines = np.array([0.5, 0.86, 0.93, 1.0], dtype=np.float32)
    rescaled = relative_to_background(cosines, 0.86)
    assert rescaled[0] == 0.0 and rescaled[1] == 0.0
    assert abs(rescaled[2] - 0.5) < 1e-5 and abs(rescaled[3] - 1.0) < 1e-6
    # Old builds (no background recorded) keep their raw cosines.
    assert np.array_equal(relative_to_background(cosines, 0.0), cosines)


def test_built_kb_records_its_background(knowledge_base: KnowledgeBase) -> None:
    background = knowledge_base.manifest.dense_background
    assert 0.1 < background < 0.6  # USE: unrelated wallet questions sit near 0.3
    scores = knowledge_base.component_scores("今天天气怎么样")
    assert scores.dense.min() >= 0.0 and scores.dense.max() <= 1.0


def test_a_single_entry_kb_still_gets_a_background() -> None:
    # No pairs of different entries: the paraphrases among themselves stand in, so the
    # KB errs towards not answering instead of reading raw e5 cosines as near-certain.
    rng = np.random.default_rng(2)
    shared = rng.normal(size=16)
    vectors = l2_normalize((rng.normal(size=(6, 16)) + 3 * shared).astype(np.float32))
    background = background_similarity(vectors, np.zeros(6, dtype=np.int32))
    assert background > 0.5
