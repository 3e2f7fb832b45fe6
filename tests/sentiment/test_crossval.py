import csv
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from sentiment import crossval
from sentiment.adapted import META, AdaptedClassifier
from sentiment.crossval import cross_validate, fold_indices, train_cross_validated
from sentiment.finetune import FinetuneConfig, LabelledText, main, train
from tests.sentiment.test_finetune import BAD, GOOD, SUBJECTS, _texts, needs_peft

# Small and quick: a zero head (no warm start), so epoch 0 reads every row as the first label.
QUICK = FinetuneConfig(
    targets=("query", "value"), epochs=2, batch_size=16, lr=1e-3, head_lr=5e-2, warm_start=False
)


def test_folds_are_stratified_disjoint_complete_and_seeded() -> None:
    gold = ["positive"] * 30 + ["negative"] * 15 + ["neutral"] * 5
    folds = fold_indices(gold, 5, seed=13)
    assert sorted(i for fold in folds for i in fold) == list(range(50))
    for fold in folds:
        assert Counter(gold[i] for i in fold) == {"positive": 6, "negative": 3, "neutral": 1}
    assert fold_indices(gold, 5, seed=13) == folds
    assert fold_indices(gold, 5, seed=14) != folds


def test_a_label_with_fewer_rows_than_folds_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="too few: neutral 3"):
        fold_indices(["positive"] * 20 + ["negative"] * 20 + ["neutral"] * 3, 5, seed=13)
    with pytest.raises(ValueError, match="at least 2 folds"):
        fold_indices(["positive", "negative"], 1, seed=13)


@needs_peft
def test_stop_after_keeps_the_schedule_of_the_whole_run() -> None:
    """A refit that stops after epoch 1 of a 2-epoch schedule is the 2-epoch run's epoch-1 model,
    not a 1-epoch run (whose learning rate falls to 0 sooner)."""
    items = _texts(SUBJECTS[:3])
    config = replace(QUICK, batch_size=4)  # 8 steps an epoch: the two schedules part at step 2
    seen: dict[int, torch.Tensor] = {}

    def keep(epoch: int, model, tokenizer) -> None:  # noqa: ANN001
        seen[epoch] = model.head.weight.detach().clone()

    train(items, [], config, progress=False, on_epoch=keep)
    assert sorted(seen) == [0, 1, 2]
    stopped, history = train(items, [], config, progress=False, stop_after=1)
    assert [e["epoch"] for e in history.epochs] == [1]
    assert torch.allclose(stopped.head.weight, seen[1])
    assert not torch.allclose(stopped.head.weight, seen[2])
    one_epoch, _ = train(items, [], replace(config, epochs=1), progress=False)
    assert not torch.allclose(one_epoch.head.weight, seen[1])
    untrained, history = train(items, [], config, progress=False, stop_after=0)
    assert history.epochs == [] and torch.equal(untrained.head.weight, seen[0])


@pytest.mark.slow
@needs_peft
def test_every_row_is_scored_out_of_fold_and_the_chosen_epoch_is_the_best_pooled_one() -> None:
    # Subjects 0-5 in every fold; the words that carry the polarity are shared, so a model that
    # never saw a row can still read it.
    items = _texts(SUBJECTS[:6])
    chosen = cross_validate(items, QUICK, folds=3, progress=False)
    assert chosen.rows == len(items) and chosen.folds == 3
    assert [e["epoch"] for e in chosen.epochs] == [0, 1, 2]
    # Epoch 0: a zero head reads every row as "negative", half of them.
    assert chosen.epochs[0]["accuracy"] == pytest.approx(0.5)
    best = max(chosen.epochs, key=lambda e: e["macro_f1"])
    assert chosen.best_epoch == best["epoch"] >= 1
    assert chosen.best_macro_f1 >= 0.9
    assert chosen.calibration is None  # QUICK does not calibrate
    summary = chosen.summary()
    assert summary["out_of_fold"] == chosen.epochs and summary["best_epoch"] == chosen.best_epoch


@needs_peft
def test_each_fold_scores_only_rows_its_model_did_not_train_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trained_on: list[set[str]] = []
    scored: list[tuple[int, list[str]]] = []
    real_train, real_logits = crossval.train, crossval._logits

    def train(fit, held_out, config, **kwargs):  # noqa: ANN001, ANN202
        trained_on.append({t.text for t in fit})
        return real_train(fit, held_out, config, **kwargs)

    def logits(model, tokenizer, items, max_length):  # noqa: ANN001, ANN202
        scored.append((len(trained_on) - 1, [t.text for t in items]))
        return real_logits(model, tokenizer, items, max_length)

    monkeypatch.setattr(crossval, "train", train)
    monkeypatch.setattr(crossval, "_logits", logits)
    items = _texts(SUBJECTS[:3])
    # One optimiser step: every fold's schedule ends in epoch 1, so epoch 2 is never reached.
    chosen = cross_validate(items, replace(QUICK, max_steps=1), folds=3, progress=False)
    assert len(trained_on) == 3
    for fold, texts in scored:
        assert not trained_on[fold] & set(texts)
    assert [len(texts) for _, texts in scored] == [10, 10, 10, 10, 10, 10]  # epochs 0 and 1
    assert sorted(t for _, texts in scored[::2] for t in texts) == sorted(t.text for t in items)
    assert all(len(fit) == 20 for fit in trained_on)
    assert [e["epoch"] for e in chosen.epochs] == [0, 1]  # epoch 2: no fold got there


@pytest.mark.slow
@needs_peft
def test_the_refit_trains_on_every_row_up_to_the_chosen_epoch_with_the_out_of_fold_offset() -> None:
    """The team calls mild remarks neutral; the offset that places them is fitted on the
    out-of-fold predictions of all rows and lands in the refit model's neutral bias."""
    items = (
        _texts(SUBJECTS[:6])
        + [LabelledText(f"{s} was a bit slow", "neutral") for s in SUBJECTS]
        + [LabelledText(f"where is {s} now?", "neutral") for s in SUBJECTS[:6]]
    )
    config = FinetuneConfig(
        targets=("query", "value"),
        epochs=2,
        batch_size=16,
        lr=1e-3,
        head_lr=5e-2,
        warm_start=False,
        calibrate=True,
    )
    model, history, chosen = train_cross_validated(items, config, folds=3, progress=False)
    assert chosen.calibration is not None
    assert chosen.calibration["chosen_on"] == (
        f"the {len(items)} out-of-fold predictions (3-fold cross-validation) of the chosen epoch"
    )
    assert history.calibration == chosen.calibration
    assert history.best_epoch == chosen.best_epoch
    assert len(history.epochs) == chosen.best_epoch  # the refit stopped there
    plain, _ = train(
        items,
        [],
        replace(config, calibrate=False),
        progress=False,
        stop_after=chosen.best_epoch,
    )
    shift = model.head.bias.detach() - plain.head.bias.detach()
    assert shift.tolist() == pytest.approx([0.0, chosen.calibration["offset"], 0.0], abs=1e-6)
    assert torch.equal(model.head.weight, plain.head.weight)


def _bolcom_set(tmp_path: Path) -> Path:
    """A learnable set in the bol.com layout: 40 reviews, ids 1-40, half positive."""
    folder = tmp_path / "nl-bolcom-reviews-pattern"
    folder.mkdir()
    texts = [(f"{s} {p}", "pos") for s in SUBJECTS[:4] for p in GOOD] + [
        (f"{s} {p}", "neg") for s in SUBJECTS[:4] for p in BAD
    ]
    rows = [(i + 1, text, label) for i, (text, label) in enumerate(texts)]
    with (folder / "bolcom_reviews_nl.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        writer.writerows(rows)
    return folder


@pytest.mark.slow
@needs_peft
def test_folds_on_the_command_line_write_a_model_that_records_the_choice(tmp_path: Path) -> None:
    folder = _bolcom_set(tmp_path)
    out = tmp_path / "cv"
    main(
        [
            "--train-set",
            str(folder),
            "--folds",
            "3",
            "--epochs",
            "1",
            "--targets",
            "query,value",
            "--out",
            str(out),
            "--threads",
            "1",
        ]
    )
    meta = json.loads((out / META).read_text(encoding="utf-8"))
    assert meta["cross_validation"]["folds"] == 3
    assert meta["cross_validation"]["rows"] == 32  # 40 rows minus the 8 whose id % 5 == 0
    assert [e["epoch"] for e in meta["cross_validation"]["out_of_fold"]] == [0, 1]
    assert meta["held_out"].startswith("none: 3-fold cross-validation over all 32 rows")
    assert "cross-validation" in meta["method"]
    assert "head warm-started from logistic regression" in meta["method"]  # no --init-from
    assert meta["trained_on"] == {"nl-bolcom-reviews-pattern train split": 32}
    predictions = AdaptedClassifier(out).predict(["the app was great", "the app was awful"])
    assert all(-1 <= p.score <= 1 for p in predictions)


def test_folds_with_too_few_rows_of_a_label_stop_with_the_reason(tmp_path: Path) -> None:
    folder = _bolcom_set(tmp_path)
    with pytest.raises(SystemExit, match="nl-bolcom-reviews-pattern: 40-fold cross-validation"):
        main(["--train-set", str(folder), "--folds", "40", "--out", str(tmp_path / "x")])
