"""A classifier head trained at build time: softmax regression from a text's embedding
and its wording (hashed characters and character pairs) to the FAQ it belongs to,
fitted on the entries' questions and paraphrases.

Cosine similarity asks "which stored wording is closest"; the head asks "which entry's
wordings does this look like, as opposed to the others'". With the few paraphrases real
maintainers write, the second question generalises better: the head learns which
directions separate two neighbouring entries instead of relying on one lucky paraphrase.

Calibration then teaches it the labelled questions of the dev split as well (see
``ClassifierHead.cross_fitted``), out-of-scope ones included, as one more class: "none
of these entries". Its output is a probability over the entries, so its scale does not
depend on the encoder; it still needs the similarity legs to notice out-of-scope
questions that look like nothing it was taught.

The wording view sees what the embedding blurs: short Chinese questions turn on one or
two telling characters (提现 and 充值, 冻结 and 注销), and users' long messages keep those
characters however much context surrounds them. With it, unseen questions got a direct
answer far more often when maintainers write few paraphrases (README, 「分类头的字面特征」).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from threadpoolctl import threadpool_limits

# L2 penalty, chosen on the dev split over k = 1..all paraphrases and both encoders:
# weaker and the head overfits k = 1, stronger and its probabilities go flat.
L2_PENALTY = 1e-4
ITERATIONS = 400
# Labelled questions teach the head in this many folds during calibration: each is scored
# by a head that was not taught it, so the dev split still measures unseen questions
# (10 folds measured the same on the held-out split at twice the cost).
HELD_OUT_FOLDS = 5
# Training cost grows with rows × dim × classes (per iteration); past this the build
# would take more than a few seconds on 2 cores, and the KB uses dense + BM25 alone.
MAX_TRAINING_COST = 1e8
# The wording view: characters and character pairs hashed into this many buckets (a few
# thousand distinct ones in a FAQ; collisions cost little at this size), each text's
# square-rooted counts at unit length, then scaled by the weight below. Relative to the
# embedding (unit length after centring), 0.3–0.7 all measured alike on the dev split
# and the sparse benchmark; 2 drowned the embedding and did worse than none.
WORDING_BUCKETS = 1024
WORDING_WEIGHT = 0.5
_NOT_WORDING = re.compile(r"[\W_]+")
# Stored with a head and part of every build id (kb.index.build_id_for): a head hashed
# another way must not be read with this one. Change it with anything that changes
# ``_hashed_wording`` (buckets, weight, what is dropped, the lower-casing, the grams).
WORDING_SCHEME = f"crc32-lower-no-punct-chars-1-2-sqrt-{WORDING_BUCKETS}-{WORDING_WEIGHT}-v1"


@dataclass(frozen=True, eq=False)  # arrays do not compare as one truth value
class LabelledTexts:
    """Texts the head learns from, row for row: embedding, canonicalised text (as the KB
    stores and queries it) and the position of the entry it belongs to."""

    vectors: NDArray[np.float32]
    texts: Sequence[str]
    owners: NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.texts)

    def plus(self, other: LabelledTexts) -> LabelledTexts:
        return LabelledTexts(
            np.vstack([self.vectors, other.vectors]),
            [*self.texts, *other.texts],
            np.concatenate([self.owners, other.owners]).astype(np.int32),
        )

    def subset(self, rows: NDArray[np.int64]) -> LabelledTexts:
        texts = [self.texts[int(i)] for i in rows]
        return LabelledTexts(self.vectors[rows], texts, self.owners[rows])


def wording_features(texts: Sequence[str]) -> sparse.csr_matrix:
    """Per text (canonicalised, as the KB stores and queries it), its characters and
    character pairs hashed into WORDING_BUCKETS: square-rooted counts at unit length,
    times WORDING_WEIGHT. Spaces, punctuation and letter case do not count."""
    hashed = [_hashed_wording(text) for text in texts]
    indptr = np.cumsum([0, *(len(buckets) for buckets, _ in hashed)])
    return sparse.csr_matrix(
        (
            np.concatenate([values for _, values in hashed]) if hashed else np.zeros(0),
            np.concatenate([buckets for buckets, _ in hashed]) if hashed else np.zeros(0),
            indptr,
        ),
        shape=(len(texts), WORDING_BUCKETS),
        dtype=np.float32,
    )


def _hashed_wording(text: str) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """One text's row of ``wording_features``: its non-empty buckets and their values."""
    characters = _NOT_WORDING.sub("", text.lower())
    grams = [*characters, *(characters[i : i + 2] for i in range(len(characters) - 1))]
    counts = Counter(zlib.crc32(gram.encode()) % WORDING_BUCKETS for gram in grams)
    buckets = np.array(sorted(counts), dtype=np.int64)
    magnitudes = np.sqrt(np.array([counts[int(b)] for b in buckets], dtype=np.float32))
    norm = float(np.linalg.norm(magnitudes))
    values = magnitudes * np.float32(WORDING_WEIGHT / norm) if norm else magnitudes
    return buckets, values.astype(np.float32)


class ClassifierHead:
    """Softmax regression on a text's centred, re-normalised embedding and its wording
    (``wording_features``).

    Centring removes the direction every text shares (e5's cosines bunch at 0.8–0.9
    because of it), so the head sees what tells entries apart. ``outside`` counts the
    last classes that are "out of scope": they take probability away from every entry
    for questions like the out-of-scope ones they were taught, and are never reported
    themselves. There are two when the dev split has teach-only questions (same-domain
    ones the FAQ does not cover) besides the ordinary out-of-scope ones (other services,
    chit-chat): one linear class cannot hold both, and with one the off-domain questions
    lost their "none of these" to the look-alikes. Heads from before the wording view
    (``wording`` None) read the embedding alone.
    """

    def __init__(
        self,
        weights: NDArray[np.float32],
        bias: NDArray[np.float32],
        mean: NDArray[np.float32],
        outside: int = 0,
        wording: NDArray[np.float32] | None = None,
    ) -> None:
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)  # (dim, classes)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self.mean = np.ascontiguousarray(mean, dtype=np.float32)
        self.outside = int(outside)
        # (WORDING_BUCKETS, classes)
        self.wording = None if wording is None else np.ascontiguousarray(wording, np.float32)

    @property
    def entries(self) -> int:
        """FAQ entries it tells apart (the out-of-scope classes not counted)."""
        return int(self.bias.shape[0]) - self.outside

    @staticmethod
    def affordable(rows: int, dim: int, classes: int) -> bool:
        # The wording view is sparse (a few dozen buckets a text): the embedding dominates.
        return classes >= 2 and rows * dim * classes <= MAX_TRAINING_COST

    @classmethod
    def train(cls, data: LabelledTexts, entries: int, *, outside: int = 0) -> ClassifierHead | None:
        """Fit on texts labelled with their entry, where owners ``entries`` and above
        mean out of scope (``outside`` such classes); None when too costly or too few
        entries."""
        classes = entries + outside
        if entries < 2 or not cls.affordable(len(data), int(data.vectors.shape[1]), classes):
            return None
        # Small matrices: BLAS threads only fight each other (10x slower on 2 busy cores).
        with threadpool_limits(1):
            weights, wording, bias, mean = _fit(
                data.vectors, wording_features(data.texts), data.owners, classes
            )
        return cls(weights, bias, mean, outside, wording)

    @classmethod
    def taught(
        cls, rows: LabelledTexts, entries: int, examples: LabelledTexts
    ) -> ClassifierHead | None:
        """A head taught by the index rows and labelled examples, where owner ``entries``
        marks an out-of-scope example and ``entries + 1`` a teach-only one (each kind
        gives the head its out-of-scope class)."""
        beyond = int(examples.owners.max(initial=-1)) - entries + 1
        return cls.train(rows.plus(examples), entries, outside=max(beyond, 0))

    @classmethod
    def cross_fitted(
        cls,
        rows: LabelledTexts,
        entries: int,
        examples: LabelledTexts,
        *,
        folds: int = HELD_OUT_FOLDS,
    ) -> tuple[ClassifierHead, NDArray[np.float32]] | None:
        """A head taught by the index rows and labelled examples (real users' questions;
        owner ``entries`` marks an out-of-scope one), and each example's probabilities
        from a head that was not taught that example.

        Users word things the way users do, not the way a maintainer paraphrases: with 8
        paraphrases an entry, the dev split's labelled questions lifted top-1 on unseen
        test questions from 88 % to 95 %, and direct correct answers from 64 % to 78 %
        (about 6 of those points come from the out-of-scope class). The held-out
        probabilities are what calibration must see, or it would set thresholds on
        questions the head memorised. Folds are stratified by owner.
        """
        final = cls.taught(rows, entries, examples)
        if final is None:
            return None
        fold = np.zeros(len(examples), dtype=np.int64)
        seen: dict[int, int] = {}
        for index, owner in enumerate(examples.owners.tolist()):
            fold[index] = (seen.get(owner, 0) + owner) % folds
            seen[owner] = seen.get(owner, 0) + 1
        held_out = np.zeros((len(examples), entries), dtype=np.float32)
        for number in range(folds):
            scored = np.flatnonzero(fold == number)
            if not len(scored):
                continue
            head = cls.train(
                rows.plus(examples.subset(np.flatnonzero(fold != number))),
                entries,
                outside=final.outside,
            )
            if head is None:  # fewer vectors than the final head: affordable too
                return None
            held_out[scored] = head.probabilities_of(
                examples.vectors[scored], [examples.texts[int(i)] for i in scored]
            )
        return final, held_out

    def probabilities_of(
        self, vectors: NDArray[np.float32], texts: Sequence[str]
    ) -> NDArray[np.float32]:
        """Per text (its embedding a row of ``vectors``), the probability of each entry."""
        if len(texts) != len(vectors):
            raise ValueError(f"{len(vectors)} 个向量配 {len(texts)} 段文字")
        logits = _centred(vectors, self.mean) @ self.weights + self.bias
        if self.wording is not None:
            # Row by row: a query has a few dozen buckets, and building a sparse matrix
            # for one row would cost more than the gather itself.
            for row, text in enumerate(texts):
                buckets, values = _hashed_wording(text)
                logits[row] += values @ self.wording[buckets]
        probabilities: NDArray[np.float32] = _softmax(logits)[:, : self.entries]
        return probabilities

    def probabilities(self, vector: NDArray[np.float32], text: str) -> NDArray[np.float32]:
        probabilities: NDArray[np.float32] = self.probabilities_of(vector.reshape(1, -1), [text])[0]
        return probabilities

    def digest(self) -> str:
        """A content hash: a calibrated build names its head file by it (kb.pipeline)."""
        content = hashlib.sha256()
        parts = [self.weights, self.bias, self.mean, np.array(self.outside)]
        if self.wording is not None:
            parts += [self.wording, np.array(WORDING_SCHEME)]
        for part in parts:
            content.update(np.ascontiguousarray(part).tobytes())
        return content.hexdigest()

    def save(self, path: Path) -> None:
        """Write atomically: a process reloading the build never reads half a head."""
        handle, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
        # With a wording part the embedding weights go under another name: code from
        # before the wording view then fails to load the head (and keeps its old build)
        # instead of scoring without half of it.
        arrays: dict[str, NDArray[np.generic]] = {
            "weights" if self.wording is None else "embedding_weights": self.weights,
            # Under another name with two out-of-scope classes: code that knows one
            # fails to load the head (and keeps its old build) instead of taking the
            # second for an entry.
            "bias" if self.outside <= 1 else "class_bias": self.bias,
            "mean": self.mean,
            "outside": np.array(self.outside if self.outside > 1 else bool(self.outside)),
        }
        if self.wording is not None:
            arrays |= {"wording": self.wording, "wording_scheme": np.array(WORDING_SCHEME)}
        try:
            with os.fdopen(handle, "wb") as file:
                # numpy types **arrays as if one could be its allow_pickle flag.
                np.savez(file, **arrays)  # type: ignore[arg-type]
            Path(staging).chmod(0o644)  # like the build's other files, not mkstemp's 0600
            Path(staging).replace(path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> ClassifierHead | None:
        if not path.exists():
            return None
        with np.load(path) as stored:
            outside = int(stored["outside"]) if "outside" in stored.files else 0
            wording = None
            if "wording" in stored.files:
                scheme = str(stored["wording_scheme"]) if "wording_scheme" in stored.files else ""
                if scheme != WORDING_SCHEME:
                    # Its weights mean other buckets: reading them would score noise.
                    raise ValueError(
                        f"分类头 {path.name} 的字面特征是另一种做法（{scheme}），"
                        "请重新运行 `kefu kb build`。"
                    )
                wording = stored["wording"]
            weights = stored["embedding_weights" if wording is not None else "weights"]
            bias = stored["class_bias" if "class_bias" in stored.files else "bias"]
            return cls(weights, bias, stored["mean"], outside, wording)


def _fit(
    vectors: NDArray[np.float32],
    wording: sparse.csr_matrix,
    owners: NDArray[np.int32],
    classes: int,
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Weights for the embedding and for the wording view, bias and the embeddings' mean."""
    mean = vectors.mean(axis=0).astype(np.float32)
    features = _centred(vectors, mean)
    wording_t = wording.T.tocsr()
    targets = np.zeros((len(vectors), classes), dtype=np.float32)
    targets[np.arange(len(vectors)), owners] = 1.0
    weights = np.zeros((features.shape[1], classes), dtype=np.float32)
    wording_weights = np.zeros((wording.shape[1], classes), dtype=np.float32)
    bias = np.zeros(classes, dtype=np.float32)
    weights_step = np.zeros_like(weights)
    wording_step = np.zeros_like(wording_weights)
    bias_step = np.zeros_like(bias)
    # Nesterov gradient descent on the convex loss. A row's features, the bias's constant
    # 1 included, have squared length 2 + WORDING_WEIGHT² (2.25), so the loss is at most
    # about 1.13-smooth: a step of 1 stays below 2 / L, and converged on every FAQ and
    # dev split measured (as it did before the wording view, at 1.0-smooth).
    learning_rate, momentum = np.float32(1.0), np.float32(0.9)
    rows = np.float32(len(features))
    penalty = np.float32(L2_PENALTY)
    for _ in range(ITERATIONS):
        ahead_weights = weights + momentum * weights_step
        ahead_wording = wording_weights + momentum * wording_step
        ahead_bias = bias + momentum * bias_step
        logits = features @ ahead_weights + np.asarray(wording @ ahead_wording) + ahead_bias
        error = (_softmax(logits) - targets) / rows
        weights_gradient = features.T @ error + penalty * ahead_weights
        wording_gradient = np.asarray(wording_t @ error) + penalty * ahead_wording
        weights_step = momentum * weights_step - learning_rate * weights_gradient
        wording_step = momentum * wording_step - learning_rate * wording_gradient
        bias_step = momentum * bias_step - learning_rate * error.sum(axis=0)
        weights += weights_step
        wording_weights += wording_step
        bias += bias_step
    # An entry without rows never wins.
    bias[np.bincount(owners, minlength=classes) == 0] = -1e4
    return weights, wording_weights.astype(np.float32), bias, mean


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
