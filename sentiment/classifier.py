"""Sentiment classifiers behind one interface: a Hugging Face model, or the built-in MiniLM + head.

Any model's labels are mapped to a score in [-1, 1]: the expected value over label probabilities."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from sentiment.encoder import (
    Encoder,
    Quantize,
    length_sorted_batches,
    prepare_for_inference,
    revision_with,
)
from sentiment.labels import label_for
from sentiment.segment import model_texts

# The default, "builtin", is two LoRA adapters shipped in sentiment/builtin, each on the encoder
# its adapter.json records (sentiment.bases; both on multilingual-e5-small since rounds 7 and 8):
# lora-en/ scores the messages detected as English (pipeline.BUILTIN_ROUTES), lora/ (Dutch-first)
# all others.
# As a classifier name (a route's model, `eval --model`), "builtin" is the Dutch-first one alone.
BUILTIN = "builtin"
BUILTIN_EN = "builtin-en"  # the English adapter in sentiment/builtin/lora-en, on its encoder
BUILTIN_HEAD_MODEL = "builtin-head"  # MiniLM (frozen, shared with phases) + the logistic head
BUILTIN_HEAD = Path(__file__).with_name("builtin") / "head.safetensors"


class ModelNotAvailable(RuntimeError):
    """The configured model is not on this machine; the message says how to get it."""


@dataclass(frozen=True)
class Prediction:
    score: float  # -1 (negative) .. 1 (positive)
    label: str  # negative / neutral / positive, from the score
    confidence: float  # probability of the most likely model label


class Classifier(Protocol):
    name: str
    revision: str

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


def label_values(labels: Sequence[str]) -> list[float]:
    """Where each of a model's labels lies on the -1..1 scale.

    Understands names like negative/neutral/positive, very negative, "1 star".."5 stars", and the
    anonymous LABEL_0..LABEL_n, read as ordered from most negative to most positive."""
    names = [label.lower().replace("_", " ") for label in labels]
    values: list[float | None] = []
    for name in names:
        stars = re.match(r"^(\d)\s*stars?$", name)
        if stars:
            values.append((int(stars.group(1)) - 3) / 2)
        elif "neg" in name:
            values.append(-1.0 if "very" in name or len(labels) <= 3 else -0.5)
        elif "pos" in name:
            values.append(1.0 if "very" in name or len(labels) <= 3 else 0.5)
        elif "neu" in name:
            values.append(0.0)
        else:
            values.append(None)
    if all(v is not None for v in values):
        return values  # type: ignore[return-value]
    if len(labels) < 2:
        raise ValueError(f"cannot read sentiment labels {list(labels)}")
    # Anonymous labels: assume the usual order, most negative first.
    return [-1 + 2 * i / (len(labels) - 1) for i in range(len(labels))]


def predictions_from_probabilities(
    probs: torch.Tensor, values: Sequence[float]
) -> list[Prediction]:
    scores = probs @ torch.tensor(values, dtype=probs.dtype)
    confidence = probs.max(dim=-1).values
    return [
        Prediction(score=float(s), label=label_for(float(s)), confidence=float(c))
        for s, c in zip(scores, confidence, strict=True)
    ]


class HubClassifier:
    """Any sequence-classification model from the Hugging Face cache or a local folder."""

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 32,
        max_length: int = 128,
        device: str = "cpu",
        quantize: Quantize = "none",
    ) -> None:
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                model, local_files_only=True
            )
        except OSError as exc:
            raise ModelNotAvailable(
                f"sentiment model {model!r} is not available on this machine. Run "
                f"`cxpulse models pull {model}` where the Hugging Face hub can be reached, "
                "copy the "
                f"model folder here and set sentiment.model to its path, or use "
                f'sentiment.model = "builtin". ({exc.__class__.__name__}: {exc})'
            ) from None
        self.model = prepare_for_inference(self.model, device=device, quantize=quantize)
        self.device = device
        self.name = model
        commit = _hub_commit(model, self.model.config)
        self.revision = revision_with(commit, quantize)
        id2label = self.model.config.id2label
        self.values = label_values([id2label[i] for i in range(len(id2label))])
        self.batch_size = batch_size
        self.max_length = max_length

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return length_sorted_batches(model_texts(texts), self.batch_size, self._predict_batch)

    @torch.inference_mode()
    def _predict_batch(self, texts: list[str]) -> list[Prediction]:
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        probs = self.model(**encoded).logits.float().softmax(dim=-1).cpu()
        return predictions_from_probabilities(probs, self.values)


def _hub_commit(model: str, config: object) -> str:
    """The commit a cached Hub model was loaded from (its snapshot folder), else "local"."""
    commit = getattr(config, "_commit_hash", None)
    if commit:
        return str(commit)
    if Path(model).is_dir():
        return "local"
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, "config.json")
    return Path(cached).parent.name if isinstance(cached, str) else "local"


class HeadClassifier:
    """A sentence encoder plus a small linear head trained on top of its embeddings."""

    def __init__(self, encoder: Encoder, head_path: Path = BUILTIN_HEAD) -> None:
        if not head_path.exists():
            raise ModelNotAvailable(
                f"the built-in sentiment head {head_path} is missing; restore it from the "
                "repository or retrain it with `python -m sentiment.train_builtin`"
            )
        tensors = load_file(str(head_path))
        meta = json.loads(head_path.with_suffix(".json").read_text(encoding="utf-8"))
        self.encoder = encoder
        self.weight = tensors["weight"]
        self.bias = tensors["bias"]
        self.labels: list[str] = meta["labels"]
        self.values = label_values(self.labels)
        self.name = meta.get("name", BUILTIN)
        head = hashlib.sha256(head_path.read_bytes()).hexdigest()[:12]
        self.revision = revision_with(head, encoder.quantize)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return self.predict_embeddings(self.encoder.embed(model_texts(texts)))

    def predict_embeddings(self, embeddings: torch.Tensor) -> list[Prediction]:
        if len(embeddings) == 0:
            return []
        probs = (embeddings @ self.weight.T + self.bias).softmax(dim=-1)
        return predictions_from_probabilities(probs, self.values)


def load_classifier(
    model: str,
    *,
    encoder: Encoder | None = None,
    batch_size: int = 32,
    max_length: int = 128,
    device: str = "cpu",
    quantize: Quantize = "none",
) -> Classifier:
    """ "builtin" → the shipped Dutch-first LoRA adapter (its own, adapted encoder: the base its
    adapter.json records); "builtin-en" → the shipped English adapter; "builtin-head" →
    the frozen MiniLM + the shipped logistic head; anything else → a Hugging Face id or folder.

    A shared `encoder` (used by "builtin-head" only) brings its own device and number format."""
    if model in (BUILTIN, BUILTIN_EN):
        # Imported here, as sentiment.adapted imports this module.
        from sentiment.adapted import BUILTIN_EN_LORA, BUILTIN_LORA, AdaptedClassifier

        return AdaptedClassifier(
            BUILTIN_LORA if model == BUILTIN else BUILTIN_EN_LORA,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            quantize=quantize,
        )
    if model == BUILTIN_HEAD_MODEL:
        encoder = encoder or Encoder(
            batch_size=batch_size, max_length=max_length, device=device, quantize=quantize
        )
        return HeadClassifier(encoder)
    # own-vN (in var/models) or a LoRA adapter folder; imported here, as it imports this module.
    from sentiment.own_models import own_classifier

    own = own_classifier(
        model, batch_size=batch_size, max_length=max_length, device=device, quantize=quantize
    )
    if own is not None:
        return own
    return HubClassifier(
        model, batch_size=batch_size, max_length=max_length, device=device, quantize=quantize
    )
