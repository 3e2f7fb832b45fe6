"""Builds the configured sources. One module per source type; this file only maps type → class."""

from __future__ import annotations

from config import Settings, SourceConfig
from ingest.base import Source
from ingest.demo import DemoBrand, DemoSource


def build_source(config: SourceConfig, settings: Settings) -> Source:
    if config.type == "demo":
        brands = tuple(
            DemoBrand(b.key, b.name, b.own, tuple(b.aliases), tuple(b.handles)) for b in settings.brands
        )
        return DemoSource(config.key, brands=brands, **config.options)
    raise ValueError(f"sources.{config.key}.type: unknown source type {config.type!r}")


def build_sources(settings: Settings) -> list[tuple[SourceConfig, Source]]:
    return [(c, build_source(c, settings)) for c in settings.sources if c.enabled]
