"""The lexical leg: BM25 (bm25s) over jieba tokens, one document per FAQ.

One document per FAQ (its question and every paraphrase together) lets a query whose
words come from different paraphrases still meet them all; measured on the dev split
this beat one document per paraphrase by 8 points of top-1.

Raw BM25 scores grow with query length and have no fixed ceiling, so they cannot be
thresholded. Dividing by the sum of the query words' idf gives, roughly, the share of
the query's informative words that the FAQ uses: an off-topic question that shares
only 怎么/一下 with the FAQ scores near zero.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from numpy.typing import NDArray

K1 = 1.2
B = 0.75


class LexicalIndex:
    def __init__(
        self, retriever: bm25s.BM25, document_frequency: dict[str, int], documents: int
    ) -> None:
        self._retriever = retriever
        self._document_frequency = document_frequency
        self._documents = documents

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]]) -> LexicalIndex:
        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        retriever.index([list(tokens) for tokens in documents], show_progress=False)
        frequency = Counter(token for tokens in documents for token in set(tokens))
        return cls(retriever, dict(frequency), len(documents))

    def _idf(self, token: str) -> float:
        # Lucene's idf; a word never seen in the KB counts as the rarest possible word,
        # so unknown words lower the normalised score instead of being ignored.
        frequency = self._document_frequency.get(token, 0)
        return math.log(1 + (self._documents - frequency + 0.5) / (frequency + 0.5))

    def scores(self, tokens: Sequence[str]) -> NDArray[np.float32]:
        """Normalised BM25 of the query against every document, each in [0, 1]."""
        unique = list(dict.fromkeys(tokens))
        known = [token for token in unique if token in self._document_frequency]
        if not known:
            return np.zeros(self._documents, dtype=np.float32)
        ceiling = sum(self._idf(token) for token in unique)
        raw = np.asarray(self._retriever.get_scores(known), dtype=np.float32)
        normalized: NDArray[np.float32] = np.clip(raw / np.float32(ceiling), 0.0, 1.0)
        return normalized

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(directory), show_progress=False)
        (directory / "document_frequency.json").write_text(
            json.dumps(
                {"documents": self._documents, "df": self._document_frequency}, ensure_ascii=False
            ),
            "utf-8",
        )

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        retriever = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        stored = json.loads((directory / "document_frequency.json").read_text("utf-8"))
        return cls(retriever, stored["df"], stored["documents"])
