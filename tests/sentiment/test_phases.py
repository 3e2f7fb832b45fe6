import csv
import json
import os
import re
from pathlib import Path

import pytest
import torch

from sentiment.encoder import Encoder
from sentiment.evaluate import (
    EVAL_CONFIGS,
    Example,
    default_phases,
    eval_phases,
    evaluate_phase_sets,
    read_semeval_phases_en,
    read_semeval_phases_nl,
    repair_airline_text,
    semeval_category_phase,
)
from sentiment.phases import GENERAL, PhaseMatcher, PhaseSpec, keyword_regex
from sentiment.segment import split_units

SHARED_DATA = Path(
    os.environ.get("CXPULSE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


def hits(keyword: str, text: str) -> bool:
    return re.search(keyword_regex(keyword), text, re.IGNORECASE) is not None


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("late", "my flight was late again", True),
        ("late", "Late Flightr than promised", True),
        ("late", "this is related to my booking", False),  # "reLate Flightd" in the raw tweets
        ("late", "I'll call you later", True),
        ("delay", "two delays and then delayed again", True),
        ("bag", "where is my baggage", False),
        ("bag", "both bags are gone", True),
        ("app", "my Apple watch", False),
        ("fee", "I feel ignored", False),
        ("ship", "it shipped on Monday", True),
        ("delivery", "three deliveries this week", True),
        ("reply", "nobody replied", True),
        ("customer service", "worst Customer-Service ever", True),
        ("charge", "stop charging me", True),
    ],
)
def test_english_keywords_match_whole_words_and_their_inflections(
    keyword: str, text: str, expected: bool
) -> None:
    assert hits(keyword, text) is expected


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("bezorger", "de bezorgers waren vriendelijk", True),
        ("bezorger", "de pakketbezorger belde niet aan", False),  # a compound needs "*"
        ("*bezorger", "de pakketbezorger belde niet aan", True),
        ("bezorg*", "de bezorgservice was traag", True),
        ("bestelling", "twee bestellingen kwijt", True),
        ("bestel", "ik wil bestellen", True),
        ("te laat", "het pakket kwam veel te laat", True),
        ("laat", "hij kwam te laat", True),
        ("laat", "ik laat het zo", True),  # the same word: keywords are words, not meanings
        ("prijs", "de prijzen zijn hoog", False),  # irregular forms are listed by the manager
        ("kaart", "de menukaart was beperkt", False),
        ("*kaart", "de menukaart was beperkt", True),
    ],
)
def test_dutch_keywords_match_whole_words_and_their_inflections(
    keyword: str, text: str, expected: bool
) -> None:
    assert hits(keyword, text) is expected


class ConstantEncoder:
    """Equal embeddings everywhere: the keyword rules decide alone."""

    dimension = 4

    def embed(self, texts: list[str]) -> torch.Tensor:
        return torch.nn.functional.normalize(torch.ones((len(texts), 4)), dim=-1)


def test_handles_and_urls_are_not_searched_for_keywords() -> None:
    matcher = PhaseMatcher(
        [PhaseSpec("delivery", keywords=("late", "parcel"))],
        ConstantEncoder(),  # type: ignore[arg-type]
    )
    assert matcher.keyword_phases("@late_parcel hello https://x.example/parcel") == ()
    assert matcher.keyword_phases("@shop my parcel is late") == ("delivery",)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


def test_each_example_phrase_is_a_prototype_and_the_best_one_counts(encoder: Encoder) -> None:
    phase = PhaseSpec(
        "delivery",
        descriptions=("Shipping and logistics.",),
        examples=("My parcel never arrived.", "The courier threw the box over the fence."),
    )
    other = PhaseSpec("payment", descriptions=("Paying, invoices and charges.",))
    matcher = PhaseMatcher([phase, other], encoder)
    text = "the courier threw my box over the fence"
    embedding = encoder.embed([text])
    sims = matcher.similarities(embedding)
    direct = encoder.embed(list(phase.descriptions + phase.examples)) @ embedding[0]
    assert float(sims[0, 0]) == pytest.approx(float(direct.max()), abs=1e-5)
    assert float(sims[0, 0]) > float(direct.mean())  # the best prototype, not the mean
    assert matcher.assign([text], embedding) == [("delivery",)]


def test_several_keyword_phases_are_kept_within_the_margin_only(encoder: Encoder) -> None:
    phases = [
        PhaseSpec("delivery", ("Parcel delivery and the courier.",), ("courier", "late")),
        PhaseSpec("service", ("Contact with customer service.",), ("chat",)),
    ]
    text = "the courier was late and the chat only said sorry"
    embedding = encoder.embed([text])
    wide = PhaseMatcher(phases, encoder, margin=1.0).assign([text], embedding)
    narrow = PhaseMatcher(phases, encoder, margin=0.0).assign([text], embedding)
    assert set(wide[0]) == {"delivery", "service"}
    assert len(narrow[0]) == 1 and narrow[0][0] == wide[0][0]  # best first


def test_the_mixed_dutch_message_keeps_use_delivery_and_service(encoder: Encoder) -> None:
    matcher = PhaseMatcher(default_phases(), encoder)
    units = split_units(
        "mooie laptop, maar de bezorger was twee dagen te laat en de chat zei alleen sorry"
    )
    phases = matcher.assign(units, encoder.embed(units))
    assert {p for unit in phases for p in unit} >= {"use", "delivery", "service"}
    assert phases[0] == ("use",)


def test_a_restaurant_taxonomy_works_through_the_same_code(encoder: Encoder) -> None:
    phases = [
        PhaseSpec("food", ("Het eten en de smaak.", "The food and its taste."), ("eten", "food")),
        PhaseSpec("service", ("De bediening.", "The staff and service."), ("ober", "waiter")),
        PhaseSpec("ambience", ("De sfeer.", "The atmosphere."), ("sfeer", "atmosphere")),
        PhaseSpec("price", ("De prijs.", "The price."), ("duur", "expensive", "prijs*")),
    ]
    matcher = PhaseMatcher(phases, encoder, threshold=0.6)
    texts = [
        "Our waiter was rude.",
        "Het eten was koud.",
        "Gezellige sfeer!",
        "Veel te duur.",
        "De prijsstelling valt mee.",
        "We will be back.",
    ]
    assigned = matcher.assign(texts, encoder.embed(texts))
    assert [a[0] for a in assigned] == ["service", "food", "ambience", "price", "price", GENERAL]


# Rule 8 in docs/quality.md: in a scan of demo messages the chat reply "Ja, klopt." got all eight
# phases.
def test_a_unit_close_to_most_phases_without_a_keyword_is_general(encoder: Encoder) -> None:
    texts = ["Ja, klopt.", "Ja, klopt, maar de bezorger was te laat."]
    matcher = PhaseMatcher(default_phases(), encoder)
    assert matcher.assign(texts, encoder.embed(texts)) == [(GENERAL,), ("delivery",)]
    # every phase within the margin: without a keyword general, with keywords their phases
    phases = [PhaseSpec(k, (f"{k} talk",), (k,)) for k in ("bezorging", "betaling", "retour")]
    loose = PhaseMatcher(phases, encoder, threshold=-1.0, margin=0.9, general_margin=-10.0)
    texts = ["we hebben het erover gehad", "de retour en de betaling"]
    nothing, two = loose.assign(texts, encoder.embed(texts))
    assert nothing == (GENERAL,) and set(two) == {"betaling", "retour"}


# Rule 9 in docs/quality.md: "@voltera_nl Pff." got service and returns from its handle.
def test_a_handle_does_not_move_the_phases(encoder: Encoder) -> None:
    matcher = PhaseMatcher(default_phases(), encoder)
    texts = ["@voltera_nl Pff.", "smh @voltera_nl", "@VolteraHelpt de doos was kapot", "Pff."]
    assigned = matcher.assign(texts, matcher.embed(texts))
    assert assigned[:2] == [(GENERAL,), (GENERAL,)]
    plain = ["de doos was kapot"]
    assert assigned[2] == matcher.assign(plain, matcher.embed(plain))[0]
    assert torch.allclose(matcher.embed(texts[:1]), matcher.embed(texts[3:]))


def test_the_restaurant_and_support_configs_load_as_phase_specs() -> None:
    restaurant = eval_phases("restaurant")
    assert [p.key for p in restaurant] == ["food", "service", "ambience", "price", "location"]
    assert all(p.keywords and p.descriptions and p.examples for p in restaurant)
    support = eval_phases("support")
    assert {"delivery", "returns", "payment", "service", "use", "account"} == {
        p.key for p in support
    }
    assert (EVAL_CONFIGS / "airline.toml").exists()


def test_semeval_categories_map_to_restaurant_phases() -> None:
    assert semeval_category_phase("FOOD#QUALITY") == "food"
    assert semeval_category_phase("DRINKS#STYLE_OPTIONS") == "food"
    assert semeval_category_phase("FOOD#PRICES") == "price"
    assert semeval_category_phase("RESTAURANT#PRICES") == "price"
    assert semeval_category_phase("SERVICE#GENERAL") == "service"
    assert semeval_category_phase("LOCATION#GENERAL") == "location"
    assert semeval_category_phase("RESTAURANT#GENERAL") == GENERAL


def test_the_semeval_phase_reader_builds_multi_label_gold(tmp_path: Path) -> None:
    folder = tmp_path / "en-semeval2016-restaurant-absa"
    folder.mkdir()

    def opinions(*categories: str) -> str:
        return json.dumps([{"category": c, "polarity": "positive"} for c in categories])

    both = opinions("FOOD#QUALITY", "SERVICE#GENERAL")
    priced = opinions("RESTAURANT#GENERAL", "FOOD#PRICES")
    rows = [
        ["train", "r1", "r1:0", "Nice food, slow staff.", "mixed", both, ""],
        ["test", "r1", "r1:1", "Loved it.", "positive", opinions("RESTAURANT#GENERAL"), ""],
        ["test", "r1", "r1:2", "We went on Friday.", "none", "[]", ""],
        ["test", "r1", "r1:3", "Cheap and tasty.", "positive", priced, ""],
        ["test", "r1", "r1:4", "Off topic.", "none", "[]", "TRUE"],
    ]
    with (folder / "sentences_en.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["split", "review_id", "sentence_id", "text", "sentence_polarity", "opinions_json"]
            + ["out_of_scope"]
        )
        writer.writerows(rows)
    examples = list(read_semeval_phases_en(folder))
    assert [(e.id, e.gold, e.split) for e in examples] == [
        ("r1:0", "food|service", "train"),
        ("r1:1", GENERAL, "test"),
        ("r1:3", "price", "test"),
    ]


def test_multi_label_phase_scores_match_a_hand_computed_case(encoder: Encoder) -> None:
    phases = [
        PhaseSpec("food", ("The food.",), ("food",)),
        PhaseSpec("service", ("The staff.",), ("staff",)),
    ]
    matcher = PhaseMatcher(phases, encoder, threshold=0.9, margin=1.0)
    examples = [
        Example("1", "good food, friendly staff", "food|service", "en", "test"),  # both: exact
        Example("2", "the food was cold", "food|service", "en", "test"),  # food only
        Example("3", "the staff", "service", "en", "test"),  # exact
        Example("4", "we loved it", GENERAL, "en", "test"),  # general, exact
    ]
    report = evaluate_phase_sets(matcher, examples, progress=False)
    assert report.overall.accuracy == pytest.approx(3 / 4)
    # food: tp 2, gold 2, assigned 2 → 1.0; service: tp 2, gold 3, assigned 2 → 0.8
    assert report.overall.f1["food"] == pytest.approx(1.0)
    assert report.overall.f1["service"] == pytest.approx(0.8)
    assert report.overall.macro_f1 == pytest.approx(0.9)
    assert report.extra["micro-F1 (phases)"] == pytest.approx(2 * 4 / (5 + 4))
    assert report.extra["F1 general"] == pytest.approx(1.0)
    assert report.extra["gold among assigned"] == pytest.approx(5 / 6)


def test_airline_text_repair_undoes_the_published_search_and_replace() -> None:
    assert repair_airline_text("reLate Flightd: my flight got Cancelled Flightled") == (
        "related: my flight got cancelled"
    )
    assert repair_airline_text("reFlight Booking Problems") == "rebooking"


@pytest.mark.parametrize(
    ("folder_name", "reader"),
    [
        ("en-semeval2016-restaurant-absa", read_semeval_phases_en),
        ("nl-semeval2016-restaurant-absa", read_semeval_phases_nl),
    ],
)
def test_the_real_semeval_phase_sets_read_or_skip(folder_name: str, reader) -> None:  # type: ignore[no-untyped-def]
    folder = SHARED_DATA / folder_name
    if not folder.exists():
        pytest.skip(f"{folder} is not on this machine")
    examples = list(reader(folder))
    assert {e.split for e in examples} == {"train", "test"}
    keys = {p.key for p in eval_phases("restaurant")} | {GENERAL}
    assert all(set(e.gold.split("|")) <= keys for e in examples)


@pytest.mark.parametrize("config_file", ["config/demo.toml", "cxpulse.example.toml"])
@pytest.mark.parametrize(
    ("text", "phase"),
    [
        ("De doos was helemaal kapot bij aankomst.", "delivery"),  # "kapot" also says use
        ("The box was completely crushed on arrival.", "delivery"),
        ("Ik kreeg geen bestelbevestiging.", "purchase"),
        ("Er werden ineens betaalkosten gerekend bij het afrekenen.", "payment"),
        ("Het retourlabel zat gewoon in de doos.", "returns"),
        ("Ik heb een garantieclaim ingediend.", "returns"),
        ("De chatbot begrijpt helemaal niks.", "service"),
        ("De software loopt de hele tijd vast.", "use"),
        ("Voortaan bestel ik alleen nog hier.", "loyalty"),
    ],
)
def test_the_shipped_configs_keywords_reach_dutch_compounds_and_arrival_talk(
    config_file: str, text: str, phase: str
) -> None:
    root = Path(__file__).resolve().parents[2]
    matcher = PhaseMatcher(default_phases(root / config_file), ConstantEncoder())  # type: ignore[arg-type]
    assert phase in matcher.keyword_phases(text)
