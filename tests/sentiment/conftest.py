"""A tiny Hugging Face sequence classifier built locally: the real tokenizer and model code path
of a Hub model, without downloading one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from sentiment.encoder import builtin_encoder_path


def build_tiny_classifier(path: Path) -> Path:
    """A 2-layer BERT with three sentiment labels (random weights, seed 0) and the built-in
    model's tokenizer, saved as a Hub model folder at `path`."""
    tokenizer = AutoTokenizer.from_pretrained(builtin_encoder_path(), local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-sentiment"))
