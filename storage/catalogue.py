"""Brands, phases and sources mirrored from the configuration into their tables.

The configuration is the truth; the tables let queries join and order by them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from config import BrandConfig, PhaseConfig, SourceConfig
from storage.models import Brand, Phase, Source


def sync_catalogue(
    session: Session,
    brands: Iterable[BrandConfig],
    phases: Iterable[PhaseConfig],
    sources: Iterable[SourceConfig],
) -> None:
    for brand in brands:
        session.merge(Brand(key=brand.key, name=brand.name, own=brand.own))
    for position, phase in enumerate(phases):
        session.merge(
            Phase(
                key=phase.key,
                position=position,
                name_nl=phase.label("nl"),
                name_en=phase.label("en"),
                target=phase.target,
            )
        )
    for source in sources:
        session.merge(Source(key=source.key, type=source.type))
