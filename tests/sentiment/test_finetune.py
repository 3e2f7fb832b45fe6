import csv
import importlib.util
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel

from sentiment import finetune
from sentiment.adapted import (
    BUILTIN_LORA,
    ENCODER_WEIGHTS,
    META,
    WEIGHTS,
    AdaptedClassifier,
    lora_scaling,
)
from sentiment.bases import E5_SMALL
from sentiment.classifier import ModelNotAvailable
from sentiment.encoder import Encoder, builtin_encoder_path
from sentiment.evaluate import find_dataset
from sentiment.finetune import (
    FinetuneConfig,
    LabelledText,
    _encode,
    adapter_tensors,
    build_model,
    calibrate_neutral,
    carve_held_out,
    compare_held_out,
    continue_from,
    is_held_out,
    load_adapter_tensors,
    main,
    read_train_split,
    round_of,
    sample_train,
    save_adapter,
    train,
)

SUBJECTS = [
    "the delivery",
    "the courier",
    "the app",
    "the staff",
    "the refund",
    "the laptop",
    "the invoice",
    "the helpdesk",
    "the website",
    "the installer",
    "the return",
    "the checkout",
]
GOOD = ["was great", "was excellent", "made me very happy", "was wonderful", "was perfect"]
needs_peft = pytest.mark.skipif(
    importlib.util.find_spec("peft") is None, reason="training needs peft (pip install peft)"
)
BAD = ["was terrible", "was awful", "made me very angry", "was horrible", "was a disaster"]


def _texts(subjects: list[str]) -> list[LabelledText]:
    return [LabelledText(f"{s} {p}", "positive") for s in subjects for p in GOOD] + [
        LabelledText(f"{s} {p}", "negative") for s in subjects for p in BAD
    ]


def test_held_out_rows_are_every_fifth_row_but_never_an_english_adaptation_of_a_dutch_one() -> None:
    assert is_held_out("nl-0005", "nl")
    assert is_held_out("nl-1415", "nl")
    assert not is_held_out("nl-0006", "nl")
    assert not is_held_out("en-0005", "en")  # round 1: adapts a Dutch row
    assert not is_held_out("en-0400", "en")
    assert is_held_out("en-0405", "en")  # written anew from round 3 on
    assert not is_held_out("en-0406", "en")


def test_round_of_follows_the_datasheet() -> None:
    assert [round_of(i) for i in ("nl-0001", "nl-1417", "nl-1418", "nl-2925", "nl-3425")] == [
        1,
        1,
        2,
        3,
        4,
    ]
    assert [round_of(i) for i in ("en-0400", "en-0401", "en-0601")] == [1, 3, 4]


@pytest.mark.slow
def test_compare_reports_the_held_out_rows_per_language_and_round(tmp_path: Path) -> None:
    rows = [
        ("nl-0005", "nl", "positive", "Supersnel bezorgd en heel vriendelijk geholpen, top!"),
        ("nl-0006", "nl", "negative", "Nooit meer."),  # trains: not reported
        ("nl-3430", "nl", "negative", "Wat een drama, drie weken gewacht en nog steeds niks."),
        ("en-0005", "en", "negative", "Awful."),  # an adaptation of a Dutch row: trains
        ("en-0605", "en", "positive", "Thank you so much, the crew was wonderful!"),
        ("en-0610", "en", "negative", "Worst service ever, I want my money back."),
    ]
    texts = tmp_path / "texts.csv"
    with texts.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "language", "label", "phase", "channel", "text"])
        writer.writerows([(i, lang, label, "general", "social", t) for i, lang, label, t in rows])

    report = {line["rows"]: line for line in compare_held_out([BUILTIN_LORA], texts)}

    assert {name: line["n"] for name, line in report.items()} == {
        "all": 4,
        "nl": 2,
        "en": 2,
        "nl round 1": 1,
        "nl round 4": 1,
        "en round 4": 2,
    }
    assert report["all"]["binary"] == 1.0  # four plain verdicts, read right
    assert 0.0 <= report["all"]["macro_f1"] <= 1.0
    without = {
        line["rows"]: line["n"]
        for line in compare_held_out([BUILTIN_LORA], texts, skip=["nl round 4"])
    }
    assert without == {"all": 3, "nl": 1, "en": 2, "nl round 1": 1, "en round 4": 2}


@pytest.mark.slow
@needs_peft
def test_a_two_step_run_saves_a_small_adapter_that_loads_and_scores_in_range(
    tmp_path: Path,
) -> None:
    items = (
        _texts(SUBJECTS[:6])[:40]
        + [LabelledText(f"where is {s}?", "neutral") for s in SUBJECTS] * 2
    )
    assert len(items) >= 60
    config = FinetuneConfig(max_steps=2, batch_size=16, lr=5e-2, warm_start=False, epochs=1)
    model, history = train(items, [], config, progress=False)
    tensors, _ = adapter_tensors(model)
    modules = [key[: -len(".A")] for key in tensors if key.endswith(".A")]
    assert any("word_embeddings" in m for m in modules)  # both merge paths are exercised
    assert all(float((tensors[f"{m}.B"] @ tensors[f"{m}.A"]).abs().sum()) > 0 for m in modules)
    save_adapter(
        model, tmp_path, config=config, history=history, trained_on={"synthetic": 64}, held_out=""
    )
    assert (tmp_path / WEIGHTS).stat().st_size < 5_000_000
    classifier = AdaptedClassifier(tmp_path)
    assert classifier.meta["trained_on"] == {"synthetic": 64}
    # Training on from it starts from these factors and records what they were trained on.
    init, trained_on = continue_from(tmp_path, {"more": 10})
    assert init.keys() == tensors.keys()
    assert torch.equal(init["head.weight"], model.head.weight.detach())
    assert trained_on == {
        f"first (the adapter continued from, {tmp_path}): synthetic": 64,
        "then: more": 10,
    }
    texts = ["the courier was great", "", "the app crashed " * 100, "🙂"]
    predictions = classifier.predict(texts)
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert -1 <= prediction.score <= 1
        assert prediction.label in {"negative", "neutral", "positive"}
        assert 1 / 3 <= prediction.confidence <= 1
    # The merged weights compute what the trained LoRA model computes.
    with torch.inference_mode():
        probs = model(_encode(classifier.encoder.tokenizer, texts[:1], 128)).softmax(-1)
    expected = float(probs[0] @ torch.tensor([-1.0, 0.0, 1.0]))
    assert predictions[0].score == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
@needs_peft
def test_training_on_a_separable_set_improves_accuracy_on_its_held_out_part() -> None:
    train_items, held_out = _texts(SUBJECTS[:6]), _texts(SUBJECTS[9:])  # unseen subjects
    config = FinetuneConfig(
        targets=("query", "value"),
        epochs=3,
        batch_size=20,
        lr=1e-3,
        head_lr=5e-2,
        warm_start=False,
        patience=3,
    )
    _, history = train(train_items, held_out, config, progress=False)
    before = history.epochs[0]["accuracy"]
    after = history.epochs[history.best_epoch]["accuracy"]  # the state train() hands back
    assert before == pytest.approx(0.5)  # a zero head: every text the same class
    assert after >= 0.9
    assert history.best_epoch >= 1


@needs_peft
def test_the_neutral_offset_is_fitted_on_held_out_rows_and_ships_inside_the_head(
    tmp_path: Path,
) -> None:
    """The team calls mild remarks neutral ("the app was a bit slow"), which a model trained
    on praise, complaints and questions reads as negative: the offset moves them into the band."""
    train_items = _texts(SUBJECTS[:6]) + [
        LabelledText(f"where is {s} now?", "neutral") for s in SUBJECTS[:6]
    ]
    held_out = _texts(SUBJECTS[6:9]) + [
        LabelledText(f"{s} was a bit slow", "neutral") for s in SUBJECTS
    ]
    config = FinetuneConfig(max_steps=1, batch_size=16, epochs=1, calibrate=True)
    model, history = train(train_items, held_out, config, progress=False)
    plain, plain_history = train(
        train_items, held_out, FinetuneConfig(max_steps=1, batch_size=16, epochs=1), progress=False
    )
    assert plain_history.calibration is None
    calibration = history.calibration
    assert calibration is not None and calibration["chosen_on"].startswith("the 42 held-out")
    assert calibration["offset"] > 0
    assert calibration["accuracy_before"] < calibration["accuracy_after"]
    # The offset lives in the neutral bias and nowhere else.
    shift = model.head.bias.detach() - plain.head.bias.detach()
    assert shift.tolist() == pytest.approx([0.0, calibration["offset"], 0.0], abs=1e-6)
    assert torch.equal(model.head.weight, plain.head.weight)
    save_adapter(
        model, tmp_path, config=config, history=history, trained_on={"synthetic": 72}, held_out=""
    )
    classifier = AdaptedClassifier(tmp_path)
    assert classifier.meta["calibration"]["neutral_logit_offset"] == calibration
    # Loaded as the app loads it, the product's labels on those rows score what the fit said.
    labels = [p.label for p in classifier.predict([t.text for t in held_out])]
    accuracy = sum(a == t.label for a, t in zip(labels, held_out, strict=True)) / len(held_out)
    assert accuracy == pytest.approx(calibration["accuracy_after"])
    # On rows with no neutral label there is nothing to place: the head stays as trained.
    assert calibrate_neutral(plain, classifier.encoder.tokenizer, _texts(SUBJECTS), 128) == {
        "offset": 0.0,
        "why": "no neutral label among the held-out (early-stopping) rows",
    }
    assert calibrate_neutral(plain, classifier.encoder.tokenizer, held_out[-20:], 128) == {
        "offset": 0.0,
        "why": "20 held-out (early-stopping) rows, under 30",
    }


@pytest.mark.slow
def test_full_fine_tuning_keeps_a_whole_encoder_that_loads_and_computes_what_was_trained(
    tmp_path: Path,
) -> None:
    items = _texts(SUBJECTS[:6])
    config = FinetuneConfig(method="full", max_steps=2, batch_size=16, full_lr=1e-3, epochs=1)
    model, history = train(items, [], config, progress=False)
    base = AutoModel.from_pretrained(str(builtin_encoder_path()), local_files_only=True)
    before, after = base.state_dict(), model.encoder.state_dict()
    assert before.keys() == after.keys()
    changed = [k for k in after if not torch.equal(before[k], after[k])]
    # Every layer's weights moved, not only some adapted modules: attention, FFN, embeddings.
    assert {k.split(".")[2] for k in changed if k.startswith("encoder.layer.")} == {
        str(i) for i in range(6)
    }
    assert "embeddings.word_embeddings.weight" in changed
    assert any(k.endswith("attention.self.key.weight") for k in changed)  # LoRA never adapts key
    save_adapter(
        model, tmp_path, config=config, history=history, trained_on={"synthetic": 60}, held_out=""
    )
    assert load_file(str(tmp_path / WEIGHTS)).keys() == {"head.weight", "head.bias"}
    assert (tmp_path / ENCODER_WEIGHTS).stat().st_size > 80_000_000  # a whole MiniLM
    classifier = AdaptedClassifier(tmp_path)
    assert "full" in classifier.meta and "lora" not in classifier.meta
    assert classifier.meta["method"].startswith("full fine-tuning")
    texts = ["the courier was great", "the refund was awful", "", "🙂"]
    predictions = classifier.predict(texts)
    with torch.inference_mode():
        logits = model(_encode(classifier.encoder.tokenizer, texts, 128))
    expected = logits.softmax(-1) @ torch.tensor([-1.0, 0.0, 1.0])
    assert [p.score for p in predictions] == pytest.approx(expected.tolist(), abs=1e-4)
    # int8 quantises the trained weights, not the plain encoder's: close to float, own revision.
    int8 = AdaptedClassifier(tmp_path, quantize="int8")
    assert int8.revision == f"{classifier.revision}+int8"
    plain = Encoder(quantize="int8").embed(texts) @ classifier.weight.T + classifier.bias
    int8_logits = int8.encoder.embed(texts) @ classifier.weight.T + classifier.bias
    trained_logits = logits.float()
    assert (int8_logits - trained_logits).abs().max() < (plain - trained_logits).abs().max() / 2
    # The revision covers the encoder: another encoder under the same head is another model.
    other = tmp_path.parent / "other"
    shutil.copytree(tmp_path, other)
    weights = load_file(str(other / ENCODER_WEIGHTS))
    weights["pooler.dense.bias"] += 1.0  # unused by mean pooling, but another file
    save_file(weights, str(other / ENCODER_WEIGHTS))
    assert AdaptedClassifier(other).revision != classifier.revision
    # Training on from it starts from its encoder and head, not the plain ones.
    init, _ = continue_from(tmp_path, {"more": 1})
    assert {k for k in init if not k.startswith("encoder.")} == {"head.weight", "head.bias"}
    again, _ = build_model(config)
    load_adapter_tensors(again, init)
    for key, value in again.encoder.state_dict().items():
        assert torch.equal(value, after[key]), key
    assert torch.equal(again.head.weight, model.head.weight)
    lora, _ = build_model(FinetuneConfig())
    with pytest.raises(ValueError, match="continues only with method 'full'"):
        load_adapter_tensors(lora, init)
    with pytest.raises(ValueError, match="method must be one of"):
        FinetuneConfig(method="qlora")


@needs_peft
def test_full_fine_tuning_from_a_lora_adapter_starts_where_the_adapter_is() -> None:
    """The shipped adapter's factors merged into the weights before every weight trains: with
    no step taken, the model computes what the app computes with the adapter."""
    init, _ = continue_from(BUILTIN_LORA, {})
    model, _ = build_model(FinetuneConfig(method="full", base=E5_SMALL))  # its base (round 8)
    # query, value and three dense layers in each of 12 layers, and the word embeddings
    assert load_adapter_tensors(model, init, lora_scaling(BUILTIN_LORA)) == 12 * 5 + 1
    model.eval()
    shipped = AdaptedClassifier(BUILTIN_LORA)
    texts = ["De bezorger was twee dagen te laat.", "Top service, snel geholpen!"]
    with torch.inference_mode():
        logits = model(_encode(shipped.encoder.tokenizer, texts, 128))
    expected = shipped.probabilities(shipped.encoder.embed(texts))
    assert torch.allclose(logits.softmax(-1), expected, atol=1e-4)
    assert expected[0, 0] > 0.5 and expected[1, 2] > 0.5  # the adapter's own reading


@pytest.mark.slow
def test_full_fine_tuning_on_a_separable_set_improves_accuracy_on_its_held_out_part() -> None:
    train_items, held_out = _texts(SUBJECTS[:6]), _texts(SUBJECTS[9:])  # unseen subjects
    config = FinetuneConfig(
        method="full", epochs=3, batch_size=20, head_lr=5e-2, warm_start=False, patience=3
    )
    _, history = train(train_items, held_out, config, progress=False)
    assert history.epochs[0]["accuracy"] == pytest.approx(0.5)  # a zero head
    assert history.epochs[history.best_epoch]["accuracy"] >= 0.9
    assert history.best_epoch >= 1


def test_a_missing_adapter_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="python -m sentiment.finetune"):
        AdaptedClassifier(tmp_path)
    assert not (tmp_path / META).exists()


# --- training on a labelled set's train split (sentiment.finetune --train-set) ---------------

SHARED_DATA = Path(
    os.environ.get("CXPULSE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"no labelled sets in {SHARED_DATA}"
)


def _bolcom_like(tmp_path: Path, rows: int = 50) -> Path:
    folder = tmp_path / "nl-bolcom-reviews-pattern"
    folder.mkdir()
    with (folder / "bolcom_reviews_nl.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        writer.writerows([i, f"review {i}", "pos" if i % 2 else "neg"] for i in range(rows))
    return folder


def test_the_train_split_reader_never_yields_a_test_row(tmp_path: Path) -> None:
    name, examples = read_train_split(_bolcom_like(tmp_path))
    assert name == "nl-bolcom-reviews-pattern"
    assert len(examples) == 40  # ids 0…49 without the 10 that are % 5 == 0
    assert all(int(e.id) % 5 != 0 and e.split == "train" for e in examples)


def test_limit_train_is_a_deterministic_growing_sample_and_held_out_comes_from_it(
    tmp_path: Path,
) -> None:
    _, examples = read_train_split(_bolcom_like(tmp_path, rows=500))
    first = sample_train(examples, 100, seed=13)
    assert first == sample_train(list(reversed(examples)), 100, seed=13)  # order-independent
    assert len(first) == 100 and len({e.id for e in first}) == 100
    assert {e.id for e in first} < {e.id for e in sample_train(examples, 300, seed=13)}
    assert sample_train(examples, 100, seed=14) != first
    assert sample_train(examples, None, seed=13) == sample_train(examples, 10_000, seed=13)
    fit, held = carve_held_out(first, 0.1, seed=13)
    assert len(held) == 20  # 10% of 100, raised to the minimum of 20
    assert {e.id for e in fit} | {e.id for e in held} == {e.id for e in first}
    assert not {e.id for e in fit} & {e.id for e in held}
    assert carve_held_out(first, 0.1, seed=13) == (fit, held)
    assert carve_held_out(first, 0.0, seed=13) == (first, [])


def test_a_train_set_adapter_may_not_be_written_where_git_would_commit_it() -> None:
    with pytest.raises(SystemExit):
        main(["--train-set", "x", "--out", str(Path(finetune.__file__).parent / "x")])
    with pytest.raises(SystemExit):
        main(["--train-set", "x"])  # no --out: the default is the shipped adapter's folder


@needs_shared_data
@pytest.mark.parametrize(
    "folder",
    [
        "nl-bolcom-reviews-pattern",
        "nl-semeval2016-restaurant-absa",
        "en-twitter-us-airline-sentiment",
    ],
)
def test_real_train_splits_hold_no_test_row(folder: str) -> None:
    spec, path = find_dataset(SHARED_DATA / folder)
    assert spec.read is not None
    test_ids = {e.id for e in spec.read(path) if e.split == "test"}
    _, examples = read_train_split(SHARED_DATA / folder)
    assert examples and test_ids
    assert not {e.id for e in examples} & test_ids
    sample = sample_train(examples, 300, seed=13)
    assert sample == sample_train(examples, 300, seed=13)
    assert not {e.id for e in sample} & test_ids
