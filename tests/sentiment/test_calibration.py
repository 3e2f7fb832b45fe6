"""The neutral offset (sentiment.calibration): fitted on labelled rows, it moves a team's own
"neutral" inside the product's one neutral band, and changes nothing where nothing improves."""

from __future__ import annotations

import pytest
import torch

from sentiment.calibration import (
    MIN_ROWS,
    fit_neutral_offset,
    scores_with_offset,
    why_not_fitted,
)
from sentiment.labels import label_for

LABELS = ["negative", "neutral", "positive"]
VALUES = [-1.0, 0.0, 1.0]


def _rows(neutral_logits: list[float]) -> tuple[torch.Tensor, list[str]]:
    """20 clear positives, 20 clear negatives, and 20 rows labelled neutral whose logits are
    `neutral_logits` (negative, neutral, positive)."""
    logits = [[0.0, 0.0, 4.0]] * 20 + [[4.0, 0.0, 0.0]] * 20 + [neutral_logits] * 20
    gold = ["positive"] * 20 + ["negative"] * 20 + ["neutral"] * 20
    return torch.tensor(logits), gold


def test_an_offset_moves_the_teams_neutral_inside_the_band() -> None:
    # The model leans negative on what the team calls neutral: score -0.44, read as negative.
    logits, gold = _rows([1.2, 0.0, 0.0])
    assert label_for(float(scores_with_offset(logits, 1, VALUES, 0.0)[-1])) == "negative"
    fitted = fit_neutral_offset(logits, gold, LABELS, VALUES)
    assert fitted is not None and fitted.rows == 60
    assert fitted.accuracy_before == pytest.approx(2 / 3)
    assert fitted.accuracy_after == pytest.approx(1.0)
    # The smallest offset that gets there (about +2 on the logit scale), and the product's own
    # label_for agrees with the accuracy the fit reports.
    assert 1.5 < fitted.offset <= 2.5
    scores = scores_with_offset(logits, 1, VALUES, fitted.offset)
    assert [label_for(float(s)) for s in scores] == gold


def test_an_overeager_neutral_is_pushed_back_with_a_negative_offset() -> None:
    logits, gold = _rows([0.0, 0.0, 0.0])  # neutral rows score 0: neutral already
    logits[:20] = torch.tensor([0.0, 3.5, 2.0])  # positives the model half-calls neutral
    fitted = fit_neutral_offset(logits, gold, LABELS, VALUES)
    assert fitted is not None and fitted.offset < 0
    assert fitted.accuracy_before < fitted.accuracy_after == pytest.approx(1.0)


def test_a_model_that_already_fits_keeps_its_head() -> None:
    logits, gold = _rows([0.0, 3.0, 0.0])
    fitted = fit_neutral_offset(logits, gold, LABELS, VALUES)
    assert fitted is not None
    assert fitted.offset == 0.0 and fitted.accuracy_before == fitted.accuracy_after == 1.0


def test_without_neutral_labels_a_neutral_class_or_enough_rows_nothing_is_fitted() -> None:
    logits, gold = _rows([1.2, 0.0, 0.0])
    polar = [g if g != "neutral" else "negative" for g in gold]
    assert fit_neutral_offset(logits, polar, LABELS, VALUES) is None
    assert fit_neutral_offset(logits[:, [0, 2]], gold, ["negative", "positive"], [-1, 1]) is None
    few = MIN_ROWS - 1
    assert fit_neutral_offset(logits[-few:], gold[-few:], LABELS, VALUES) is None
    assert why_not_fitted(polar, LABELS) == "no neutral label among the rows"
    assert why_not_fitted(gold, ["negative", "positive"]) == "the head has no neutral class"
    assert why_not_fitted(gold[-few:], LABELS) == f"{few} rows, under {MIN_ROWS}"
    assert why_not_fitted(gold, LABELS) is None
