"""Sentence vectors cached by text hash, so a publish re-encodes only new texts.

Encoding is by far the slowest step of a build (milliseconds per text on the CPU); a
publish that changes one entry of 100,000 should encode that entry's texts only. The
cache lives next to the indexes, one folder per encoder and revision of its weights, as
append-only ``.npz`` shards (written to a temporary name, then renamed), so every process
may read and add to it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from kb.encoders import Encoder
from kb.index import encode_in_batches

logger = logging.getLogger(__name__)

DIGEST_BYTES = 16
# Merge the shards into one when there are more than this many (each publish adds one).
MAX_SHARDS = 32


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=DIGEST_BYTES).digest()


class EmbeddingCache:
    """Vectors of ``canonicalize``d texts for one encoder, by blake2b of the text."""

    def __init__(self, root: Path, encoder_spec: str, encoder_revision: str) -> None:
        # The revision hashed: it may be a long path, and it must not collide with a spec.
        revision = hashlib.blake2b(encoder_revision.encode("utf-8"), digest_size=6).hexdigest()
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", encoder_spec)[:120] + f"-{revision}"
        self._directory = root / safe
        self._lock = threading.Lock()
        self._rows: dict[bytes, int] = {}
        self._matrix: NDArray[np.float32] | None = None
        self._seen: set[str] = set()
        self.encoded = 0  # texts encoded by the last vectors() call

    def _shards(self) -> list[Path]:
        return sorted(self._directory.glob("shard-*.npz")) if self._directory.exists() else []

    def _refresh(self) -> None:
        """Read shards other processes (or earlier runs) wrote since the last look."""
        blocks: list[NDArray[np.float32]] = []
        for shard in self._shards():
            if shard.name in self._seen:
                continue
            try:
                with np.load(shard) as data:
                    digests, vectors = data["digests"], data["vectors"]
            except (OSError, ValueError, KeyError) as exc:  # a damaged shard only costs time
                logger.warning("忽略损坏的向量缓存 %s：%s", shard, exc)
                self._seen.add(shard.name)
                continue
            self._seen.add(shard.name)
            keys = [row.tobytes() for row in digests.reshape(-1, DIGEST_BYTES)]
            self._append(keys, vectors.astype(np.float32, copy=False), blocks)
        if blocks:
            parts = ([self._matrix] if self._matrix is not None else []) + blocks
            self._matrix = np.concatenate(parts)

    def _append(
        self,
        digests: Sequence[bytes],
        vectors: NDArray[np.float32],
        blocks: list[NDArray[np.float32]],
    ) -> None:
        start = (0 if self._matrix is None else len(self._matrix)) + sum(len(b) for b in blocks)
        keep: list[int] = []
        for offset, key in enumerate(digests):
            if key not in self._rows:
                self._rows[key] = start + len(keep)
                keep.append(offset)
        if keep:
            blocks.append(vectors[keep])

    def _write(self, digests: list[bytes], vectors: NDArray[np.float32]) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"shard-{uuid.uuid4().hex}.npz"
        fd, temporary = tempfile.mkstemp(dir=self._directory, prefix=".shard.", suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                # Raw bytes, one row each ("S" strings would drop trailing zero bytes).
                digests=np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, DIGEST_BYTES),
                vectors=vectors,
            )
        Path(temporary).replace(self._directory / name)
        self._seen.add(name)

    def _compact(self) -> None:
        """One shard instead of many (the same vectors; readers see both for a moment)."""
        shards = self._shards()
        if len(shards) <= MAX_SHARDS or self._matrix is None:
            return
        ordered = sorted(self._rows.items(), key=lambda item: item[1])
        self._write([digest for digest, _ in ordered], self._matrix)
        for shard in shards:
            shard.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._rows)

    def vectors(self, encoder: Encoder, texts: Sequence[str]) -> NDArray[np.float32]:
        """The vector of each text: from the cache, encoding (and caching) the missing ones."""
        with self._lock:
            self._refresh()
            digests = [text_digest(text) for text in texts]
            missing: dict[bytes, str] = {}
            for digest, text in zip(digests, texts, strict=True):
                if digest not in self._rows:
                    missing.setdefault(digest, text)
            self.encoded = len(missing)
            if missing:
                fresh = np.ascontiguousarray(
                    encode_in_batches(encoder, list(missing.values())), dtype=np.float32
                )
                blocks: list[NDArray[np.float32]] = []
                keys = list(missing)
                self._append(keys, fresh, blocks)
                parts = ([self._matrix] if self._matrix is not None else []) + blocks
                self._matrix = np.concatenate(parts)
                self._write(keys, fresh)
                self._compact()
            if not texts:
                return np.zeros((0, encoder.dim), dtype=np.float32)
            assert self._matrix is not None
            return self._matrix[[self._rows[digest] for digest in digests]]

    def prefill(self, texts: Sequence[str], vectors: NDArray[np.float32]) -> None:
        """Store vectors computed elsewhere (the benchmark fills 100,000 entries this way)."""
        with self._lock:
            self._refresh()
            keys = [text_digest(text) for text in texts]
            blocks: list[NDArray[np.float32]] = []
            self._append(keys, vectors, blocks)
            if blocks:
                parts = ([self._matrix] if self._matrix is not None else []) + blocks
                self._matrix = np.concatenate(parts)
            self._write(keys, np.ascontiguousarray(vectors, dtype=np.float32))
