"""Building CX Pulse's pieces from the settings: the engine, sources, normaliser and analyser.

Shared by the commands in app.py and learning_cli.py. `STATE` holds the command line's global
options (--config, --database-url), which `settings()` reads."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import typer

from config import ConfigError, Settings, load_settings

log = logging.getLogger("cxpulse")


class _State:
    config: Path | None = None
    database_url: str | None = None


STATE = _State()


def settings() -> Settings:
    try:
        return load_settings(STATE.config, STATE.database_url)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def sources_of(current: Settings):  # type: ignore[no-untyped-def]
    """Build the configured sources; a wrong option is a clean error naming its key path."""
    from ingest.sources import build_sources

    try:
        return build_sources(current)
    except ValueError as exc:
        typer.echo(f"{current.config_path}: {exc}", err=True)
        raise typer.Exit(2) from None


def prepared_engine(current: Settings):  # type: ignore[no-untyped-def]
    """Upgrade the schema, mirror brands/phases/sources into it, return the engine."""
    from storage.catalogue import sync_catalogue
    from storage.db import make_engine, session_scope
    from storage.migrate import upgrade

    upgrade(current.database_url)
    engine = make_engine(current.database_url)
    with session_scope(engine) as session:
        sync_catalogue(session, current.brands, current.phases, current.sources)
    return engine


def phase_specs(current: Settings):  # type: ignore[no-untyped-def]
    """The configured phases as the sentiment package reads them (both languages' words)."""
    from sentiment import PhaseSpec

    return [
        PhaseSpec(
            key=p.key,
            descriptions=tuple(p.description.values()),
            keywords=tuple(k for words in p.keywords.values() for k in words),
            examples=tuple(e for lines in p.examples.values() for e in lines),
        )
        for p in current.phases
    ]


def build_analyzer(current: Settings):  # type: ignore[no-untyped-def]
    import torch

    from sentiment import Analyzer
    from sentiment.adapted import phase_model_of

    if current.sentiment.threads:
        torch.set_num_threads(current.sentiment.threads)
    specs = phase_specs(current)
    log.info(
        "loading sentiment model %s (%s, quantize %s, %d torch threads)",
        current.sentiment.model,
        current.sentiment.device,
        current.sentiment.quantize,
        torch.get_num_threads(),
    )
    model = sentiment_model(current)
    phase_model = phase_model_of(model)
    if phase_model is not None:
        log.info("phases learned from the team's labels: %s", phase_model)
    return Analyzer(
        specs,
        model=model,
        routes=model_routes(current),
        phase_model=phase_model,
        batch_size=current.sentiment.batch_size,
        max_length=current.sentiment.max_length,
        phase_threshold=current.sentiment.phase_threshold,
        device=current.sentiment.device,
        quantize=current.sentiment.quantize,
        read_whole=current.sentiment.read_whole,
    )


def configured_phases(current: Settings, model: str):  # type: ignore[no-untyped-def]
    """texts → the first phase the analyser in use would assign (the configured phases, with
    the learned phases of `model` where it has them): what a new phase model is compared with."""
    from sentiment.adapted import learned_phases
    from sentiment.encoder import Encoder
    from sentiment.phases import PhaseMatcher

    encoder = Encoder(max_length=current.sentiment.max_length)
    matcher = PhaseMatcher(
        phase_specs(current),
        encoder,
        threshold=current.sentiment.phase_threshold,
        learned=learned_phases(model),
    )
    return lambda texts: [found[0] for found in matcher.assign(texts, matcher.embed(texts))]


def sentiment_model(current: Settings) -> str:
    """What the analyser loads: the `cxpulse models use` choice, else sentiment.model."""
    from sentiment import ModelNotAvailable
    from sentiment.own_models import resolve

    try:
        model, why = resolve(current.sentiment.model, Path(current.sentiment.models_dir))
    except ModelNotAvailable as exc:
        log.error("%s", exc)
        raise typer.Exit(2) from None
    log.info("sentiment model %s (%s)", model, why)
    return model


def model_routes(current: Settings):  # type: ignore[no-untyped-def]
    """`[[sentiment.routes]]` as the analyser takes them, own-vN names resolved to folders."""
    from sentiment import ModelNotAvailable, ModelRoute
    from sentiment.own_models import location

    models_dir = Path(current.sentiment.models_dir)
    routes = []
    for route in current.sentiment.routes:
        try:
            model = location(route.model, models_dir)
        except ModelNotAvailable as exc:
            log.error("sentiment.routes: %s", exc)
            raise typer.Exit(2) from None
        what = " × ".join(x for x in (route.language, route.channel) if x)
        log.info("sentiment model %s for %s (sentiment.routes)", model, what)
        routes.append(ModelRoute(model, language=route.language, channel=route.channel))
    return routes


def build_normaliser(current: Settings):  # type: ignore[no-untyped-def]
    from ingest.brands import BrandMatcher
    from ingest.pipeline import Normaliser
    from ingest.redact import Redactor

    handles = [h for b in current.brands for h in b.handles]
    redactor = Redactor(brand_handles=handles, extra_patterns=current.redaction.patterns)
    return Normaliser(redactor, BrandMatcher(current.brands), current.redaction.keep_original)


def format_when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"
