"""The built-in encoder with a LoRA adapter merged into its weights (or a fully fine-tuned copy
of it), plus a linear sentiment head.

Loading needs torch, transformers, safetensors; peft is only for training (sentiment.finetune)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from sentiment import bases
from sentiment.classifier import ModelNotAvailable, Prediction, label_values
from sentiment.classifier import predictions_from_probabilities as _predictions
from sentiment.encoder import Encoder, Quantize, revision_with
from sentiment.segment import model_texts

BUILTIN_LORA = Path(__file__).with_name("builtin") / "lora"  # Dutch-first: scores nl and other
BUILTIN_EN_LORA = Path(__file__).with_name("builtin") / "lora-en"  # scores English (builtin-en)
WEIGHTS = "adapter.safetensors"  # lora.<module>.A / lora.<module>.B, head.weight / head.bias
META = "adapter.json"  # labels, lora rank/alpha/scaling, trained_on, method, held-out figures
# A fully fine-tuned model (sentiment.finetune --full) keeps its whole encoder here instead of
# LoRA factors; adapter.safetensors then holds the head alone.
ENCODER_WEIGHTS = "encoder.safetensors"


PHASE_MODEL = "phases"  # an own model's phase adapter, learned from phase labels, lives here


def is_adapter(path: Path) -> bool:
    return (path / WEIGHTS).is_file() and (path / META).is_file()


def phase_model_of(model: str | Path) -> Path | None:
    """The phase adapter that comes with a model folder (own-vN/phases), if it has one."""
    path = Path(model) / PHASE_MODEL
    return path if is_adapter(path) else None


def is_full(path: Path) -> bool:
    """A fully fine-tuned model folder: its own encoder weights, not LoRA factors."""
    return (path / ENCODER_WEIGHTS).is_file()


def lora_scaling(path: Path) -> float:
    """The scaling its LoRA factors are merged with (adapter.json); 1.0 for a full model."""
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    return float((meta.get("lora") or {}).get("scaling", 1.0))


def weights_digest(path: Path) -> str:
    """The first 12 hex digits of the SHA-256 over the model's weight files: its revision."""
    digest = hashlib.sha256((path / WEIGHTS).read_bytes())
    if is_full(path):
        with (path / ENCODER_WEIGHTS).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def merge_lora(model: torch.nn.Module, tensors: dict[str, torch.Tensor], scaling: float) -> int:
    """Add scaling · B @ A to each adapted weight, so inference runs at the plain model's speed.

    Returns the number of modules changed."""
    merged = 0
    for key, a in tensors.items():
        if not (key.startswith("lora.") and key.endswith(".A")):
            continue
        name = key[len("lora.") : -len(".A")]
        b = tensors[f"lora.{name}.B"]
        module = model.get_submodule(name)
        with torch.no_grad():
            if isinstance(module, torch.nn.Embedding):
                # peft stores embedding factors transposed: A is r × vocab, B is dim × r.
                module.weight += scaling * (b @ a).T
            else:
                module.weight += scaling * (b @ a)
        merged += 1
    return merged


class AdaptedModel:
    """An adapter folder loaded for inference: the encoder with the LoRA factors merged in, and
    the linear head over its labels (polarities for a sentiment model, phase keys for a phase
    model, sentiment.phases). Owns its encoder, because the merged weights would change the
    embeddings that phase matching reads from a shared one."""

    def __init__(
        self,
        path: Path = BUILTIN_LORA,
        *,
        batch_size: int = 32,
        max_length: int = 128,
        device: str = "cpu",
        quantize: Quantize = "none",
        encoder_path: str | Path | None = None,
    ) -> None:
        if not is_adapter(path):
            raise ModelNotAvailable(
                f"no LoRA sentiment adapter in {path} (expected {WEIGHTS} and {META}); restore "
                "it from the repository or train it with `python -m sentiment.finetune --uci "
                "../shared/data/en-uci-sentiment-labelled-sentences/sentences_en.csv`"
            )
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        tensors = load_file(str(path / WEIGHTS))

        full = is_full(path)
        scaling = 1.0 if full else float(meta["lora"]["scaling"])

        def adapt(model: torch.nn.Module) -> None:  # on the float weights, before any int8
            if full:  # its own encoder weights
                model.load_state_dict(load_file(str(path / ENCODER_WEIGHTS)))
            else:
                merge_lora(model, tensors, scaling)

        self.encoder = Encoder(
            encoder_path or bases.encoder_path(bases.recorded_base(meta)),
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            quantize=quantize,
            adapt=adapt,
        )
        self.weight = tensors["head.weight"]  # the encoder hands back CPU embeddings
        self.bias = tensors["head.bias"]
        self.labels: list[str] = meta["labels"]
        self.meta = meta
        self.name = meta.get("name", "builtin:all-MiniLM-L6-v2+lora")
        self.revision = revision_with(weights_digest(path), quantize)

    def probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Units × labels, on embeddings from this model's own (adapted) encoder."""
        with torch.inference_mode():
            return (embeddings @ self.weight.T + self.bias).softmax(dim=-1)


def learned_phases(
    model: str | Path, phase_model: Path | None = None, **options: Any
) -> AdaptedModel | None:
    """The phase model loaded for `model`: `phase_model` where given, else the one that comes
    with the model's folder (own-vN/phases); None where there is neither."""
    path = phase_model or phase_model_of(model)
    return None if path is None else AdaptedModel(path, **options)


class AdaptedClassifier(AdaptedModel):
    """A sentiment adapter: same interface as HeadClassifier."""

    def __init__(self, path: Path = BUILTIN_LORA, **options: Any) -> None:
        super().__init__(path, **options)
        self.values = label_values(self.labels)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        # length-sorted batches, inference mode; the @handles left out (segment.model_texts)
        return self.predict_embeddings(self.encoder.embed(model_texts(texts)))

    def predict_embeddings(self, embeddings: torch.Tensor) -> list[Prediction]:
        """The head alone, on embeddings from this classifier's own (adapted) encoder."""
        if len(embeddings) == 0:
            return []
        return _predictions(self.probabilities(embeddings), self.values)
