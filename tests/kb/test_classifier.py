"""The classifier head: taught by labelled questions with held-out scores for
calibration, and an out-of-scope class that is never reported as an entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.classifier import WORDING_WEIGHT, ClassifierHead, LabelledTexts, wording_features
from kb.knowledge_base import outside_of

DIM = 16


def _around(centre: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    vectors = centre + 0.15 * rng.standard_normal((count, DIM))
    normalised: np.ndarray = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(
        np.float32
    )
    return normalised


def _unworded(vectors: np.ndarray, owners: np.ndarray) -> LabelledTexts:
    """Texts known by their embedding alone (empty wording)."""
    return LabelledTexts(vectors.astype(np.float32), [""] * len(vectors), owners.astype(np.int32))


def _setting() -> tuple[np.ndarray, LabelledTexts, LabelledTexts]:
    """Three entries' rows around three directions; labelled questions around them, plus
    out-of-scope ones around a fourth direction no entry has."""
    rng = np.random.default_rng(7)
    centres = np.eye(DIM, dtype=np.float32)[:4]
    rows = np.vstack([_around(centres[entry], 6, rng) for entry in range(3)])
    owners = np.repeat(np.arange(3, dtype=np.int32), 6)
    examples = np.vstack([_around(centres[entry], 10, rng) for entry in range(4)])
    example_owners = np.repeat(np.arange(4, dtype=np.int32), 10)  # 3 = out of scope
    return centres, _unworded(rows, owners), _unworded(examples, example_owners)


def test_the_out_of_scope_class_takes_probability_from_every_entry() -> None:
    centres, rows, examples = _setting()
    learned = ClassifierHead.cross_fitted(rows, 3, examples)
    assert learned is not None
    head, held_out = learned
    assert head.outside and head.entries == 3
    plain = ClassifierHead.train(rows, 3)
    assert plain is not None and not plain.outside
    unrelated = centres[3]
    # Without the class some entry takes it all; with it, no entry looks likely.
    assert plain.probabilities(unrelated, "").sum() > 0.99
    assert head.probabilities(unrelated, "").max() < 0.3
    assert head.probabilities(centres[1], "").argmax() == 1
    assert held_out.shape == (len(examples), 3)


def test_held_out_scores_come_from_heads_that_were_not_taught_the_question() -> None:
    centres, rows, examples = _setting()
    # One question worded unlike anything of its entry: labelled entry 0, placed at 2.
    odd = len(examples)
    examples = examples.plus(_unworded(centres[2][None, :], np.array([0])))
    learned = ClassifierHead.cross_fitted(rows, 3, examples)
    assert learned is not None
    head, held_out = learned
    # Calibration must see the unseen-question view (entry 2 wins), not the memorised one.
    assert held_out[odd].argmax() == 2
    assert head.probabilities(examples.vectors[odd], "")[0] > held_out[odd][0]
    # The others, worded like their entries, mostly keep them when held out (the odd
    # question pulls a few of entry 2's towards entry 0 in the folds it taught).
    owners = examples.owners[:odd]
    kept = held_out[:odd][owners < 3].argmax(axis=1) == owners[owners < 3]
    assert kept.mean() >= 0.8


def test_a_saved_head_loads_with_its_out_of_scope_class(tmp_path: Path) -> None:
    _, rows, examples = _setting()
    learned = ClassifierHead.cross_fitted(rows, 3, examples)
    assert learned is not None
    head = learned[0]
    path = tmp_path / "classifier.npz"
    head.save(path)
    loaded = ClassifierHead.load(path)
    assert loaded is not None and loaded.outside and loaded.entries == 3
    assert np.allclose(
        loaded.probabilities(examples.vectors[0], ""),
        head.probabilities(examples.vectors[0], ""),
    )
    assert [p.name for p in tmp_path.iterdir()] == ["classifier.npz"]  # no staging left


def test_teach_only_questions_get_an_out_of_scope_class_of_their_own(tmp_path: Path) -> None:
    """Off-domain questions on one side of the entries, look-alikes the FAQ does not
    cover on another: one linear "none" class cannot sit in both places, two can."""
    rng = np.random.default_rng(11)
    centres = np.eye(DIM, dtype=np.float32)
    rows = np.vstack([_around(centres[entry], 6, rng) for entry in range(3)])
    owners = np.repeat(np.arange(3, dtype=np.int32), 6)
    off_domain = _around(centres[3], 10, rng)
    look_alikes = _around(-centres[3], 10, rng)  # the opposite side
    examples = _unworded(
        np.vstack([off_domain, look_alikes]),
        np.array([3] * 10 + [4] * 10),  # 3: out of scope, 4: teach-only out of scope
    )
    head = ClassifierHead.taught(_unworded(rows, owners), 3, examples)
    assert head is not None and head.outside == 2 and head.entries == 3
    for place in (centres[3], -centres[3]):
        probabilities = head.probabilities(place, "")
        assert probabilities.shape == (3,)
        assert outside_of(head, probabilities) > 0.7
    assert head.probabilities(centres[0], "").argmax() == 0
    path = tmp_path / "classifier.npz"
    head.save(path)
    with np.load(path) as stored:  # code that knows one such class cannot misread it
        assert "bias" not in stored.files
    loaded = ClassifierHead.load(path)
    assert loaded is not None and loaded.outside == 2 and loaded.entries == 3
    assert np.allclose(loaded.probabilities(-centres[3], ""), head.probabilities(-centres[3], ""))


def test_the_out_of_scope_probability_is_what_the_entries_leave() -> None:
    centres, rows, examples = _setting()
    taught = ClassifierHead.taught(rows, 3, examples)
    plain = ClassifierHead.train(rows, 3)
    assert taught is not None and plain is not None
    unrelated = taught.probabilities(centres[3], "")
    assert outside_of(taught, unrelated) > 0.7
    assert outside_of(taught, taught.probabilities(centres[0], "")) < 0.3
    # A head never taught out-of-scope questions has no such class, whatever it says.
    assert outside_of(plain, plain.probabilities(centres[3], "")) == 0.0


def _same_meaning_other_words() -> tuple[np.ndarray, LabelledTexts]:
    """Two entries whose rows all embed alike (an encoder that blurs 提现 and 充值):
    only their wording tells them apart."""
    rng = np.random.default_rng(3)
    blurred = _around(np.eye(DIM, dtype=np.float32)[0], 1, rng)[0]
    texts = [
        "提现多久到账",
        "提现一直没到账",
        "提现要等几天",
        "充值多久到账",
        "充值一直没到账",
        "充值要等几天",
    ]
    vectors = np.repeat(blurred[None, :], len(texts), axis=0)
    return blurred, LabelledTexts(vectors, texts, np.repeat(np.arange(2, dtype=np.int32), 3))


def test_the_wording_view_tells_apart_entries_the_embedding_blurs() -> None:
    blurred, rows = _same_meaning_other_words()
    head = ClassifierHead.train(rows, 2)
    assert head is not None
    # A new question with the same blurred embedding: its telling characters decide.
    assert head.probabilities(blurred, "我的提现怎么还没到")[0] > 0.7
    assert head.probabilities(blurred, "充值了半天还没到")[1] > 0.7
    # Without telling characters the head has nothing to go on.
    undecided = head.probabilities(blurred, "怎么还没到")
    assert abs(float(undecided[0] - undecided[1])) < 0.2


def test_wording_ignores_case_spaces_and_punctuation() -> None:
    features = wording_features(["ATM 取现，怎么收费？", "atm取现怎么收费", "", "！？"]).toarray()
    assert np.allclose(features[0], features[1])
    assert np.isclose(np.linalg.norm(features[0]), WORDING_WEIGHT)
    # Nothing worded is no evidence either way.
    assert not features[2].any() and not features[3].any()


def test_a_saved_head_keeps_its_wording_and_older_heads_read_embeddings_alone(
    tmp_path: Path,
) -> None:
    blurred, rows = _same_meaning_other_words()
    head = ClassifierHead.train(rows, 2)
    assert head is not None and head.wording is not None
    head.save(tmp_path / "classifier.npz")
    loaded = ClassifierHead.load(tmp_path / "classifier.npz")
    assert loaded is not None and loaded.digest() == head.digest()
    assert np.allclose(loaded.probabilities(blurred, "提现"), head.probabilities(blurred, "提现"))
    # A head saved before the wording view: the same question, however worded, scores alike.
    np.savez(tmp_path / "old.npz", weights=head.weights, bias=head.bias, mean=head.mean)
    old = ClassifierHead.load(tmp_path / "old.npz")
    assert old is not None and old.wording is None
    assert np.allclose(old.probabilities(blurred, "提现"), old.probabilities(blurred, "充值"))


def test_a_head_hashed_another_way_is_refused(tmp_path: Path) -> None:
    _, rows = _same_meaning_other_words()
    head = ClassifierHead.train(rows, 2)
    assert head is not None and head.wording is not None
    np.savez(
        tmp_path / "other.npz",
        weights=head.weights,
        bias=head.bias,
        mean=head.mean,
        outside=np.array(False),
        wording=head.wording,
        wording_scheme=np.array("md5-words-4096"),
    )
    with pytest.raises(ValueError, match="kefu kb build"):
        ClassifierHead.load(tmp_path / "other.npz")


def test_held_out_questions_are_scored_with_their_wording() -> None:
    blurred, rows = _same_meaning_other_words()
    asked = [
        "提现怎么还没到",
        "我的提现呢",
        "提现好慢",
        "充值怎么还没到",
        "我的充值呢",
        "充值好慢",
    ] * 2
    examples = LabelledTexts(
        np.repeat(blurred[None, :], len(asked), axis=0),
        asked,
        np.array([0, 0, 0, 1, 1, 1] * 2, dtype=np.int32),
    )
    learned = ClassifierHead.cross_fitted(rows, 2, examples)
    assert learned is not None
    _, held_out = learned
    # Every embedding is the same: only a head that read each question's words gets these.
    assert (held_out.argmax(axis=1) == examples.owners).all()


def test_every_vector_needs_its_text() -> None:
    blurred, rows = _same_meaning_other_words()
    head = ClassifierHead.train(rows, 2)
    assert head is not None
    with pytest.raises(ValueError):
        head.probabilities_of(np.stack([blurred, blurred]), ["提现"])
