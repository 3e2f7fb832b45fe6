"""Per-phase polarity (sentiment.phase_polarity): the gold per (message, phase) from SemEval
opinions, the pairs compared with what the Analyzer gives each phase, and the reports
`sentiment.evaluate` prints for the restaurant sets."""

import csv
import json
from pathlib import Path

import pytest

from sentiment.evaluate import default_phases, run_eval
from sentiment.phase_polarity import (
    NOT_FOUND,
    REVIEWS,
    SENTENCES,
    PhaseOpinions,
    pair_outcome,
    phase_gold,
    read_phase_opinions,
)
from sentiment.pipeline import MessageAnalysis

HEADER = ["split", "review_id", "sentence_id", "text", "sentence_polarity", "opinions_json"]


def _opinions(*pairs: tuple[str, str]) -> str:
    return json.dumps([{"category": c, "polarity": p} for c, p in pairs])


def _write(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADER, "out_of_scope"])
        writer.writerows([[*row, ""] for row in rows])
    return path


def test_gold_is_the_phase_polarity_with_mixed_and_general_left_out() -> None:
    gold, mixed = phase_gold(
        [
            ("FOOD#QUALITY", "positive"),
            ("FOOD#STYLE_OPTIONS", "negative"),  # food both ways: mixed
            ("SERVICE#GENERAL", "neutral"),
            ("SERVICE#GENERAL", "negative"),  # neutral gives way to a judgement
            ("AMBIENCE#GENERAL", "neutral"),  # neutral alone stays
            ("RESTAURANT#PRICES", "conflict"),  # SemEval's both-ways opinion
            ("RESTAURANT#GENERAL", "positive"),  # the place as a whole: no phase
        ],
    )
    assert gold == {"service": "negative", "ambience": "neutral"}
    assert mixed == 2


def test_sentences_and_whole_reviews_are_read_in_order_with_their_split(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "sentences_en.csv",
        [
            ["train", "r1", "r1:1", "We went on a Friday.", "none", "[]"],
            [
                "train",
                "r1",
                "r1:2",
                "The waiter was rude.",
                "negative",
                _opinions(("SERVICE#GENERAL", "negative")),
            ],
            [
                "train",
                "r1",
                "r1:3",
                "The steak was great.",
                "positive",
                _opinions(("FOOD#QUALITY", "positive")),
            ],
            [
                "test",
                "r2",
                "r2:1",
                "Lovely terrace.",
                "positive",
                _opinions(("AMBIENCE#GENERAL", "positive")),
            ],
        ],
    )
    sentences = list(read_phase_opinions(path, "en", SENTENCES))
    assert [(s.id, s.gold, s.split) for s in sentences] == [
        ("r1:2", {"service": "negative"}, "train"),
        ("r1:3", {"food": "positive"}, "train"),
        ("r2:1", {"ambience": "positive"}, "test"),
    ]
    reviews = list(read_phase_opinions(path, "en", REVIEWS))
    assert reviews[0].text == "We went on a Friday. The waiter was rude. The steak was great."
    assert reviews[0].gold == {"service": "negative", "food": "positive"}
    assert [(r.id, r.split) for r in reviews] == [("r1", "train"), ("r2", "test")]
    with pytest.raises(ValueError, match="level 'words'"):
        list(read_phase_opinions(path, "en", "words"))


def _analysis(**phase_scores: float) -> MessageAnalysis:
    return MessageAnalysis("en", (), 0.0, "neutral", phase_scores, {}, "test", "test")


def test_a_phase_the_analyzer_did_not_find_counts_as_wrong() -> None:
    examples = [
        PhaseOpinions("a", "", "en", "test", {"food": "positive", "service": "negative"}),
        PhaseOpinions("b", "", "en", "test", {"price": "neutral", "food": "negative"}, mixed=1),
    ]
    results = [_analysis(food=0.8, service=0.5), _analysis(price=0.1)]
    three = pair_outcome(examples, results, "3-class")
    # sorted by phase: a food, a service; b food, b price
    assert three.gold == ["positive", "negative", "negative", "neutral"]
    assert three.predicted == ["positive", "positive", NOT_FOUND, "neutral"]
    assert three.found == pytest.approx(0.75)
    assert three.accuracy_where_found == pytest.approx(2 / 3)
    assert three.mixed == 1
    binary = pair_outcome(examples, results, "binary")  # neutral gold pairs drop out
    assert binary.gold == ["positive", "negative", "negative"]
    assert binary.predicted == ["positive", "positive", NOT_FOUND]


@pytest.mark.slow
@pytest.mark.parametrize("cuts", [False, True])
def test_the_evaluation_reads_each_phase_of_a_review_as_the_analyzer_does(
    tmp_path: Path, cuts: bool
) -> None:
    """The real built-in model on a two-phase sentence: one unit gives both phases one score
    (one pair wrong); cut where the phases differ, each phase gets its own clause."""
    _write(
        tmp_path / "en-semeval2016-restaurant-absa" / "sentences_en.csv",
        [
            [
                "test",
                "r1",
                "r1:1",
                "The waiter was extremely rude to us, the steak was delicious.",
                "mixed",
                _opinions(("SERVICE#GENERAL", "negative"), ("FOOD#QUALITY", "positive")),
            ],
        ],
    )
    reports = run_eval(
        tmp_path / "en-semeval2016-restaurant-absa", "builtin", progress=False, phase_cuts=cuts
    )
    by_task = {r.task: r for r in reports}
    review = by_task["phase polarity · reviews · binary"]
    assert review.overall.n == 2
    assert review.extra["phase found"] == 1.0
    assert review.overall.accuracy == (1.0 if cuts else 0.5)
    assert f"phase cuts {'on' if cuts else 'off'}" in review.note
    assert {"phase polarity · sentences · 3-class", "phase polarity · reviews · 3-class"} <= set(
        by_task
    )


@pytest.mark.slow
def test_phases_without_the_sets_own_keys_give_way_to_the_sets_own(tmp_path: Path) -> None:
    """`cxpulse eval` passes the configured (webshop) phases; the gold names restaurant phases,
    so the per-phase polarity is read with the set's own configuration."""
    _write(
        tmp_path / "en-semeval2016-restaurant-absa" / "sentences_en.csv",
        [
            [
                "test",
                "r1",
                "r1:1",
                "The pasta was cold and bland.",
                "negative",
                _opinions(("FOOD#QUALITY", "negative")),
            ]
        ],
    )
    reports = run_eval(
        tmp_path / "en-semeval2016-restaurant-absa",
        "builtin",
        progress=False,
        phase_specs=default_phases(),
    )
    (sentence,) = [r for r in reports if r.task == "phase polarity · sentences · binary"]
    assert sentence.overall.n == 1
    assert sentence.extra["phase found"] == 1.0  # "food" is no webshop phase
