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


def test_a_model_that_is_not_on_this_machine_gives_one_clear_error() -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        load_classifier("some-org/model-that-is-not-downloaded")
    message = str(caught.value)
    assert "cxpulse models pull some-org/model-that-is-not-downloaded" in message
    assert 'sentiment.model = "builtin"' in message
