from sentiment.segment import split_units


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


def test_empty_and_whitespace_give_no_units() -> None:
    assert split_units("") == []
    assert split_units("   \n ") == []


def test_a_very_long_text_is_cut_into_bounded_units() -> None:
    units = split_units("woord " * 2000)
    assert all(len(u) <= 1000 for u in units)
    assert sum(len(u.split()) for u in units) == 2000
