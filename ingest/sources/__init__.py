"""The source types: one module each, all building a `Source` from its `[[sources]]` config.

Each module exposes `build(config, settings) -> Source`; this file only maps type → module."""

from __future__ import annotations

import importlib

from config import Settings, SourceConfig
from ingest.base import Source

MODULES = {
    "demo": "ingest.sources.demo",
    "x": "ingest.sources.x",
    "appstore": "ingest.sources.appstore",
    "googleplay": "ingest.sources.googleplay",
    "trustpilot": "ingest.sources.trustpilot",
    "zendesk": "ingest.sources.zendesk",
    "folder": "ingest.sources.folder",
    "replay": "ingest.sources.replay",
}


def build_source(config: SourceConfig, settings: Settings) -> Source:
    if config.type not in MODULES:
        raise ValueError(f"sources.{config.key}.type: unknown source type {config.type!r}")
    module = importlib.import_module(MODULES[config.type])
    return module.build(config, settings)  # type: ignore[no-any-return]


def build_sources(settings: Settings) -> list[tuple[SourceConfig, Source]]:
    """Every enabled pulling source (push sources receive over HTTP and are not scheduled)."""
    return [
        (c, build_source(c, settings)) for c in settings.sources if c.enabled and c.type != "push"
    ]
