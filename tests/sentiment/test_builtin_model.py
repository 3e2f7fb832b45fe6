"""The shipped built-in model (MiniLM + the LoRA adapter in sentiment/builtin/lora) on the hard
Dutch cases the issue names: one message with several phases, and negation."""

import pytest

from sentiment.adapted import AdaptedClassifier
from sentiment.classifier import BUILTIN, BUILTIN_HEAD_MODEL, HeadClassifier, load_classifier
from sentiment.pipeline import TextInput

MIXED = "mooie laptop, maar de bezorger was twee dagen te laat en de chat zei alleen sorry"


@pytest.fixture(scope="module")
def builtin() -> AdaptedClassifier:
    classifier = load_classifier(BUILTIN)
    assert isinstance(classifier, AdaptedClassifier)
    return classifier


def test_builtin_is_the_lora_adapter_and_the_frozen_head_stays_reachable() -> None:
    head = load_classifier(BUILTIN_HEAD_MODEL)
    assert isinstance(head, HeadClassifier)
    assert head.name == "builtin:all-MiniLM-L6-v2+head"


def test_builtin_names_the_adapter_and_its_revision(builtin: AdaptedClassifier) -> None:
    assert builtin.name == "builtin:all-MiniLM-L6-v2+lora"
    assert len(builtin.revision) >= 12


# Known shortfall of the shipped adapter (docs/quality.md, "The LoRA model"): some negated
# complaint words still pull the score below zero (round 3 fixed two of the four). Strict: a
# model that gets them right must drop the mark.
NEGATION_SHORTFALL = pytest.mark.xfail(
    strict=True, reason="the shipped MiniLM adapter still reads these as negative"
)


@pytest.mark.parametrize(
    "text",
    [
        "Het boek is niet slecht.",
        pytest.param("Niet slecht voor die prijs, echt niet.", marks=NEGATION_SHORTFALL),
        pytest.param(
            "Eerlijk gezegd viel de bezorging helemaal niet tegen.", marks=NEGATION_SHORTFALL
        ),
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
        pytest.param(
            "Niet goed, de accu was na een week al leeg.",
            marks=pytest.mark.xfail(strict=True, reason="'niet goed' + a fact reads as positive"),
        ),
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
