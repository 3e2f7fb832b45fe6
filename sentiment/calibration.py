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

from sentiment.labels import label_for

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


def why_not_fitted(gold: Sequence[str], labels: Sequence[str], rows: str = "rows") -> str | None:
    """Why no offset can be fitted on rows with these gold labels for a head over `labels`
    (`rows` names them in the answer), or None where one can."""
    if NEUTRAL not in labels:
        return "the head has no neutral class"
    if len(gold) < MIN_ROWS:
        return f"{len(gold)} {rows}, under {MIN_ROWS}"
    if NEUTRAL not in gold:
        return f"no neutral label among the {rows}"
    return None


def fit_neutral_offset(
    logits: torch.Tensor, gold: Sequence[str], labels: Sequence[str], values: Sequence[float]
) -> NeutralCalibration | None:
    """The offset in OFFSETS with the best 3-class accuracy of the product's labels
    (sentiment.labels.label_for) on these rows; among equals the one nearest 0, so no gain
    means no change. None where why_not_fitted gives a reason."""
    if why_not_fitted(gold, labels) is not None:
        return None
    neutral = list(labels).index(NEUTRAL)

    def accuracy(offset: float) -> float:
        scores = scores_with_offset(logits.float(), neutral, values, offset).tolist()
        return sum(label_for(s) == g for s, g in zip(scores, gold, strict=True)) / len(gold)

    before = accuracy(0.0)
    best, best_accuracy = 0.0, before
    for offset in sorted(OFFSETS, key=abs):
        value = accuracy(offset)
        if value > best_accuracy:
            best, best_accuracy = offset, value
    return NeutralCalibration(best, len(gold), before, best_accuracy)
