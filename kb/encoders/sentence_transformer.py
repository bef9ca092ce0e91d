"""Any sentence-transformers model, from a local folder or a hub id already in the cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.encoders import EncoderSpecError, FloatMatrix, l2_normalize, marker_revision


class SentenceTransformerEncoder:
    def __init__(self, model: str, *, name: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(model, device="cpu")
        except OSError as exc:  # raised for a hub id whose weights are not on this machine
            raise EncoderSpecError(
                f"无法离线加载 sentence-transformers 模型 {model!r}：{exc}"
            ) from exc
        self.name = name or f"st:{model}"
        # A folder Kefu converted has a marker; a hub model is known only by its name.
        self.revision = marker_revision(Path(model) / "kefu_conversion.json") or model
        # sentence-transformers 6 renamed the method; keep working with 5.x too.
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        # Queries and FAQ paraphrases are both short questions: encode both sides the
        # same way, with the model's query prompt if it has one (E5: "query: ").
        self._prompt_name = "query" if "query" in self._model.prompts else None

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt_name=self._prompt_name,
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return l2_normalize(vectors)
