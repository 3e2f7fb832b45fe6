import csv
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from sentiment.classifier import Prediction
from sentiment.encoder import Encoder
from sentiment.evaluate import (
    AIRLINE_PHASES,
    BINARY,
    DATASETS,
    THREE_CLASS,
    UNITS,
    DatasetError,
    Example,
    evaluate,
    evaluate_phases,
    find_dataset,
    holdout_split,
    in_test_split,
    main,
    predict_all,
    predict_routed,
    run_eval,
    score,
    stars_to_polarity,
)
from sentiment.labels import label_for
from sentiment.phases import PhaseMatcher
from sentiment.pipeline import ModelRoute, RoutedClassifier

SHARED_DATA = Path(
    os.environ.get("CXPULSE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


class WordClassifier:
    """Scores by a few words, so a test knows every prediction in advance."""

    name = "words"
    revision = "test"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            value = 0.9 if "good" in text else -0.9 if "bad" in text else 0.1
            out.append(Prediction(value, label_for(value), 0.8))
        return out


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_metrics_match_a_hand_computed_case() -> None:
    gold = ["negative", "negative", "negative", "positive", "positive", "neutral"]
    predicted = ["negative", "negative", "positive", "positive", "neutral", "neutral"]
    scores = score(gold, predicted, ["negative", "neutral", "positive"])
    # negative: P 2/2, R 2/3 → F1 0.8; neutral: P 1/2, R 1/1 → 2/3; positive: P 1/2, R 1/2 → 0.5
    assert scores.accuracy == pytest.approx(4 / 6)
    assert scores.f1 == pytest.approx({"negative": 0.8, "neutral": 2 / 3, "positive": 0.5})
    assert scores.macro_f1 == pytest.approx((0.8 + 2 / 3 + 0.5) / 3)
    assert scores.confusion == ((2, 0, 1), (0, 1, 0), (0, 1, 1))  # rows gold, columns predicted


def test_a_label_nobody_has_in_gold_stays_out_of_macro_f1_but_shows_as_a_column() -> None:
    scores = score(["delivery", "service"], ["delivery", "general"], ["delivery", "service"])
    assert scores.columns == ("delivery", "service", "general")
    assert scores.confusion == ((1, 0, 0), (0, 0, 1))
    assert scores.macro_f1 == pytest.approx((1.0 + 0.0) / 2)
    only_positive = score(["positive"], ["positive"], ["negative", "neutral", "positive"])
    assert only_positive.macro_f1 == 1.0


def test_every_fifth_id_is_test_and_no_other() -> None:
    assert [holdout_split(i) for i in range(11)] == [
        "test",
        "train",
        "train",
        "train",
        "train",
        "test",
        "train",
        "train",
        "train",
        "train",
        "test",
    ]


def test_split_rule_never_yields_train_rows_for_any_adapter(tmp_path: Path) -> None:
    ids = range(23)
    _write_csv(
        tmp_path / "nl-bolcom-reviews-pattern" / "bolcom_reviews_nl.csv",
        ["id", "text", "label"],
        [[i, f"review {i}", "pos" if i % 2 else "neg"] for i in ids],
    )
    _write_csv(
        tmp_path / "en-uci-sentiment-labelled-sentences" / "sentences_en.csv",
        ["id", "source", "text", "label"],
        [[i, "yelp", f"sentence {i}", "pos"] for i in ids],
    )
    _write_csv(
        tmp_path / "en-twitter-us-airline-sentiment" / "airline_tweets_en.csv",
        ["id", "airline", "text", "airline_sentiment", "negativereason"],
        [[i, "United", f"tweet {i}", "negative", "Late Flight"] for i in ids],
    )
    _write_csv(
        tmp_path / "nl-en-fr-keytrade-trustpilot-reviews" / "keytrade_trustpilot_reviews.csv",
        ["id", "language", "rating", "title", "text"],
        [[i, "nl", 1 + i % 5, "titel", f"tekst {i}"] for i in ids],
    )
    _write_csv(
        tmp_path / "en-tripadvisor-hotel-reviews-subset" / "tripadvisor_hotel_reviews_en.csv",
        ["id", "text", "rating"],
        [[i, f" nice hotel {i} ", 1 + i % 5] for i in ids],
    )
    _write_csv(
        tmp_path / "en-twcs-customer-support-labeled" / "inbound_customer_tweets_topics.csv",
        ["company", "tweet_id", "text", "labels"],
        [["AmazonHelp", i, f"tweet {i}", "Delivery|Packaging"] for i in ids],
    )
    _write_csv(
        tmp_path / "nl-political-tweets-polarity-zegelaar" / "dutch_political_tweets_polarity.csv",
        ["id", "split", "text", "polarity", "emotion"],
        [[i, "test" if i % 5 == 0 else "train", f"tweet {i}", "neutral", ""] for i in ids],
    )
    opinion = '[{"category": "FOOD#QUALITY", "polarity": "positive"}]'  # the phase reader needs one
    semeval = [
        [split, "r1", f"r1:{i}", f"zin {i}", "positive", opinion, ""]
        for i, split in enumerate(["train", "test", "train", "test", "train"])
    ]
    header = ["split", "review_id", "sentence_id", "text", "sentence_polarity", "opinions_json"]
    _write_csv(
        tmp_path / "nl-semeval2016-restaurant-absa" / "sentences_nl.csv",
        [*header, "out_of_scope"],
        semeval,
    )
    _write_csv(
        tmp_path / "en-semeval2016-restaurant-absa" / "sentences_en.csv",
        [*header, "out_of_scope"],
        semeval,
    )
    for spec in DATASETS.values():
        for read in [r for r in (spec.read, spec.read_phases) if r is not None]:
            everything = list(read(tmp_path / spec.folder))
            held_out = in_test_split(everything)
            assert held_out, spec.folder
            assert all(e.split == "test" for e in held_out)
            if "semeval" in spec.folder:
                assert [e.id for e in held_out] == ["r1:1", "r1:3"]
            else:
                assert {int(e.id) % 5 for e in held_out} == {0}
                assert len(held_out) == len([i for i in ids if i % 5 == 0])


def test_hotel_reviews_are_english_with_stars_as_polarity(tmp_path: Path) -> None:
    folder = tmp_path / "en-tripadvisor-hotel-reviews-subset"
    _write_csv(
        folder / "tripadvisor_hotel_reviews_en.csv",
        ["id", "text", "rating"],
        [[5, " great stay, staff friendly ", 5], [10, "room dirty", 1], [11, "okay", 3]],
    )
    spec, found = find_dataset(folder / "tripadvisor_hotel_reviews_en.csv")
    assert spec.tasks == (BINARY, THREE_CLASS)
    rows = list(spec.read(found))  # type: ignore[misc]
    assert [(e.text, e.gold, e.language, e.split) for e in rows] == [
        ("great stay, staff friendly", "positive", "en", "test"),
        ("room dirty", "negative", "en", "test"),
        ("okay", "neutral", "en", "train"),
    ]


def test_dutch_political_tweets_keep_their_own_split_and_three_polarities(tmp_path: Path) -> None:
    folder = tmp_path / "nl-political-tweets-polarity-zegelaar"
    _write_csv(
        folder / "dutch_political_tweets_polarity.csv",
        ["id", "split", "text", "polarity", "emotion"],
        [
            [0, "train", "Goed nieuws @rivm", "positive", ""],
            [7, "test", "Slecht plan.", "negative", ""],
        ],
    )
    spec, found = find_dataset(folder)
    assert spec.tasks == (THREE_CLASS, BINARY)
    rows = list(spec.read(found))  # type: ignore[misc]
    assert [(e.id, e.text, e.gold, e.language, e.split) for e in rows] == [
        ("0", "Goed nieuws @rivm", "positive", "nl", "train"),
        ("7", "Slecht plan.", "negative", "nl", "test"),
    ]


def test_stars_become_polarity_with_three_stars_neutral() -> None:
    assert [stars_to_polarity(s) for s in range(1, 6)] == [
        "negative",
        "negative",
        "neutral",
        "positive",
        "positive",
    ]


def test_binary_compares_the_sign_and_drops_neutral_gold_rows() -> None:
    examples = [
        Example("1", "good", "positive", "nl", "test"),
        Example("2", "bad", "negative", "nl", "test"),
        Example("3", "so so", "positive", "en", "test"),  # score +0.1: neutral label, positive sign
        Example("4", "meh", "neutral", "en", "test"),
    ]
    report = evaluate(WordClassifier(), examples, task=BINARY, progress=False)
    assert report.overall.n == 3
    assert report.overall.accuracy == 1.0
    assert set(report.by_language) == {"nl", "en"}
    assert report.by_language["en"].n == 1


def test_three_class_compares_the_label_from_the_neutral_band() -> None:
    examples = [
        Example("1", "good", "positive", "en", "test"),
        Example("2", "so so", "positive", "en", "test"),  # +0.1 reads as neutral: an error
        Example("3", "meh", "neutral", "en", "test"),
        Example("4", "bad", "negative", "en", "test"),
    ]
    report = evaluate(WordClassifier(), examples, progress=False)
    assert report.task == THREE_CLASS
    assert report.overall.accuracy == pytest.approx(3 / 4)
    assert report.by_language == {}  # one language: nothing to break down
    assert "gold \\ predicted" in report.to_text()


class ConstantClassifier:
    """One score for every text: shows which texts a route sent here."""

    name = "constant"
    revision = "test"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.seen += texts
        return [Prediction(-0.5, label_for(-0.5), 0.7) for _ in texts]


def test_routed_evaluation_sends_each_text_to_the_model_of_its_detected_language() -> None:
    dutch = "Het pakket kwam veel te laat aan en niemand nam de telefoon op."
    english = "The parcel arrived far too late and nobody picked up the phone."
    english_route = ConstantClassifier()
    routes = [(ModelRoute("constant", language="en"), english_route)]
    channel_only = [(ModelRoute("constant", channel="chat"), ConstantClassifier())]

    routed = RoutedClassifier(WordClassifier(), routes)
    predictions = predict_routed(routed, [dutch, english, dutch], progress=False)

    assert [p.score for p in predictions] == [0.1, -0.5, 0.1]  # input order kept
    assert english_route.seen == [english]
    # Per unit, every unit of an English text goes to the English route, as one message does,
    # and so does the text read whole (labels.message_score).
    two_sentences = "The parcel was late. Nobody picked up the phone when I called them."
    (per_unit,) = predict_routed(routed, [two_sentences], aggregate=UNITS, progress=False)
    assert per_unit.score == -0.5
    assert sorted(english_route.seen[1:]) == sorted(
        ["The parcel was late.", "Nobody picked up the phone when I called them.", two_sentences]
    )
    # The sets carry no channel: a route by channel alone never takes a text.
    unrouted = predict_routed(
        RoutedClassifier(WordClassifier(), channel_only), [english], progress=False
    )
    assert [p.score for p in unrouted] == [0.1]
    assert routed.name == "words; en: constant"


def test_a_route_that_is_not_language_equals_model_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit):
        main(["--dataset", str(tmp_path), "--route", "fr=builtin-en"])
    assert "--route 'fr=builtin-en'" in capsys.readouterr().err


def test_an_unknown_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="nl-bolcom-reviews-pattern"):
        find_dataset(tmp_path)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


def test_phase_eval_counts_the_most_similar_keyword_phase(encoder: Encoder) -> None:
    matcher = PhaseMatcher(AIRLINE_PHASES, encoder)
    examples = [
        Example("1", "my flight was delayed for hours", "delivery", "en", "test"),
        Example("2", "the flight attendant was rude", "use", "en", "test"),
        Example("3", "on hold with customer service for two hours", "service", "en", "test"),
    ]
    report = evaluate_phases(matcher, examples, progress=False)
    assert report.overall.n == 3
    assert report.overall.labels == ("delivery", "use", "service")
    assert report.extra["gold among assigned"] == 1.0
    assert report.overall.accuracy == 1.0


@pytest.mark.slow
def test_real_bolcom_test_rows_evaluate_with_the_builtin_model() -> None:
    folder = SHARED_DATA / "nl-bolcom-reviews-pattern"
    if not folder.exists():
        pytest.skip(f"{folder} is not on this machine")
    (report,) = run_eval(folder, "builtin", limit=10, progress=False)
    assert report.overall.n == 10
    assert 0 <= report.overall.accuracy <= 1


def test_per_unit_scores_combine_the_units_with_the_text_read_whole() -> None:
    two = "The room was good. The staff were bad to us."
    one = "The staff were bad to us."
    scored_two, scored_one = predict_all(
        WordClassifier(), [two, one], aggregate=UNITS, progress=False
    )
    # units +0.9 and -0.9 average 0.0; the whole text (first word found: "good") reads +0.9
    assert scored_two.score == pytest.approx(0.45)
    assert scored_two.label == "positive"
    assert scored_one.score == pytest.approx(-0.9)  # one unit: that unit is the whole
