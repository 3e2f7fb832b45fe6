from pathlib import Path

import pytest

from sentiment.classifier import HubClassifier, ModelNotAvailable, label_values, load_classifier


@pytest.mark.parametrize(
    ("labels", "values"),
    [
        (["negative", "neutral", "positive"], [-1, 0, 1]),
        (["NEG", "POS"], [-1, 1]),
        (["1 star", "2 stars", "3 stars", "4 stars", "5 stars"], [-1, -0.5, 0, 0.5, 1]),
        (
            ["Very Negative", "Negative", "Neutral", "Positive", "Very Positive"],
            [-1, -0.5, 0, 0.5, 1],
        ),
        (["LABEL_0", "LABEL_1", "LABEL_2"], [-1, 0, 1]),
    ],
)
def test_any_models_labels_map_onto_minus_one_to_one(
    labels: list[str], values: list[float]
) -> None:
    assert label_values(labels) == pytest.approx(values)


def test_a_local_hub_style_model_loads_and_scores_within_range(tiny_model: Path) -> None:
    classifier = load_classifier(str(tiny_model))
    assert isinstance(classifier, HubClassifier)
    texts = ["Top service!", "", "Pakket kwam nooit aan " * 200, "🙂🙂🙂"]
    predictions = classifier.predict(texts)
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert -1 <= prediction.score <= 1
        assert prediction.label in {"negative", "neutral", "positive"}
        assert 1 / 3 <= prediction.confidence <= 1


def test_predictions_come_back_in_input_order_despite_length_sorting(tiny_model: Path) -> None:
    classifier = HubClassifier(str(tiny_model), batch_size=2)
    texts = [
        "a much longer sentence about a late parcel and a rude courier",
        "ok",
        "medium sized text",
    ]
    batched = classifier.predict(texts)
    single = [classifier.predict([t])[0] for t in texts]
    for a, b in zip(batched, single, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-5)


def test_every_classifier_reads_a_text_without_its_handles(tiny_model: Path) -> None:
    # rule 7, docs/quality.md: a hub model and the frozen head here; the built-in adapters in
    # test_builtin_model.py (a handle does not move the score)
    for classifier in (load_classifier(str(tiny_model)), load_classifier("builtin-head")):
        with_handles, without = classifier.predict(
            ["@voltera_nl de levering was traag @VolteraHelpt", "de levering was traag"]
        )
        (plain,) = classifier.predict(["de levering was traag @x"])
        assert with_handles.score == pytest.approx(without.score, abs=1e-5), classifier.name
        assert plain.score == pytest.approx(without.score, abs=1e-5), classifier.name


def test_the_head_sharing_the_phase_encoders_pass_reads_units_without_handles_too() -> None:
    from sentiment.phases import PhaseSpec
    from sentiment.pipeline import Analyzer, TextInput

    analyzer = Analyzer([PhaseSpec("delivery", keywords=("levering",))], model="builtin-head")
    texts = ["@voltera_nl de levering was traag", "de levering was traag", "Top! @x Echt top."]
    with_handle, without, two_units = analyzer.analyze([TextInput(t) for t in texts])
    assert with_handle.units[0].score == pytest.approx(without.units[0].score, abs=1e-5)
    alone = analyzer.classifier.predict(["Top!", "Echt top."])
    assert [u.score for u in two_units.units] == pytest.approx([p.score for p in alone], abs=1e-5)


def test_a_model_that_is_not_on_this_machine_gives_one_clear_error() -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        load_classifier("some-org/model-that-is-not-downloaded")
    message = str(caught.value)
    assert "cxpulse models pull some-org/model-that-is-not-downloaded" in message
    assert 'sentiment.model = "builtin"' in message
