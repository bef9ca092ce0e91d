"""The classifier head: taught by labelled questions with held-out scores for
calibration, and an out-of-scope class that is never reported as an entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.classifier import ClassifierHead
from kb.knowledge_base import outside_of

DIM = 16


def _around(centre: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    vectors = centre + 0.15 * rng.standard_normal((count, DIM))
    normalised: np.ndarray = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(
        np.float32
    )
    return normalised


def _setting() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three entries' rows around three directions; labelled questions around them, plus
    out-of-scope ones around a fourth direction no entry has."""
    rng = np.random.default_rng(7)
    centres = np.eye(DIM, dtype=np.float32)[:4]
    rows = np.vstack([_around(centres[entry], 6, rng) for entry in range(3)])
    owners = np.repeat(np.arange(3, dtype=np.int32), 6)
    examples = np.vstack([_around(centres[entry], 10, rng) for entry in range(4)])
    example_owners = np.repeat(np.arange(4, dtype=np.int32), 10)  # 3 = out of scope
    return centres, rows, owners, examples, example_owners


def test_the_out_of_scope_class_takes_probability_from_every_entry() -> None:
    centres, rows, owners, examples, example_owners = _setting()
    learned = ClassifierHead.cross_fitted(rows, owners, 3, examples, example_owners)
    assert learned is not None
    head, held_out = learned
    assert head.outside and head.entries == 3
    plain = ClassifierHead.train(rows, owners, 3)
    assert plain is not None and not plain.outside
    unrelated = centres[3]
    # Without the class some entry takes it all; with it, no entry looks likely.
    assert plain.probabilities(unrelated).sum() > 0.99
    assert head.probabilities(unrelated).max() < 0.3
    assert head.probabilities(centres[1]).argmax() == 1
    assert held_out.shape == (len(examples), 3)


def test_held_out_scores_come_from_heads_that_were_not_taught_the_question() -> None:
    centres, rows, owners, examples, example_owners = _setting()
    # One question worded unlike anything of its entry: labelled entry 0, placed at 2.
    odd = len(examples)
    examples = np.vstack([examples, centres[2][None, :]])
    example_owners = np.append(example_owners, np.int32(0))
    learned = ClassifierHead.cross_fitted(rows, owners, 3, examples, example_owners)
    assert learned is not None
    head, held_out = learned
    # Calibration must see the unseen-question view (entry 2 wins), not the memorised one.
    assert held_out[odd].argmax() == 2
    assert head.probabilities(examples[odd])[0] > held_out[odd][0]
    # The others, worded like their entries, mostly keep them when held out (the odd
    # question pulls a few of entry 2's towards entry 0 in the folds it taught).
    in_scope = example_owners[:odd] < 3
    kept = held_out[:odd][in_scope].argmax(axis=1) == example_owners[:odd][in_scope]
    assert kept.mean() >= 0.8


def test_a_saved_head_loads_with_its_out_of_scope_class(tmp_path: Path) -> None:
    _, rows, owners, examples, example_owners = _setting()
    learned = ClassifierHead.cross_fitted(rows, owners, 3, examples, example_owners)
    assert learned is not None
    head = learned[0]
    path = tmp_path / "classifier.npz"
    head.save(path)
    loaded = ClassifierHead.load(path)
    assert loaded is not None and loaded.outside and loaded.entries == 3
    assert np.allclose(loaded.probabilities(examples[0]), head.probabilities(examples[0]))
    assert [p.name for p in tmp_path.iterdir()] == ["classifier.npz"]  # no staging left


def test_the_out_of_scope_probability_is_what_the_entries_leave() -> None:
    centres, rows, owners, examples, example_owners = _setting()
    taught = ClassifierHead.taught(rows, owners, 3, examples, example_owners)
    plain = ClassifierHead.train(rows, owners, 3)
    assert taught is not None and plain is not None
    unrelated = taught.probabilities(centres[3])
    assert outside_of(taught, unrelated) > 0.7
    assert outside_of(taught, taught.probabilities(centres[0])) < 0.3
    # A head never taught out-of-scope questions has no such class, whatever it says.
    assert outside_of(plain, plain.probabilities(centres[3])) == 0.0
