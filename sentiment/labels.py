"""Scores in [-1, 1] and the labels negative / neutral / positive derived from them.

One place decides where "neutral" ends, for units, phases, messages and rollups alike."""

from __future__ import annotations

from collections.abc import Sequence

NEUTRAL_BAND = 0.2  # |score| below this reads as neutral
NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"


def label_for(score: float) -> str:
    if score <= -NEUTRAL_BAND:
        return NEGATIVE
    if score >= NEUTRAL_BAND:
        return POSITIVE
    return NEUTRAL


def message_score(unit_scores: Sequence[float], whole: float | None = None) -> float | None:
    """A message's score: the mean of its units' scores, averaged with the model's score for the
    whole message read at once where it has several units (`whole`; one unit is the whole).

    Reading the message whole lets the model weigh a heading ("Eerlijke review.") as a heading,
    the mean of the units keeps every sentence counted past the model's 128 tokens; chosen on
    held-out rows, docs/quality.md ("Units and the message score"). None: no units."""
    if not unit_scores:
        return None
    mean = sum(unit_scores) / len(unit_scores)
    if whole is None or len(unit_scores) == 1:
        return mean
    return (mean + whole) / 2
