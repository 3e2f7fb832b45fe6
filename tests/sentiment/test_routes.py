"""`[[sentiment.routes]]`: another model for some languages and/or channels, each model loaded
once, every score recorded with the model that made it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, select

from config.settings import ConfigError, Settings, load_settings
from scoring.worker import wait_until_idle
from sentiment import Analyzer, ModelRoute, TextInput
from sentiment.classifier import BUILTIN_EN, BUILTIN_HEAD_MODEL, Classifier, load_classifier
from sentiment.pipeline import (
    BUILTIN_ROUTES,
    RoutedClassifier,
    effective_routes,
    routed_classifier,
)
from storage.db import session_scope
from storage.messages import store_batch
from storage.models import Message, UnitScore
from wiring import model_routes, phase_specs

HEAD_NAME = "builtin:all-MiniLM-L6-v2+head"
DUTCH = "De bezorger was twee dagen te laat en niemand belde terug."
ENGLISH = "The courier was two days late and nobody called back."


@pytest.fixture(scope="module")
def routed(demo_settings: Settings, tiny_model: Path) -> Analyzer:
    return Analyzer(
        phase_specs(demo_settings),
        model=BUILTIN_HEAD_MODEL,
        routes=[
            ModelRoute(str(tiny_model), language="en"),
            ModelRoute(str(tiny_model), language="nl", channel="chat"),
        ],
    )


def test_each_message_is_scored_by_the_model_of_its_first_matching_route(
    routed: Analyzer, tiny_model: Path
) -> None:
    dutch_review, english, dutch_chat, dutch_unknown = routed.analyze(
        [
            TextInput(DUTCH, channel="review"),
            TextInput(ENGLISH, channel="review"),
            TextInput(DUTCH, channel="chat"),
            TextInput(DUTCH),
        ]
    )
    assert (english.language, dutch_review.language) == ("en", "nl")
    assert english.model == dutch_chat.model == str(tiny_model)
    assert dutch_review.model == dutch_unknown.model == HEAD_NAME
    # The units carry the routed model's own predictions, not the default model's.
    tiny = load_classifier(str(tiny_model))
    expected = tiny.predict([u.text for u in english.units])
    assert [u.score for u in english.units] == pytest.approx([p.score for p in expected])
    assert dutch_chat.units[0].score != pytest.approx(dutch_review.units[0].score)
    assert dutch_review.revision and english.revision and english.revision != dutch_review.revision


def test_one_model_named_by_two_routes_is_loaded_once(routed: Analyzer) -> None:
    (_, first), (_, second) = routed.routes
    assert first is second


def test_builtin_brings_its_english_route_after_the_configured_ones() -> None:
    own_english = ModelRoute("own-v3", language="en")
    assert effective_routes("builtin") == BUILTIN_ROUTES
    assert BUILTIN_ROUTES[0].matches("en", "review") and not BUILTIN_ROUTES[0].matches("nl", None)
    # A configured route for English comes first, so it wins over the built-in one.
    assert effective_routes("builtin", [own_english]) == (own_english, *BUILTIN_ROUTES)
    # Any other default model scores English itself unless a route says otherwise.
    assert effective_routes("own-v3") == ()
    assert effective_routes(BUILTIN_HEAD_MODEL, [own_english]) == (own_english,)


def test_a_routed_classifier_loads_each_model_once_and_a_bare_model_stays_bare() -> None:
    loads: list[str] = []

    def load(name: str) -> Classifier:
        loads.append(name)
        return _Named(name)

    nl = ModelRoute("own-v3", language="nl")
    chat = ModelRoute("own-v3", channel="chat")
    routed = routed_classifier("builtin", [nl, chat], load)
    assert isinstance(routed, RoutedClassifier)
    assert loads == ["builtin", "own-v3", BUILTIN_EN]
    # A bare text has no channel: the chat route is left out, builtin's English route kept.
    assert routed.name == "builtin; nl: own-v3; en: builtin-en"
    plain = routed_classifier("own-v3", (), load)
    assert not isinstance(plain, RoutedClassifier) and plain.name == "own-v3"


class _Named:
    def __init__(self, name: str) -> None:
        self.name, self.revision = name, "r"

    def predict(self, texts):  # type: ignore[no-untyped-def]
        raise AssertionError("not called")


def test_a_route_without_language_or_channel_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "routes.toml"
    config.write_text(
        '[[brands]]\nkey = "voltera"\nname = "Voltera"\nown = true\n\n'
        '[[sentiment.routes]]\nmodel = "builtin-head"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="sentiment.routes.0.*language, a channel or both"):
        load_settings(config)
    with pytest.raises(ValueError, match="neither a language nor a channel"):
        ModelRoute("builtin-head")


def test_a_route_to_a_version_that_is_gone_stops_the_worker_with_the_fix(
    demo_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(typer.Exit):
        model_routes(_with_routes(demo_settings, tmp_path, [("own-v7", "nl", None)]))
    assert "own-v7" in caplog.text and "cxpulse models" in caplog.text


def _with_routes(
    settings: Settings, models_dir: Path, routes: list[tuple[str, str | None, str | None]]
) -> Settings:
    raw = settings.model_dump()
    raw["sentiment"]["models_dir"] = str(models_dir)
    raw["sentiment"]["routes"] = [
        {"model": m, "language": lang, "channel": ch} for m, lang, ch in routes
    ]
    return Settings.model_validate(raw)


@pytest.mark.slow
def test_the_worker_stores_each_score_with_the_model_of_its_route(
    engine: Engine, routed: Analyzer, tiny_model: Path
) -> None:
    created = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    messages = [
        Message(source="t", external_id="r", channel="review", text=DUTCH, created_at=created),
        Message(
            source="t",
            external_id="c",
            channel="chat",
            text=DUTCH,
            created_at=created,
            turn_role="customer",
            conversation_id="c1",
        ),
    ]
    with session_scope(engine) as session:
        store_batch(session, "t", messages, {"r": ["voltera"], "c": ["voltera"]})
    assert wait_until_idle(engine, routed) == 2
    with session_scope(engine) as session:
        by_message = {
            m.external_id: {
                u.model for u in session.scalars(select(UnitScore)) if u.message_id == m.id
            }
            for m in session.scalars(select(Message))
        }
    assert by_message == {"r": {HEAD_NAME}, "c": {str(tiny_model)}}
