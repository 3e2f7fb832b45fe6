"""Where "neutral" begins, fitted to a team's own labels.

The product reads a score as neutral when |score| < NEUTRAL_BAND (sentiment.labels): one band for
every model, so that units, phases, messages and rollups stay comparable. A model trained on a
team's labels can still draw that line elsewhere than the team does: crowd-labelled tweets call
"neutral" much that such a model scores at -0.3. So the band stays and the model moves: one
offset added to the neutral logit of the head, chosen on labelled rows the model was not
trained on, so that the team's own "neutral" falls inside the product's band as often as the
rows allow. Applied by adding the offset to the head's neutral bias, so loading and scoring do
not change at all; adapter.json records it.

Only for a polarity head with a neutral class, and only from rows that contain neutral labels:
with positive/negative labels alone the sign of the score (which the offset does not change)
is all the labels can say."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from sentiment.labels import NEUTRAL_BAND

NEUTRAL = "neutral"
OFFSETS = tuple(round(-3 + 0.1 * i, 1) for i in range(61))  # -3.0 .. 3.0 on the logit scale
MIN_ROWS = 30  # fewer labelled rows than this cannot place a boundary


@dataclass(frozen=True)
class NeutralCalibration:
    offset: float  # added to the neutral logit; 0.0 where nothing did better
    rows: int
    accuracy_before: float  # 3-class accuracy of the product's labels on the rows, offset 0
    accuracy_after: float


def scores_with_offset(
    logits: torch.Tensor, neutral: int, values: Sequence[float], offset: float
) -> torch.Tensor:
    """Scores in [-1, 1] (expected value over labels) with `offset` added to logit `neutral`."""
    shifted = logits.clone()
    shifted[:, neutral] += offset
    return shifted.softmax(dim=-1) @ torch.tensor(list(values), dtype=shifted.dtype)


def _labels_of(scores: torch.Tensor) -> torch.Tensor:
    """-1 / 0 / 1 for negative / neutral / positive, as sentiment.labels.label_for reads them."""
    return (scores >= NEUTRAL_BAND).long() - (scores <= -NEUTRAL_BAND).long()


def fit_neutral_offset(
    logits: torch.Tensor, gold: Sequence[str], labels: Sequence[str], values: Sequence[float]
) -> NeutralCalibration | None:
    """The offset in OFFSETS with the best 3-class accuracy of the product's labels on these
    rows; among equals the one nearest 0, so no gain means no change. None where the head has
    no neutral class, the rows hold no neutral label or are fewer than MIN_ROWS."""
    labels = list(labels)
    if NEUTRAL not in labels or NEUTRAL not in gold or len(gold) < MIN_ROWS:
        return None
    neutral = labels.index(NEUTRAL)
    sign = {"negative": -1, NEUTRAL: 0, "positive": 1}
    target = torch.tensor([sign[g] for g in gold])

    def accuracy(offset: float) -> float:
        predicted = _labels_of(scores_with_offset(logits.float(), neutral, values, offset))
        return float((predicted == target).double().mean())

    before = accuracy(0.0)
    best, best_accuracy = 0.0, before
    for offset in sorted(OFFSETS, key=abs):
        value = accuracy(offset)
        if value > best_accuracy:
            best, best_accuracy = offset, value
    return NeutralCalibration(best, len(gold), before, best_accuracy)
