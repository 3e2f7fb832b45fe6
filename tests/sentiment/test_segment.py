import pytest

from sentiment.segment import split_units, without_handles


def test_contrast_clause_starts_a_new_unit_in_dutch_and_english() -> None:
    assert split_units("Mooie laptop, maar de bezorger was twee dagen te laat") == [
        "Mooie laptop",
        "maar de bezorger was twee dagen te laat",
    ]
    assert split_units("Great laptop but the courier was late.") == [
        "Great laptop",
        "but the courier was late.",
    ]


def test_abbreviations_urls_and_decimals_do_not_end_a_sentence() -> None:
    units = split_units("Bestel bijv. via www.voltera.nl of de app. Prijs was 12.99 euro! Top.")
    assert units == ["Bestel bijv. via www.voltera.nl of de app.", "Prijs was 12.99 euro!", "Top."]


def test_line_breaks_separate_units_and_emoji_stay() -> None:
    assert split_units("Snel geleverd 😀\nMaar de doos was kapot") == [
        "Snel geleverd 😀",
        "Maar de doos was kapot",
    ]


# Rule 6 in docs/quality.md ("Units of nothing but a handle, and 'even though'"): on the live
# page a post's trailing "@voltera_nl" was a unit of its own that got three phases by similarity.
def test_a_handle_tags_or_emoji_alone_join_the_unit_before_them() -> None:
    assert split_units("The courier never came!! @voltera_nl") == [
        "The courier never came!! @voltera_nl"
    ]
    assert split_units("Top geholpen. 😀😀 #voltera\nDe app loopt vast. https://x.co/a1") == [
        "Top geholpen. 😀😀 #voltera",
        "De app loopt vast. https://x.co/a1",
    ]


def test_a_handle_alone_before_the_first_sentence_joins_the_one_after_it() -> None:
    assert split_units("@VolteraHelpt\nWaar blijft mijn pakket? Al een week!") == [
        "@VolteraHelpt Waar blijft mijn pakket?",
        "Al een week!",
    ]


def test_a_message_of_only_handles_or_emoji_stays_one_unit() -> None:
    assert split_units("@voltera_nl 😡😡") == ["@voltera_nl 😡😡"]
    assert split_units("😡. @voltera_nl!") == ["😡. @voltera_nl!"]


def test_a_rating_of_digits_is_a_unit_of_words() -> None:
    assert split_units("Snel geleverd. 10/10") == ["Snel geleverd.", "10/10"]


def test_even_though_and_as_though_do_not_start_a_unit() -> None:
    assert split_units("the courier never came even though I was home all day") == [
        "the courier never came even though I was home all day"
    ]
    assert split_units("It looks as though the box was opened, though it was sealed.") == [
        "It looks as though the box was opened",
        "though it was sealed.",
    ]


def test_the_sentiment_model_reads_a_text_without_its_handles() -> None:
    assert without_handles("@voltera_nl het apparaat is gemiddeld") == "het apparaat is gemiddeld"
    assert without_handles(".@united: my bag never came @AmericanAir") == "my bag never came"
    assert without_handles("motie van @naam over\nzorg") == "motie van over zorg"
    assert without_handles("[@gebruiker] ik ook, @voltera_nl!") == "ik ook, !"  # redacted
    assert without_handles("mail jan@voltera.nl vandaag") == "mail jan@voltera.nl vandaag"
    assert without_handles("@voltera_nl @stroomz") == "@voltera_nl @stroomz"  # nothing else
    assert without_handles("Geen  handle\nhier") == "Geen  handle\nhier"  # untouched


def test_empty_and_whitespace_give_no_units() -> None:
    assert split_units("") == []
    assert split_units("   \n ") == []


def test_a_very_long_text_is_cut_into_bounded_units() -> None:
    units = split_units("woord " * 2000)
    assert all(len(u) <= 1000 for u in units)
    assert sum(len(u.split()) for u in units) == 2000


# Clause splits fixed by the rule in docs/quality.md ("Units and the message score", 2026-12-07),
# written before the candidates were built: on the wall "My experience with Voltera: The agent
# just hung up on me and …, the battery easily lasts two days." was one unit that read +0.99.
# Measured on held-out rows, no split candidate passed the rule (comma/"and" splits cost 3-class
# up to 4.8 points; colon and semicolon splits moved nothing but one figure, -0.54), so these are
# strict xfails: the segmenter does not do this, by choice.
NOT_CHOSEN = pytest.mark.xfail(strict=True, reason="not chosen by the rule, docs/quality.md")


@NOT_CHOSEN
def test_a_colon_lead_in_is_a_unit_of_its_own() -> None:
    assert split_units("Mijn ervaring met de winkel: de monteur kwam niet opdagen.") == [
        "Mijn ervaring met de winkel:",
        "de monteur kwam niet opdagen.",
    ]
    assert split_units("Quick summary: the engineer never showed up.") == [
        "Quick summary:",
        "the engineer never showed up.",
    ]


def test_a_colon_inside_a_time_or_an_address_does_not_split() -> None:
    assert split_units("Bezorgd om 12:30 via https://voltera.nl/track ok.") == [
        "Bezorgd om 12:30 via https://voltera.nl/track ok."
    ]


@NOT_CHOSEN
def test_a_semicolon_separates_two_clauses() -> None:
    assert split_units("De app werkt prima; de klantenservice is onbereikbaar.") == [
        "De app werkt prima",
        "de klantenservice is onbereikbaar.",
    ]


@NOT_CHOSEN
def test_a_comma_splice_and_an_and_between_clauses_give_separate_units() -> None:
    assert split_units("The agent hung up on me twice, the battery easily lasts two days.") == [
        "The agent hung up on me twice",
        "the battery easily lasts two days.",
    ]
    assert split_units("Ik wachtte een uur aan de telefoon en niemand nam op.") == [
        "Ik wachtte een uur aan de telefoon",
        "en niemand nam op.",
    ]


def test_short_lists_stay_one_unit() -> None:
    assert split_units("Fast, friendly and cheap.") == ["Fast, friendly and cheap."]
    assert split_units("Snel, netjes en goedkoop geleverd.") == [
        "Snel, netjes en goedkoop geleverd."
    ]


# Clauses cut where they name different phases (segment.cut_by_phase), the third rule in
# docs/quality.md ("Units and the message score"); written before it was measured. The phases'
# keywords decide, as a CX manager configures them; no model is needed.
@pytest.fixture(scope="module")
def keywords():  # type: ignore[no-untyped-def]
    from sentiment.phases import PhaseKeywords, PhaseSpec

    return PhaseKeywords(
        [
            PhaseSpec("delivery", keywords=("bezorger", "courier", "delivered", "te laat")),
            PhaseSpec("use", keywords=("laptop", "battery", "accu", "werkt")),
            PhaseSpec("service", keywords=("chat", "agent", "klantenservice")),
        ]
    )


def test_clauses_about_different_phases_become_units(keywords) -> None:  # type: ignore[no-untyped-def]
    assert split_units(
        "The agent hung up on me twice, the battery easily lasts two days.", keywords
    ) == ["The agent hung up on me twice", "the battery easily lasts two days."]
    assert split_units(
        "mooie laptop, maar de bezorger was twee dagen te laat en de chat zei alleen sorry",
        keywords,
    ) == ["mooie laptop", "maar de bezorger was twee dagen te laat", "en de chat zei alleen sorry"]
    assert split_units("De accu werkt prima; de klantenservice is onbereikbaar.", keywords) == [
        "De accu werkt prima",
        "de klantenservice is onbereikbaar.",
    ]


def test_a_lead_in_without_a_phase_stays_with_the_clause_after_it(keywords) -> None:  # type: ignore[no-untyped-def]
    assert split_units(
        "My experience: the agent just hung up on me and the dishwasher was delivered late, "
        "the battery lasts two days.",
        keywords,
    ) == [
        "My experience: the agent just hung up on me",
        "and the dishwasher was delivered late",
        "the battery lasts two days.",
    ]


def test_same_phase_clauses_lists_and_clauses_without_keywords_stay_one_unit(keywords) -> None:  # type: ignore[no-untyped-def]
    for text in (
        "Fast, friendly and cheap.",
        "The courier was late and the courier was rude.",
        "Ik wachtte een uur en niemand nam op.",
        "The chat was slow, the agent was rude and nobody called back.",
    ):
        assert split_units(text, keywords) == split_units(text) == [text]


def test_times_decimals_and_words_that_start_with_en_are_never_cut(keywords) -> None:  # type: ignore[no-untyped-def]
    assert split_units("Courier came at 12:30, battery at 12,5 percent enough.", keywords) == [
        "Courier came at 12:30",
        "battery at 12,5 percent enough.",
    ]
    assert split_units("De bezorger enkel de laptop.", keywords) == ["De bezorger enkel de laptop."]


def test_a_one_word_piece_never_stands_alone(keywords) -> None:  # type: ignore[no-untyped-def]
    assert split_units("The agent was rude, battery.", keywords) == ["The agent was rude, battery."]
