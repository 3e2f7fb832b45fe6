"""Scores in [-1, 1] and the labels negative / neutral / positive derived from them.

One place decides where "neutral" ends, for units, phases, messages and rollups alike."""

from __future__ import annotations

NEUTRAL_BAND = 0.2  # |score| below this reads as neutral


def label_for(score: float) -> str:
    if score <= -NEUTRAL_BAND:
        return "negative"
    if score >= NEUTRAL_BAND:
        return "positive"
    return "neutral"
