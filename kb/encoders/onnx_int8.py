"""e5-small as an int8 ONNX model run by onnxruntime: the stronger encoder within budget.

In torch on one thread e5-small costs 13–16 ms a query; exported to ONNX and quantised
dynamically to int8 it costs about 3.5 ms on a CPU with VNNI (about 9 ms on one with AVX2
only), with a mean cosine of 0.996 to the torch vectors (figures in the README).

sentence-transformers' own ONNX backend (``backend="onnx"``) loads models through
optimum-onnx, and every optimum-onnx release requires transformers < 4.58, while
sentence-transformers 6 needs transformers 5. So the export is done here, with the two
steps that backend performs: ``torch.onnx.export`` of the transformer with mean pooling
folded into the graph, then onnxruntime's ``quantize_dynamic`` (int8 weights, activations
quantised on the fly; one weight scale per output channel, which brought the vectors from
a mean cosine of 0.991 to 0.996 of the torch ones at the same speed). The folder written
holds ``model_int8.onnx``, ``tokenizer.json`` and a marker naming what it was exported
from, checked for idempotency like the e5 conversion; its hash is the encoder's revision.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from kb.encoders import (
    BUILD_THREADS,
    EncoderSpecError,
    FloatMatrix,
    l2_normalize,
    marker_revision,
)

MODEL_FILE = "model_int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MARKER_NAME = "kefu_onnx_export.json"
# Bump whenever the exported graph or folder changes, so existing exports are redone.
EXPORTER_VERSION = 2
# FAQ questions and user messages are short; longer texts are cut like the torch model does.
MAX_TOKENS = 512
QUERY_PREFIX = "query: "
# The revision's mark of vectors encoded one text at a time (see OnnxInt8Encoder.encode).
ENCODED_ALONE = "-alone"


class OnnxInt8Encoder:
    """Encodes with an exported int8 e5 folder; one intra-op thread per process.

    One thread because queries come one at a time and the gateway, Rasa and the action
    server share two cores: a second thread bought nothing at batch 1 and doubled CPU.
    """

    def __init__(self, folder: Path, *, name: str = "e5-small-int8", threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        model_path = folder / MODEL_FILE
        if not model_path.exists() or not (folder / TOKENIZER_FILE).exists():
            raise EncoderSpecError(
                f"找不到 e5-small 的 int8 ONNX 模型：{folder}。请先运行 `kefu models provision`。"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self.name = name
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        # The export's marker names the exporter version and the converted source; a
        # folder not written by export_int8 has nothing to tell it apart.
        # Plus how texts are run: vectors from builds that batched them (their int8
        # scales shared with batch-mates) are neither reused nor taken for current.
        self.revision = (marker_revision(folder / MARKER_NAME) or "unmarked") + ENCODED_ALONE

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # One text per run, never a batch: dynamic int8 quantisation scales each run's
        # activations by their range over the whole batch, so a batched text's vector
        # would depend on its batch-mates. Alone, a paraphrase is encoded exactly as a
        # query is, and an edit to one entry leaves every other entry's vectors as they
        # were. A batch costs the same arithmetic per text, so nothing is lost.
        prefixed = [QUERY_PREFIX + text for text in texts]
        if len(prefixed) == 1:
            return l2_normalize(self._encode_one(prefixed[0]))
        # An index build: onnxruntime releases the GIL, so the texts run on every core.
        with ThreadPoolExecutor(max_workers=BUILD_THREADS) as pool:
            vectors = list(pool.map(self._encode_one, prefixed))
        return l2_normalize(np.vstack(vectors))

    def _encode_one(self, text: str) -> FloatMatrix:
        ids = self._tokenizer.encode(text).ids
        input_ids = np.asarray([ids], dtype=np.int64)
        outputs = self._session.run(
            None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}
        )
        return np.asarray(outputs[0], dtype=np.float32)


def _source_marker(source: Path) -> dict[str, Any]:
    conversion = json.loads((source / "kefu_conversion.json").read_text("utf-8"))
    return {"exporter_version": EXPORTER_VERSION, "source": conversion}


def _is_complete(dest: Path, marker: dict[str, Any]) -> bool:
    try:
        stored = json.loads((dest / MARKER_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return stored == marker and (dest / MODEL_FILE).exists() and (dest / TOKENIZER_FILE).exists()


def export_int8(source: Path, dest: Path, *, force: bool = False) -> Path:
    """Export the converted e5 folder ``source`` to an int8 ONNX folder ``dest``.

    Idempotent: a complete export of the same source is left alone. Written into a
    staging folder beside ``dest`` and swapped in, so a crash never leaves half a model.
    """
    if not (source / "kefu_conversion.json").exists():
        raise EncoderSpecError(
            f"{source} 不是转换好的 e5-small 目录，请先运行 `kefu models provision`。"
        )
    marker = _source_marker(source)
    if not force and _is_complete(dest, marker):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        fp32 = staging / "model_fp32.onnx"
        _export_fp32(source, fp32)
        _quantize(fp32, staging / MODEL_FILE)
        fp32.unlink()
        shutil.copyfile(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        (staging / MARKER_NAME).write_text(json.dumps(marker, indent=2), "utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _export_fp32(source: Path, target: Path) -> None:
    import warnings

    import torch
    from transformers import AutoModel

    class MeanPooled(torch.nn.Module):
        """The transformer followed by sentence-transformers' mean pooling."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)[0]
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled: torch.Tensor = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return pooled

    # e5 has no pooler; without this flag transformers reports its weights as missing.
    model = AutoModel.from_pretrained(str(source), add_pooling_layer=False)
    model.eval()
    example_ids = torch.tensor([[0, 6, 2]], dtype=torch.long)
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter warns about tracing and its own deprecation; the graph
        # is checked against the torch vectors by tests/kb/test_encoders.py.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled(model),
            (example_ids, torch.ones_like(example_ids)),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )


def _quantize(fp32: Path, target: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs (on the root logger) a suggestion to pre-process the model;
    # it changes nothing for a transformer, so keep it out of the provisioning output.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        # One scale per output channel instead of per matrix: a matrix's few large columns
        # no longer squeeze the others into a handful of int8 steps.
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
