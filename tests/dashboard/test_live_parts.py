"""The live page's header, without a browser: it names every model behind the ticker."""

from __future__ import annotations

from datetime import UTC, datetime

from dash import html

from dashboard.components.ticker import model_names, models_header
from storage.queries import TickerItem


def _item(n: int, model: str | None) -> TickerItem:
    return TickerItem(
        id=n,
        created_at=datetime(2026, 12, 3, 12, n, tzinfo=UTC),
        channel="review",
        source="demo",
        language="nl",
        text="…",
        sentiment=0.5 if model else None,
        label="positive" if model else None,
        brands=("voltera",),
        phases=(),
        model=model,
    )


def _text(parts: list[html.Span | str]) -> str:
    return "".join(p if isinstance(p, str) else p.children for p in parts)


def test_the_header_names_each_routed_model_once_newest_first_without_revisions() -> None:
    items = [
        _item(3, "builtin-en:all-MiniLM-L6-v2+lora@a1b2c3"),
        _item(2, "builtin:all-MiniLM-L6-v2+lora@d4e5f6"),
        _item(1, None),  # not scored yet
        _item(0, "builtin-en:all-MiniLM-L6-v2+lora@a1b2c3"),
    ]
    assert model_names(items) == [
        "builtin-en:all-MiniLM-L6-v2+lora",
        "builtin:all-MiniLM-L6-v2+lora",
    ]
    header = models_header(items)
    assert _text(header) == "builtin-en:all-MiniLM-L6-v2+lora, builtin:all-MiniLM-L6-v2+lora"
    # each name is one unbreakable span (the wall must not split a name at its hyphens)
    spans = [p for p in header if isinstance(p, html.Span)]
    assert [s.children for s in spans] == model_names(items)
    assert {s.className for s in spans} == {"model-name"}


def test_the_header_shows_a_dash_while_nothing_is_scored() -> None:
    assert models_header([]) == ["–"]
    assert models_header([_item(1, None)]) == ["–"]
