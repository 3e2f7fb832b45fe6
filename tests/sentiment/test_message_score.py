"""A message's score: the mean of its units, averaged with the message read whole (chosen on
held-out rows, docs/quality.md "Units and the message score")."""

import pytest

from sentiment.labels import message_score
from sentiment.pipeline import TextInput


def test_no_units_no_score() -> None:
    assert message_score([]) is None
    assert message_score([], whole=0.5) is None


def test_one_unit_is_the_whole_message() -> None:
    assert message_score([-0.6]) == -0.6
    assert message_score([-0.6], whole=0.9) == -0.6  # a second reading of the same text is unused


def test_several_units_average_with_the_whole_reading() -> None:
    assert message_score([0.9, -0.9, -0.6]) == pytest.approx(-0.2)  # no whole: the plain mean
    assert message_score([0.9, -0.9, -0.6], whole=-0.8) == pytest.approx(-0.5)


def test_the_analyzer_reads_a_message_of_several_units_whole(analyzer) -> None:  # type: ignore[no-untyped-def]
    text = "Honest review. The courier left the parcel out in the rain and never rang the bell."
    (result,) = analyzer.analyze([TextInput(text)])
    assert len(result.units) == 2
    classifier = analyzer.classifier_for(result.language, None)
    (whole,) = classifier.predict([text])
    expected = message_score([u.score for u in result.units], whole.score)
    assert result.score == pytest.approx(expected, abs=1e-4)
    assert result.model == classifier.name


def test_without_the_whole_reading_a_message_scores_the_mean_of_its_units(
    analyzer,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "Eerlijke review. De bezorger zette het pakket in de regen voor de deur."
    classifier = analyzer.classifier_for("nl", None)
    calls: list[list[str]] = []
    original = classifier.predict

    def seen(texts):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return original(texts)

    monkeypatch.setattr(classifier, "predict", seen)
    monkeypatch.setattr(analyzer, "read_whole", False)  # sentiment.read_whole = false
    (result,) = analyzer.analyze([TextInput(text)])
    assert len(result.units) == 2
    assert result.score == pytest.approx(sum(u.score for u in result.units) / 2)
    assert [text] not in calls  # the whole text was not read: one pass saved
    monkeypatch.setattr(analyzer, "read_whole", True)
    analyzer.analyze([TextInput(text)])
    assert [text] in calls
