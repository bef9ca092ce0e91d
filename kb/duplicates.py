"""Near-duplicate entries: two FAQs that users cannot be told apart by.

Two signals, both independent of the encoder's cosine scale, so one rule serves any
encoder and any FAQ:

- shared wordings: the same question or paraphrase (after canonicalisation) under two
  entries;
- confused wordings: leave one wording out of its own entry, and it sits closer to the
  other entry's centroid than to its own. A few of these happen between any two related
  entries; when a large share of two entries' wordings cross over, the entries overlap.

The KB clarifies between exactly such a pair instead of guessing, and the build reports
them, so the maintainer merges or separates the entries rather than the thresholds
climbing to hide them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

# Share of the pair's wordings that sit closer to the other entry (left one out).
CONFUSED_SHARE = 0.3
# With only a few wordings per entry, one or two cross over between any related pair.
MIN_CONFUSED_WORDINGS = 4
# Above this many entries the all-pairs centroid matrix is skipped (memory and time);
# shared wordings are still found.
MAX_ENTRIES_FOR_EMBEDDINGS = 5000


@dataclass(frozen=True)
class NearDuplicate:
    first: str
    second: str
    shared: tuple[str, ...]  # wordings present in both entries
    confused: int  # wordings nearer the other entry's centroid than their own
    wordings: int  # wordings of the two entries together

    @property
    def pair(self) -> frozenset[str]:
        return frozenset((self.first, self.second))

    def describe(self) -> str:
        reasons = []
        if self.shared:
            examples = "」「".join(self.shared[:3])
            reasons.append(f"有 {len(self.shared)} 条相同的问法（「{examples}」）")
        if self.confused:
            reasons.append(f"{self.confused}/{self.wordings} 条问法更像对方条目")
        return f"条目 {self.first} 与 {self.second} 可能重复：" + "；".join(reasons)

    def as_dict(self) -> dict[str, object]:
        record = asdict(self)
        record["shared"] = list(self.shared)
        return record

    @classmethod
    def from_dict(cls, record: dict[str, object]) -> NearDuplicate:
        shared = record.get("shared") or []
        assert isinstance(shared, list)
        return cls(
            first=str(record["first"]),
            second=str(record["second"]),
            shared=tuple(str(text) for text in shared),
            confused=int(str(record.get("confused", 0))),
            wordings=int(str(record.get("wordings", 0))),
        )


def find_near_duplicates(
    ids: Sequence[str],
    texts: Sequence[str],
    owners: NDArray[np.int32],
    vectors: NDArray[np.float32] | None,
) -> list[NearDuplicate]:
    """Pairs of entries that overlap; ``texts``/``owners``/``vectors`` are one row each."""
    shared: dict[tuple[int, int], list[str]] = defaultdict(list)
    owners_of_text: dict[str, set[int]] = defaultdict(set)
    for text, owner in zip(texts, owners.tolist(), strict=True):
        owners_of_text[text].add(int(owner))
    for text, entries in owners_of_text.items():
        ordered = sorted(entries)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                shared[(a, b)].append(text)

    confused: Counter[tuple[int, int]] = Counter()
    if vectors is not None and 2 <= len(ids) <= MAX_ENTRIES_FOR_EMBEDDINGS:
        confused = _confused_wordings(vectors, owners, len(ids))
    counts = np.bincount(owners, minlength=len(ids))

    found = []
    for a, b in sorted(set(shared) | set(confused)):
        wordings = int(counts[a] + counts[b])
        crossed = confused.get((a, b), 0)
        overlapping = crossed >= MIN_CONFUSED_WORDINGS and crossed >= CONFUSED_SHARE * wordings
        if shared.get((a, b)) or overlapping:
            found.append(
                NearDuplicate(ids[a], ids[b], tuple(shared.get((a, b), ())), crossed, wordings)
            )
    return found


def _confused_wordings(
    vectors: NDArray[np.float32], owners: NDArray[np.int32], entries: int
) -> Counter[tuple[int, int]]:
    sums = np.zeros((entries, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, vectors)
    counts = np.bincount(owners, minlength=entries).astype(np.float64)
    confused: Counter[tuple[int, int]] = Counter()
    for start in range(0, len(vectors), 2048):
        block = vectors[start : start + 2048].astype(np.float64)
        own = owners[start : start + 2048]
        # Similarity to every entry's mean direction; the own entry without this row.
        similarity = block @ sums.T
        similarity /= np.maximum(np.linalg.norm(sums, axis=1), 1e-12)[None, :]
        rows = np.arange(len(block))
        own_without = sums[own] - block
        own_norm = np.maximum(np.linalg.norm(own_without, axis=1), 1e-12)
        own_similarity = np.einsum("ij,ij->i", block, own_without) / own_norm
        # An entry with a single wording has nothing left to compare with.
        own_similarity[counts[own] < 2] = np.inf
        similarity[rows, own] = -np.inf
        nearest = similarity.argmax(axis=1)
        crossing = similarity[rows, nearest] > own_similarity
        for owner, other in zip(own[crossing].tolist(), nearest[crossing].tolist(), strict=True):
            confused[(min(owner, other), max(owner, other))] += 1
    return confused
