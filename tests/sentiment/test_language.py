"""Language per message: Dutch, English or "other", on short texts too; measured on real sets."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sentiment.evaluate import Example
from sentiment.language import detect_language, detect_languages
from sentiment.language_eval import evaluate_set, gold_language
from tests.sentiment.test_evaluate import SHARED_DATA


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Pakket kwam niet", "nl"),
        ("Where is my parcel?", "en"),
        ("Wo ist mein Paket? Seit zwei Wochen warte ich.", "other"),
        ("Le colis n'est jamais arrivé, très déçu.", "other"),
        ("👍👍", "other"),
    ],
)
def test_short_texts_get_a_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_a_sources_hint_decides_only_when_the_text_cannot() -> None:
    assert detect_language("ok", hint="nl") == "nl"
    assert detect_language("Where is my parcel?", hint="nl") == "en"
    assert detect_languages(["👍", "Waar blijft mijn pakket?"], ["en", None]) == ["en", "nl"]


def test_french_counts_as_other_in_the_gold_labels() -> None:
    assert [gold_language(x) for x in ("nl", "en", "fr")] == ["nl", "en", "other"]


def test_the_evaluation_counts_each_miss_per_length(tmp_path: Path) -> None:
    rows = [
        Example(
            "1",
            "De bezorger was erg vriendelijk en bracht het pakket snel.",
            "positive",
            "nl",
            "test",
        ),
        Example("2", "The courier was friendly and quick.", "positive", "nl", "test"),  # wrong
        Example("3", "Niet meegeteld: train split.", "positive", "nl", "train"),
    ]
    report = evaluate_set(tmp_path, lambda _folder: iter(rows))
    assert (report.n, report.correct) == (2, 1)
    assert report.confusion[("nl", "en")] == 1
    assert report.by_length["≤ 40 chars"] == (0, 1)
    assert report.by_length["41–100"] == (1, 1)


@pytest.mark.slow
def test_real_dutch_tweets_are_read_as_dutch() -> None:
    folder = SHARED_DATA / "nl-political-tweets-polarity-zegelaar"
    if not folder.exists():
        pytest.skip(f"{folder} is not on this machine")
    from sentiment.language_eval import read_political_tweets

    report = evaluate_set(folder, read_political_tweets)
    with (folder / "dutch_political_tweets_polarity.csv").open(encoding="utf-8") as handle:
        tests = sum(row["split"] == "test" for row in csv.DictReader(handle))
    assert report.n == tests
    assert report.accuracy >= 0.95
