"""Choose the epoch and the neutral offset by k-fold cross-validation, then train on every label.

The held-out rule (sentiment.finetune) sets 10% of a team's labels aside and chooses the epoch,
and fits the neutral offset, on those alone: with 1,200 labels that is 120 rows, a dozen of them
neutral, which cannot tell runs a few points apart. Cross-validation uses every label for both:
each of k folds is scored after every epoch by a model trained on the other k - 1, so each row
is predicted once per epoch by a model that never saw it. The epoch with the best macro-F1 over
those pooled out-of-fold predictions is chosen, the offset is fitted on that epoch's pooled
logits, and one model then trains on all the rows with the same schedule, stopping there.
It costs k + 1 trainings instead of one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from sklearn.model_selection import StratifiedKFold

from sentiment.evaluate import score
from sentiment.finetune import (
    LABELS,
    FinetuneConfig,
    History,
    LabelledText,
    SentimentModel,
    _logits,
    apply_neutral_offset,
    neutral_offset_record,
    train,
)


@dataclass(frozen=True)
class CrossValidation:
    folds: int
    rows: int
    # Pooled out-of-fold figures after each epoch; index 0 is the start (nothing trained yet).
    epochs: list[dict[str, float]]
    best_epoch: int  # the first epoch with the best pooled macro-F1
    calibration: dict[str, Any] | None  # the neutral offset fitted on that epoch's pooled logits

    @property
    def best_macro_f1(self) -> float:
        return self.epochs[self.best_epoch]["macro_f1"]

    def summary(self) -> dict[str, Any]:
        """What adapter.json records about the choice."""
        return {
            "folds": self.folds,
            "rows": self.rows,
            "best_epoch": self.best_epoch,
            "out_of_fold": self.epochs,
        }


def fold_indices(gold: Sequence[str], folds: int, seed: int) -> list[list[int]]:
    """The row indices of each fold, stratified by label and drawn with `seed`. ValueError where
    a label has fewer rows than there are folds (a fold would not see it)."""
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    scarce = {label: n for label, n in Counter(gold).items() if n < folds}
    if scarce:
        raise ValueError(
            f"{folds}-fold cross-validation needs at least {folds} rows of every label; "
            f"too few: {', '.join(f'{label} {n}' for label, n in sorted(scarce.items()))}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [list(held) for _, held in splitter.split(list(gold), list(gold))]


def cross_validate(
    items: Sequence[LabelledText],
    config: FinetuneConfig,
    folds: int = 5,
    *,
    labels: Sequence[str] = LABELS,
    progress: bool = True,
    **train_args: Any,
) -> CrossValidation:
    """k-fold cross-validation of `config` over `items` (train_args go to every fold's train:
    adapter_init, adapter_scaling, encoder_path)."""
    labels = list(labels)
    gold = [item.label for item in items]
    parts = fold_indices(gold, folds, config.seed)
    # Every fold runs the whole schedule: no early stopping on its own fold, no offset.
    fold_config = replace(config, patience=config.epochs, calibrate=False)
    logits = torch.zeros((config.epochs + 1, len(items), len(labels)))
    scored_at = torch.zeros((config.epochs + 1, len(items)), dtype=torch.bool)
    for number, held in enumerate(parts, start=1):
        held_set = set(held)
        fit = [item for i, item in enumerate(items) if i not in held_set]
        scored = [items[i] for i in held]
        if progress:
            print(f"fold {number}/{folds}: training on {len(fit)}, scoring {len(scored)}")

        def record(
            epoch: int,
            model: SentimentModel,
            tokenizer: Any,
            held: list[int] = held,
            scored: list[LabelledText] = scored,
        ) -> None:
            logits[epoch, held] = _logits(model, tokenizer, scored, config.max_length)
            scored_at[epoch, held] = True

        train(fit, [], fold_config, labels=labels, progress=progress, on_epoch=record, **train_args)
    epochs = []
    # Every epoch every fold reached (config.max_steps can end the schedule early).
    for epoch in (e for e in range(config.epochs + 1) if scored_at[e].all()):
        predicted = [labels[i] for i in logits[epoch].argmax(dim=-1).tolist()]
        figures = score(gold, predicted, labels)
        epochs.append({"epoch": epoch, "accuracy": figures.accuracy, "macro_f1": figures.macro_f1})
        if progress:
            print(
                f"out of fold after epoch {epoch}: accuracy {figures.accuracy:.4f}, "
                f"macro-F1 {figures.macro_f1:.4f}"
            )
    best = max(epochs, key=lambda e: (e["macro_f1"], -e["epoch"]))["epoch"]  # first of equals
    calibration = None
    if config.calibrate and labels == list(LABELS):
        rows = f"out-of-fold predictions ({folds}-fold cross-validation) of the chosen epoch"
        calibration = neutral_offset_record(gold, rows, lambda: logits[best])
    return CrossValidation(folds, len(items), epochs, best, calibration)


def train_cross_validated(
    items: Sequence[LabelledText],
    config: FinetuneConfig,
    folds: int = 5,
    *,
    labels: Sequence[str] = LABELS,
    progress: bool = True,
    **train_args: Any,
) -> tuple[SentimentModel, History, CrossValidation]:
    """Cross-validate, then train on all `items` with the same schedule, stop after the chosen
    epoch and add the offset fitted out of fold."""
    chosen = cross_validate(items, config, folds, labels=labels, progress=progress, **train_args)
    if progress:
        print(
            f"chosen: epoch {chosen.best_epoch} (out-of-fold macro-F1 "
            f"{chosen.best_macro_f1:.4f}); training on all {len(items)} rows"
        )
    model, history = train(
        items,
        [],
        replace(config, calibrate=False),
        labels=labels,
        progress=progress,
        stop_after=chosen.best_epoch,
        **train_args,
    )
    history.best_epoch, history.best_macro_f1 = chosen.best_epoch, chosen.best_macro_f1
    if chosen.calibration is not None:
        apply_neutral_offset(model, chosen.calibration["offset"])
        history.calibration = chosen.calibration
    return model, history, chosen
