"""Inputs a worker meets in real traffic give a result, never a crash (real built-in model)."""

from __future__ import annotations

import pytest

from sentiment import TextInput

pytestmark = pytest.mark.slow

HARD = {
    "empty": "",
    "whitespace": " \n\t ",
    "emoji only": "😡😡😡",
    "very long": "De levering duurde veel te lang en niemand belde terug. " * 180,  # ~10k chars
    "mojibake": "Geweldige service, echt top ðŸ‘ Ã©Ã©n dag levering",
    "replacement characters": "Pakket \ufffd\ufffd kwam niet aan",
    "lone surrogates": "Bestelling \udcff\udcfe kwam te laat",
    "control characters": "Slecht\x00 \x1b[31mgeholpen\x07 door de chat",
    "German": "Das Paket kam zwei Wochen zu spät und niemand hat geantwortet.",
    "French": "Le colis est arrivé cassé et le service client ne répond pas.",
    "only a URL": "https://voorbeeld.nl/bestelling/123",
}


def test_every_hard_input_gets_an_analysis_in_one_batch(analyzer) -> None:  # type: ignore[no-untyped-def]
    results = analyzer.analyze([TextInput(text) for text in HARD.values()])
    by_name = dict(zip(HARD, results, strict=True))
    for name, result in by_name.items():
        assert result.language in ("nl", "en", "other"), name
        assert result.model and result.revision, name
        for unit in result.units:
            assert -1 <= unit.score <= 1, name
            assert "\ufffd" not in unit.text and "\x00" not in unit.text, name
    for name in ("empty", "whitespace"):
        assert by_name[name].units == () and by_name[name].score is None
    for name in ("German", "French"):
        assert by_name[name].language == "other"  # kept and scored, but flagged
        assert by_name[name].score is not None
    long = by_name["very long"]
    assert len(long.units) >= 100 and long.score is not None and long.score < 0
    assert by_name["lone surrogates"].units[0].text.encode("utf-8")  # storable as UTF-8


def test_a_hard_input_does_not_change_its_neighbours_scores(analyzer) -> None:  # type: ignore[no-untyped-def]
    plain = TextInput("De bezorger was vriendelijk en op tijd.")
    alone = analyzer.analyze([plain])[0]
    mixed = analyzer.analyze([TextInput(text) for text in HARD.values()] + [plain])[-1]
    assert mixed.score == pytest.approx(alone.score, abs=1e-4)
