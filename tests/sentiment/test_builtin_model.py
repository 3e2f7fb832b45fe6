"""The shipped built-in model on the hard cases the issue names: one message with several phases,
and negation. "builtin" is two adapters on multilingual-e5-small: sentiment/builtin/lora
(Dutch-first, round 11, scores nl and other) and sentiment/builtin/lora-en (builtin-en, round 12,
scores English)."""

import pytest

from sentiment.adapted import AdaptedClassifier
from sentiment.classifier import (
    BUILTIN,
    BUILTIN_EN,
    BUILTIN_HEAD_MODEL,
    HeadClassifier,
    load_classifier,
)
from sentiment.labels import label_for
from sentiment.pipeline import TextInput

MIXED = "mooie laptop, maar de bezorger was twee dagen te laat en de chat zei alleen sorry"
MIXED_EN = "lovely laptop, but the courier was two days late and the chat only said sorry"


@pytest.fixture(scope="module")
def builtin() -> AdaptedClassifier:
    classifier = load_classifier(BUILTIN)
    assert isinstance(classifier, AdaptedClassifier)
    return classifier


def test_builtin_is_the_lora_adapter_and_the_frozen_head_stays_reachable() -> None:
    head = load_classifier(BUILTIN_HEAD_MODEL)
    assert isinstance(head, HeadClassifier)
    assert head.name == "builtin:all-MiniLM-L6-v2+head"


@pytest.fixture(scope="module")
def builtin_en() -> AdaptedClassifier:
    classifier = load_classifier(BUILTIN_EN)
    assert isinstance(classifier, AdaptedClassifier)
    return classifier


def test_builtin_names_the_adapter_and_its_revision(
    builtin: AdaptedClassifier, builtin_en: AdaptedClassifier
) -> None:
    assert builtin.name == "builtin:multilingual-e5-small+lora"  # since round 8
    assert builtin_en.name == "builtin-en:multilingual-e5-small+lora"  # since round 7
    assert len(builtin.revision) >= 12
    assert len(builtin_en.revision) >= 12 and builtin_en.revision != builtin.revision


def test_the_default_scores_english_with_the_english_adapter_and_the_rest_with_the_dutch_one(
    analyzer,  # type: ignore[no-untyped-def]
    builtin: AdaptedClassifier,
    builtin_en: AdaptedClassifier,
) -> None:
    english, dutch = analyzer.analyze([TextInput(MIXED_EN), TextInput(MIXED)])
    assert (english.language, dutch.language) == ("en", "nl")
    assert english.model == builtin_en.name and dutch.model == builtin.name
    assert analyzer.model_name == f"{builtin.name}; en: {builtin_en.name}"  # the worker logs it
    expected = builtin_en.predict([u.text for u in english.units])
    assert [u.score for u in english.units] == pytest.approx([p.score for p in expected])


# The MiniLM adapters read the middle two as negative (round 3 fixed two of the four); the
# round-8 adapter on multilingual-e5-small reads all four right (docs/quality.md).
@pytest.mark.parametrize(
    "text",
    [
        "Het boek is niet slecht.",
        "Niet slecht voor die prijs, echt niet.",
        "Eerlijk gezegd viel de bezorging helemaal niet tegen.",
        "Niet slecht, ik ben er heel tevreden over.",
    ],
)
def test_dutch_negation_of_a_complaint_is_not_negative(
    builtin: AdaptedClassifier, text: str
) -> None:
    (prediction,) = builtin.predict([text])
    assert prediction.label != "negative", (text, prediction)


@pytest.mark.parametrize(
    "text",
    [
        "Ik ben helemaal niet tevreden.",
        "Helemaal niet tevreden over de klantenservice.",
        "Niet goed, de accu was na een week al leeg.",  # positive on MiniLM, right since round 8
    ],
)
def test_dutch_negation_of_praise_is_negative(builtin: AdaptedClassifier, text: str) -> None:
    (prediction,) = builtin.predict([text])
    assert prediction.label == "negative", (text, prediction)


def test_a_mixed_message_is_positive_for_use_and_negative_for_delivery_and_service(
    analyzer,  # type: ignore[no-untyped-def]
) -> None:
    assert isinstance(analyzer.classifier, AdaptedClassifier)  # the demo loads "builtin"
    (result,) = analyzer.analyze([TextInput(MIXED)])
    assert result.phase_scores["use"] > 0, result
    assert result.phase_scores["delivery"] < 0, result
    assert result.phase_scores["service"] < 0, result


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("Not bad at all for the price.", "negative"),
        ("The delivery was not bad, honestly.", "negative"),
        ("I am not happy at all with the service.", "positive"),
        ("Not good: the battery was empty after a week.", "positive"),
    ],
)
def test_english_negation_flips_the_polarity(
    builtin_en: AdaptedClassifier, text: str, wrong: str
) -> None:
    (prediction,) = builtin_en.predict([text])
    assert prediction.label != wrong, (text, prediction)


def test_a_mixed_english_message_scores_each_phase_its_own_way(
    analyzer,  # type: ignore[no-untyped-def]
) -> None:
    (result,) = analyzer.analyze([TextInput(MIXED_EN)])
    assert result.phase_scores["use"] > 0, result
    assert result.phase_scores["delivery"] < 0, result
    assert result.phase_scores["service"] < 0, result


# Loyalty, the moment of truth the wall must not get backwards: a customer saying they leave, or
# stay. Written 2026-12-03 before the round-6 candidates were trained, after the demo wall showed
# "The battery is dead within a few hours, and this was my last order with Voltera." as +1.00.
LEAVING = {
    "nl": [
        "Dit wordt mijn laatste bestelling bij jullie.",
        "Volgende keer bestel ik gewoon bij de concurrent.",
        "Na acht jaar zeg ik mijn abonnement op.",
        "De accu is na twee uur leeg, en dit was de laatste keer dat ik hier iets koop.",
    ],
    "en": [
        "That was my last order with them.",
        "Next time I'll just buy from a competitor.",
        "After eight years I'm cancelling my subscription.",
        "The battery dies after two hours, and that was the last time I buy anything here.",
    ],
}
STAYING = {
    "nl": ["Ik blijf hier zeker klant.", "Mijn zus heb ik hier ook al laten bestellen."],
    "en": ["I'm definitely staying a customer.", "I've already got my sister ordering here too."],
}


# What the shipped adapters still read backwards (strict: a model that reads one right drops it).
# Round 11 (2026-12-07) reads "Volgende keer bestel ik gewoon bij de concurrent." right.
LOYALTY_MISSES: set[str] = set()


def _marked(cases: list[tuple[str, ...]], misses: set[str]) -> list[object]:
    """parametrize entries; a case holding a known miss gets a strict xfail mark."""
    miss = pytest.mark.xfail(strict=True, reason="the shipped adapter misreads it")
    return [pytest.param(*c, marks=miss) if misses.intersection(c) else c for c in cases]


def _loyalty_cases() -> list[object]:
    cases = [(lang, text, "negative") for lang, texts in LEAVING.items() for text in texts]
    cases += [(lang, text, "positive") for lang, texts in STAYING.items() for text in texts]
    return _marked(cases, LOYALTY_MISSES)


@pytest.mark.parametrize(("language", "text", "feeling"), _loyalty_cases())
def test_leaving_reads_negative_and_staying_positive(
    builtin: AdaptedClassifier,
    builtin_en: AdaptedClassifier,
    language: str,
    text: str,
    feeling: str,
) -> None:
    (prediction,) = (builtin_en if language == "en" else builtin).predict([text])
    assert prediction.label == feeling, (text, prediction)


# The wall read review framing as praise: "Even mijn ervaring delen." +0.85 next to a missed
# delivery slot made the message +0.27. The Dutch cases were written 2026-12-07 before the
# round-9 candidate was trained (docs/quality.md, "Round 9"), the English ones the same day before
# the round-12 rows were written ("Round 12": on the wall "My experience with Voltera: The agent
# just hung up on me and …" read +0.99); none of these sentences is in project_texts.csv.
FRAMING = {
    "nl": [
        "Hieronder mijn bevindingen na drie weken.",
        "Mijn ervaring in het kort.",
        "Ik schrijf dit op verzoek van de winkel.",
        "Even een update over de bestelling van vorige week.",
        "Goedemiddag, ik heb een vraag over mijn order.",
        "Eerlijke review.",  # added 2026-12-07 after round 11 shipped: the wall still misreads it
    ],
    "en": [
        "Here are my findings after three weeks.",
        "My experience in a nutshell.",
        "I'm writing this because the shop asked me to.",
        "A quick update on last week's order.",
        "Good afternoon, I have a question about my order.",
        "Honest review.",  # added 2026-12-07 after round 12 shipped: the wall still misreads it
    ],
}
PLAIN_COMPLAINTS = {
    "nl": [
        "De monteur zou tussen acht en twaalf komen, om drie uur was er nog niemand.",
        "Ik heb mijn klantnummer aan drie verschillende medewerkers moeten doorgeven.",
        "De afgesproken bezorgdag is voorbijgegaan zonder dat iemand iets liet weten.",
    ],
    "en": [
        "The engineer was due between eight and twelve, and at three nobody had shown up.",
        "I had to give my customer number to three different agents.",
        "The agreed delivery day came and went without anyone letting me know.",
    ],
}
FRAMED_COMPLAINTS = [
    "Hierbij mijn verhaal. De bezorger heeft het pakket bij de verkeerde buren afgegeven.",
    "Here's my story. The courier left the parcel with the wrong neighbours.",
]

# What the shipped adapters still read wrong (strict: one read right drops the mark). Round 11
# (2026-12-07) reads the two Dutch framing sentences round 8 read as praise neutral; round 12 the
# three English ones round 7 misread: "My experience in a nutshell." (round 7: +0.73), "I'm
# writing this because the shop asked me to." (-0.87), "A quick update on last week's order."
# (+0.68).
FRAMING_MISSES = {
    "Ik heb mijn klantnummer aan drie verschillende medewerkers moeten doorgeven.",  # neutral
    "Eerlijke review.",  # round 11: positive (+1.00)
    "Honest review.",  # round 12: positive (+0.89)
}


def _by_language(texts: dict[str, list[str]]) -> list[object]:
    cases = [(lang, text) for lang, in_language in texts.items() for text in in_language]
    return _marked(cases, FRAMING_MISSES)


@pytest.mark.parametrize(("language", "text"), _by_language(FRAMING))
def test_review_framing_reads_neutral(
    builtin: AdaptedClassifier, builtin_en: AdaptedClassifier, language: str, text: str
) -> None:
    (prediction,) = (builtin_en if language == "en" else builtin).predict([text])
    assert prediction.label == "neutral", (text, prediction)


@pytest.mark.parametrize(("language", "text"), _by_language(PLAIN_COMPLAINTS))
def test_a_plain_complaint_without_feeling_words_reads_negative(
    builtin: AdaptedClassifier, builtin_en: AdaptedClassifier, language: str, text: str
) -> None:
    (prediction,) = (builtin_en if language == "en" else builtin).predict([text])
    assert prediction.label == "negative", (text, prediction)


@pytest.mark.parametrize(("text",), _marked([(t,) for t in FRAMED_COMPLAINTS], FRAMING_MISSES))
def test_framing_does_not_turn_a_complaint_positive(analyzer, text: str) -> None:  # type: ignore[no-untyped-def]
    (result,) = analyzer.analyze([TextInput(text)])
    assert result.score is not None and result.label == "negative", result


# A heading before a complaint: on the wall "Honest review." (+0.89) outweighed the missed
# delivery slot after it in a plain mean. Written 2026-12-07 before the message-score and
# clause-split candidates of docs/quality.md ("Units and the message score") were built.
HEADED_COMPLAINTS = {
    "nl": [
        "Eerlijke review. De bezorger zette het pakket in de regen voor de deur en belde niet aan.",
        "Mijn ervaring met de winkel: de monteur kwam niet opdagen en niemand belde af.",
    ],
    "en": [
        "Honest review. The courier left the parcel out in the rain and never rang the bell.",
        "My experience with the shop: the engineer never showed up and nobody called to cancel.",
    ],
}


# What the shipped Analyzer still reads wrong. With the plain mean of the units the Dutch message
# read neutral (heading +1.00, complaint -1.00) and the English one positive (+0.63); since the
# message is also read whole (labels.message_score, docs/quality.md) the Dutch one reads -0.49.
# The English complaint sentence itself reads +0.37 with round 12, so its message stays positive.
HEADING_MISSES = {
    "Honest review. The courier left the parcel out in the rain and never rang the bell.",
}


@pytest.mark.parametrize(
    ("language", "text"),
    _marked(
        [(lang, text) for lang, texts in HEADED_COMPLAINTS.items() for text in texts],
        HEADING_MISSES,
    ),
)
def test_a_heading_does_not_outweigh_the_complaint_after_it(
    analyzer, language: str, text: str
) -> None:  # type: ignore[no-untyped-def]
    (result,) = analyzer.analyze([TextInput(text)])
    assert result.language == language
    assert result.score is not None and result.label == "negative", result


def test_a_post_with_a_trailing_handle_is_one_delivery_complaint(analyzer) -> None:  # type: ignore[no-untyped-def]
    # the live page's post (rule 6, docs/quality.md): three units and five phase tags before,
    # "though I was home all day!!" read +0.92 and "@voltera_nl" alone got three phases
    (result,) = analyzer.analyze(
        [TextInput("the courier never came even though I was home all day!! @voltera_nl")]
    )
    assert [u.phases for u in result.units] == [("delivery",)], result.units
    assert result.label == "negative", result.units


def test_a_handle_does_not_move_the_score_and_stays_in_the_unit_shown(analyzer) -> None:  # type: ignore[no-untyped-def]
    # the wall's Dutch post read +0.92 with its handle and +0.29 without (rule 7, docs/quality.md)
    with_handle, without = analyzer.analyze(
        [
            TextInput("@voltera_nl het apparaat is gemiddeld in alles"),
            TextInput("het apparaat is gemiddeld in alles"),
        ]
    )
    assert with_handle.score == pytest.approx(without.score, abs=1e-5)
    assert with_handle.units[0].text == "@voltera_nl het apparaat is gemiddeld in alles"


# Known misses twice over: the clauses are one unit, because the cuts where clauses name
# different phases are off (the third rule in docs/quality.md, "Units and the message score");
# and with the cuts on (checked 2026-12-07) round 12 still reads "the battery easily lasts two
# days." as neutral, and "My experience with Voltera: The agent just hung up on me" too.
NO_PHASE_CUTS = pytest.mark.xfail(
    strict=True,
    reason="one unit (phase cuts off, docs/quality.md); cut, round 12 reads the clauses neutral",
)


@NO_PHASE_CUTS
def test_two_clauses_joined_by_a_comma_are_scored_apart(analyzer) -> None:  # type: ignore[no-untyped-def]
    (result,) = analyzer.analyze(
        [TextInput("The agent hung up on me twice, the battery easily lasts two days.")]
    )
    assert [u.label for u in result.units] == ["negative", "positive"], result.units


@NO_PHASE_CUTS
def test_each_phase_of_one_long_sentence_gets_its_own_score(analyzer) -> None:  # type: ignore[no-untyped-def]
    # the demo wall's message, one unit (+0.99 for service, delivery and use) without the cuts
    (result,) = analyzer.analyze(
        [
            TextInput(
                "My experience with Voltera: The agent just hung up on me and the dishwasher was "
                "delivered in the afternoon, the battery easily lasts two days."
            )
        ]
    )
    assert label_for(result.phase_scores["service"]) == "negative", result.units
    assert label_for(result.phase_scores["use"]) == "positive", result.units
