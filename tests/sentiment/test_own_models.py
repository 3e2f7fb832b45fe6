"""Own models: trained on a team's labels, versioned own-v1, own-v2, …, switched to and back.

Training runs the real built-in MiniLM on 240 Dutch sentences written for this test in a
register the shipped model misreads (tests/sentiment/data/own_labels_misread_nl.csv: slang praise
from negative-looking words, polite-sounding complaints and sarcasm), kept small enough for a
2-core CPU; the held-out split is checked on 200 ordinary ones (own_labels_nl.csv)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from sentiment.adapted import BUILTIN_EN_LORA, BUILTIN_LORA, AdaptedClassifier
from sentiment.bases import E5_SMALL, MINILM
from sentiment.classifier import ModelNotAvailable, load_classifier
from sentiment.finetune import LabelledText
from sentiment.own_models import (
    ACTIVE,
    TrainingError,
    _start,
    is_held_out,
    latest_per_text,
    own_config,
    read_active,
    resolve,
    shipped_base,
    split_early_stopping,
    split_held_out,
    starting_adapters,
    train_version,
    use,
    versions,
)

LABEL_FILE = Path(__file__).parent / "data" / "own_labels_nl.csv"
MISREAD_FILE = Path(__file__).parent / "data" / "own_labels_misread_nl.csv"


def _labels(path: Path = LABEL_FILE) -> list[LabelledText]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [LabelledText(row["text"], row["polarity"]) for row in csv.DictReader(handle)]


def test_held_out_labels_are_chosen_by_their_text_so_the_split_never_moves() -> None:
    items = _labels()
    train, held_out = split_held_out(items)
    assert 0.12 < len(held_out) / len(items) < 0.28
    assert {t.text for t in train}.isdisjoint({t.text for t in held_out})
    # Order and more labels do not move a label across the split; case and spaces do not either.
    more = [*reversed(items), LabelledText("Nieuw label", "positive")]
    assert {t.text for t in split_held_out(more)[1]} >= {t.text for t in held_out}
    assert is_held_out(held_out[0].text) == is_held_out("  " + held_out[0].text.upper() + " ")
    assert Counter(t.label for t in held_out) == {"positive": 18, "negative": 18}


def test_a_later_correction_of_the_same_text_overrides_an_earlier_one() -> None:
    items = [
        LabelledText("De bezorger was laat", "neutral"),
        LabelledText("Top", "positive"),
        LabelledText("de bezorger  was laat", "negative"),
    ]
    assert latest_per_text(items) == [items[2], items[1]]


def _shipped(folder: Path, base: str | None) -> Path:
    """An adapter folder as starting_adapters reads it: the files, and the base it records."""
    folder.mkdir()
    (folder / "adapter.safetensors").write_bytes(b"")
    meta = {} if base is None else {"base": base}  # none recorded: trained on MiniLM
    (folder / "adapter.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def test_training_starts_from_the_shipped_adapter_of_the_labels_main_language_on_its_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    english = [
        "The courier left my parcel in the rain.",
        "Great app, the refund came within a day.",
        "Nobody answered the chat for an hour.",
    ]
    dutch = [
        "De bezorger liet mijn pakket in de regen staan.",
        "Fijne app, het geld stond binnen een dag terug.",
        "Niemand reageerde een uur lang in de chat.",
    ]
    dutch_first = _shipped(tmp_path / "lora", None)
    english_one = _shipped(tmp_path / "lora-en", None)
    monkeypatch.setattr("sentiment.adapted.BUILTIN_LORA", dutch_first)
    monkeypatch.setattr("sentiment.adapted.BUILTIN_EN_LORA", english_one)
    assert starting_adapters(english) == [english_one, dutch_first]
    assert starting_adapters(dutch) == [dutch_first, english_one]
    assert starting_adapters(english[:1] + dutch[:1])[0] == dutch_first  # no majority: Dutch
    assert starting_adapters(english + dutch[:2])[0] == english_one
    assert starting_adapters(english, E5_SMALL) == []  # nothing shipped on that base

    # only the adapters trained on the base the labels train on
    (english_one / "adapter.json").write_text(json.dumps({"base": E5_SMALL}), encoding="utf-8")
    assert starting_adapters(english, E5_SMALL) == [english_one]
    assert starting_adapters(dutch, E5_SMALL) == [english_one]
    assert starting_adapters(english) == [dutch_first]


def test_own_models_train_on_the_shipped_adapters_base_and_start_from_it() -> None:
    # since round 8 both shipped adapters are on multilingual-e5-small
    assert shipped_base(BUILTIN_LORA) == shipped_base(BUILTIN_EN_LORA) == E5_SMALL
    config = own_config()
    assert config.base == E5_SMALL and own_config(base=None).base == E5_SMALL
    assert own_config(base=MINILM).base == MINILM
    english, dutch = ["Great app, the refund came within a day."], ["Fijne app, top service."]
    assert starting_adapters(english, E5_SMALL) == [BUILTIN_EN_LORA, BUILTIN_LORA]
    assert starting_adapters(dutch) == []  # nothing shipped on MiniLM: the frozen head
    # the English adapter has no word-embedding factors, so LoRA labels in English start from
    # the Dutch-first one, whose shape the own-model settings take
    _, started = _start(config, english)
    assert started["from"].startswith("the shipped LoRA adapter (sentiment/builtin/lora)")
    _, started = _start(own_config(base=MINILM), dutch)
    assert "sentiment/builtin/head.safetensors" in started["from"]


def test_too_few_labels_or_a_single_polarity_is_a_clear_training_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="at least 20"):
        train_version(_labels()[:10], tmp_path)
    with pytest.raises(TrainingError, match="at least two polarities"):
        train_version([t for t in _labels() if t.label == "positive"], tmp_path)
    assert versions(tmp_path) == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """own-v1 (3 epochs on the misread label file, default settings, one thread and the fixed
    seed) and own-v2 (one step); own-v1 compared with the model training starts from: the
    shipped Dutch-first adapter and head (on multilingual-e5-small since round 8)."""
    models_dir = tmp_path_factory.mktemp("models")
    start = AdaptedClassifier(BUILTIN_LORA)
    v1 = train_version(
        _labels(MISREAD_FILE),
        models_dir,
        config=own_config(epochs=3, threads=1),
        compare_with=start,
        source={"label_file": MISREAD_FILE.name},
        progress=False,
    )
    v2 = train_version(
        _labels()[:120], models_dir, config=own_config(epochs=1, max_steps=1), progress=False
    )
    assert (v1.name, v2.name) == ("own-v1", "own-v2")
    return models_dir, v1.held_out


@pytest.mark.slow
def test_training_on_a_small_label_file_improves_accuracy_on_its_held_out_part(
    trained: tuple[Path, dict],
) -> None:
    """Measured 2026-12-01 on MiniLM (docs/learning.md): the shipped model 0.604 accuracy / 0.582
    macro-F1 on these 48 held-out rows; own-v1 0.917 / 0.916 at seed 13, 0.875-0.917 over seeds
    1-3. The margin, 0.15, is about half the smallest gain seen. On multilingual-e5-small
    (2026-12-07): the shipped round-8 adapter 0.563; own-v1 in the comment below."""
    _, figures = trained
    before, after = figures["compared_with"], figures["this"]
    assert figures["rows"] == 48 and before["task"] == after["task"] == "binary"
    assert before["model"] == "builtin:multilingual-e5-small+lora" and after["model"] == "own-v1"
    assert before["accuracy"] <= 0.65  # the file is what the shipped model misreads
    assert after["accuracy"] >= before["accuracy"] + 0.15
    assert after["macro_f1"] >= before["macro_f1"] + 0.15


@pytest.mark.slow
def test_each_training_writes_the_next_version_with_what_it_was_trained_on(
    trained: tuple[Path, dict],
) -> None:
    models_dir, _ = trained
    v1, v2 = versions(models_dir)
    assert [p.name for p in sorted(v1.path.iterdir())] == ["adapter.json", "adapter.safetensors"]
    assert v1.meta["label_counts"]["train"] == 192 and v1.meta["label_counts"]["held_out"] == 48
    assert v1.meta["label_counts"]["train_by_polarity"] == {"negative": 99, "positive": 93}
    assert len(v1.meta["label_counts"]["rows_sha256"]) == 64
    assert v1.meta["source"] == {"label_file": "own_labels_misread_nl.csv"}
    assert "shipped LoRA adapter" in v1.meta["started_from"]["from"]
    # 18 early-stopping rows (and no neutral label): no offset fitted, the head stays as trained.
    assert v1.meta["label_counts"]["early_stopping"] == 18
    assert v1.meta["calibration"]["neutral_logit_offset"] == {
        "offset": 0.0,
        "why": "18 held-out (early-stopping) rows, under 30",
    }
    assert v2.meta["label_counts"]["distinct_texts"] == 120 and "compared_with" not in v2.held_out
    assert "held out 48" in v1.summary() and "then in use: builtin:" in v1.summary()
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".")]  # no half versions


@pytest.mark.slow
def test_switch_to_a_version_and_back_and_the_loader_records_its_name_and_revision(
    trained: tuple[Path, dict],
) -> None:
    models_dir, _ = trained
    assert resolve("builtin", models_dir) == ("builtin", "sentiment.model in the configuration")
    assert use("own-v1", models_dir) == ""
    assert read_active(models_dir) == "own-v1"
    model, why = resolve("builtin", models_dir)
    assert model == str(models_dir / "own-v1") and "models use" in why
    classifier = load_classifier(model)
    assert classifier.name == "own-v1" and len(classifier.revision) == 12
    (prediction,) = classifier.predict(["Het pakket kwam drie weken te laat en niemand hielp"])
    assert -1 <= prediction.score <= 1
    assert use("builtin", models_dir) == "own-v1"
    assert resolve("builtin", models_dir)[0] == "builtin"
    # A version that is not there is refused, and the choice stays as it was.
    with pytest.raises(ModelNotAvailable, match="own-v1, own-v2"):
        use("own-v9", models_dir)
    assert (models_dir / ACTIVE).read_text() == "builtin\n"


@pytest.mark.slow
def test_a_full_fine_tune_starts_from_the_shipped_adapter_and_loads_like_any_version(
    tmp_path: Path,
) -> None:
    """`models train --full`: the shipped adapter of the labels' language merged into the
    encoder, then every weight trained; the version holds its own encoder and is used by name."""
    version = train_version(
        _labels()[:120],
        tmp_path,
        config=own_config(epochs=1, max_steps=1, threads=1, method="full"),
        progress=False,
    )
    names = sorted(p.name for p in version.path.iterdir())
    assert names == ["adapter.json", "adapter.safetensors", "encoder.safetensors"]
    started = version.meta["started_from"]
    assert (
        "sentiment/builtin/lora)" in started["from"]
        and "merged into the encoder" in started["from"]
    )
    assert version.meta["config"]["method"] == "full" and "lora" not in version.meta
    assert "(every encoder weight: --full)" in version.summary()
    use("own-v1", tmp_path)
    classifier = load_classifier(resolve("builtin", tmp_path)[0])
    assert classifier.name == "own-v1"
    (prediction,) = classifier.predict(["Het pakket kwam drie weken te laat en niemand hielp"])
    assert prediction.score < 0  # one step from the shipped adapter still reads a complaint


def test_a_missing_local_version_gives_one_error_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable) as error:
        load_classifier("own-v3")
    message = str(error.value)
    assert "'own-v3' is not in var/models" in message
    assert "cxpulse models train" in message and "cxpulse models use builtin" in message
    (tmp_path / ACTIVE).write_text("own-v5\n")  # chosen, then its folder was deleted
    with pytest.raises(ModelNotAvailable, match="'own-v5' is not in"):
        resolve("builtin", tmp_path)
    with pytest.raises(ModelNotAvailable, match="cxpulse models pull nobody/none"):
        use("nobody/none", tmp_path)


def test_the_epoch_is_chosen_on_other_rows_than_the_reported_held_out_ones() -> None:
    train, held_out = split_held_out(_labels(MISREAD_FILE))
    fit, stop = split_early_stopping(train)
    assert stop and fit
    assert {t.text for t in stop}.isdisjoint({t.text for t in held_out})
    assert {t.text for t in stop}.isdisjoint({t.text for t in fit})
    assert len(fit) + len(stop) == len(train)
    assert 0.06 < len(stop) / len(train) < 0.2


def test_models_list_shows_a_fitted_neutral_offset_and_stays_quiet_without_one() -> None:
    from sentiment.own_models import OwnModel

    meta = {
        "trained_at": "2026-12-04T19:30:00+00:00",
        "label_counts": {"train": 900},
        "calibration": {
            "neutral_logit_offset": {"offset": 0.6, "accuracy_before": 0.8, "accuracy_after": 0.82}
        },
    }
    line = OwnModel("own-v4", 4, Path("own-v4"), meta).summary()
    assert "neutral offset +0.6 (early-stopping accuracy 0.800 → 0.820)" in line
    meta["calibration"]["neutral_logit_offset"] = {"offset": 0.0, "why": "no neutral label"}
    assert "neutral offset" not in OwnModel("own-v4", 4, Path("own-v4"), meta).summary()
    assert own_config().calibrate  # a team's labels get the offset fitted


SUBJECTS = [
    *("delivery", "courier", "app", "staff", "refund", "laptop", "invoice", "helpdesk"),
    *("website", "installer", "return", "checkout", "order", "parcel", "driver", "chat"),
    *("manual", "battery", "screen", "price", "package", "tracking page", "warranty", "shop"),
]
TEMPLATES = {
    "positive": ["was great", "was excellent", "made me happy", "was wonderful", "was perfect"],
    "negative": ["was terrible", "was awful", "made me very angry", "was horrible", "a disaster"],
    "neutral": ["was a bit slow", "was a little late", "was okay", "was average", "was so-so"],
}


def _mild_labels() -> list[LabelledText]:
    """Praise, complaints and mild remarks labelled neutral, for every subject and two openers."""
    return [
        LabelledText(f"{opener} {subject} {phrase}", label)
        for opener in ("The", "Honestly, the")
        for subject in SUBJECTS
        for label, phrases in TEMPLATES.items()
        for phrase in phrases
    ]


@pytest.mark.slow
def test_a_neutral_offset_is_fitted_on_the_early_stopping_rows_never_the_reported_ones(
    tmp_path: Path,
) -> None:
    """Labels with neutral in them (mild remarks, as a team might label them): the version's
    offset is chosen on its early-stopping rows, and its reported figures are on the held-out
    rows, as the worker scores them with the offset in the head."""
    items = _mild_labels()
    version = train_version(
        items, tmp_path, config=own_config(epochs=1, max_steps=1, threads=1), progress=False
    )
    counts = version.meta["label_counts"]
    offset = version.meta["calibration"]["neutral_logit_offset"]
    assert counts["early_stopping"] >= 30  # enough rows to place the boundary on
    assert offset["chosen_on"] == f"the {counts['early_stopping']} held-out (early-stopping) rows"
    assert offset["accuracy_after"] >= offset["accuracy_before"]
    assert version.held_out["rows"] == counts["held_out"]
    assert version.held_out["this"]["task"] == "3-class"


@pytest.mark.slow
def test_with_folds_every_training_label_chooses_and_trains_and_the_held_out_rows_still_report(
    tmp_path: Path,
) -> None:
    items = _mild_labels()
    config = own_config(epochs=1, max_steps=1, threads=1)
    version = train_version(items, tmp_path, config=config, progress=False, folds=3)
    counts = version.meta["label_counts"]
    assert counts["cross_validation_folds"] == 3 and counts["early_stopping"] == 0
    assert version.meta["trained_on"] == {"the organisation's labels (train part)": counts["train"]}
    chosen = version.meta["cross_validation"]
    assert chosen["rows"] == counts["train"] and chosen["folds"] == 3
    assert [e["epoch"] for e in chosen["out_of_fold"]] == [0, 1]
    offset = version.meta["calibration"]["neutral_logit_offset"]
    assert offset["chosen_on"] == (
        f"the {counts['train']} out-of-fold predictions (3-fold cross-validation) of the chosen "
        "epoch"
    )
    assert "3-fold cross-validation over the" in version.meta["held_out"]
    assert "warm-started" not in version.meta["method"]  # the shipped adapter's head began it
    line = version.summary()
    assert f"epoch {chosen['best_epoch']} by 3-fold cross-validation" in line
    # Mild remarks labelled neutral: out of fold the model reads them negative, so it moves.
    assert offset["offset"] > 0 and offset["accuracy_after"] > offset["accuracy_before"]
    assert "(out-of-fold accuracy" in line and "early-stopping" not in line
    assert version.held_out["rows"] == counts["held_out"] > 0  # reported on rows kept out
    # A polarity with fewer training labels than folds: a training error that says so.
    few = [i for i in items if i.label != "neutral"] + [
        LabelledText(f"where is my {s}?", "neutral") for s in SUBJECTS[:4]
    ]
    few_neutral = sum(i.label == "neutral" and not is_held_out(i.text) for i in few)
    with pytest.raises(TrainingError, match=f"too few: neutral {few_neutral}"):
        train_version(few, tmp_path / "few", config=config, progress=False, folds=5)
    assert not (tmp_path / "few").exists()


@pytest.mark.slow
def test_a_version_on_the_multilingual_base_starts_from_the_shipped_adapter_and_loads_by_name(
    tmp_path: Path,
) -> None:
    """`models train` by default: on the shipped adapter's base (multilingual-e5-small since
    round 8), from that adapter; the version records its base and loads on it."""
    version = train_version(
        _labels()[:120],
        tmp_path,
        config=own_config(epochs=1, max_steps=1, threads=1),
        progress=False,
    )
    assert version.meta["base"] == "multilingual-e5-small"
    assert version.meta["config"]["warm_start"] is False
    assert version.meta["started_from"]["from"].startswith(
        "the shipped LoRA adapter (sentiment/builtin/lora)"
    )
    assert "(base multilingual-e5-small)" in version.summary()
    use("own-v1", tmp_path)
    classifier = load_classifier(resolve("builtin", tmp_path)[0])
    assert classifier.name == "own-v1"
    assert isinstance(classifier, AdaptedClassifier)
    assert classifier.encoder.model.config.vocab_size == 250037  # the XLM-R vocabulary
    (prediction,) = classifier.predict(["Het pakket kwam drie weken te laat en niemand hielp"])
    assert prediction.score < 0


def test_with_no_shipped_adapter_on_its_base_training_warm_starts_a_head(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sentiment.own_models.starting_adapters", lambda texts, base: [])
    start, started = _start(own_config(), ["Fijne app, top service."])
    assert start == {}  # train_version then sets warm_start: logistic regression on embeddings
    assert started["from"].startswith("the plain multilingual-e5-small encoder")
