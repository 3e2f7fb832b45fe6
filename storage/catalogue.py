"""Brands, phases and sources mirrored from the configuration into their tables.

The configuration is the truth; the tables let queries join and order by them. Upserts, so
that several processes starting at once do not trip over each other."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from config import BrandConfig, PhaseConfig, SourceConfig
from storage.models import Brand, Phase, Source


def _upsert(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    keys = [c.name for c in table.primary_key.columns]
    statement = insert.on_conflict_do_update(
        index_elements=keys,
        set_={name: insert.excluded[name] for name in rows[0] if name not in keys},
    )
    session.execute(statement, rows)


def sync_catalogue(
    session: Session,
    brands: Iterable[BrandConfig],
    phases: Iterable[PhaseConfig],
    sources: Iterable[SourceConfig],
) -> None:
    _upsert(session, Brand, [{"key": b.key, "name": b.name, "own": b.own} for b in brands])
    _upsert(
        session,
        Phase,
        [
            {
                "key": p.key,
                "position": position,
                "name_nl": p.label("nl"),
                "name_en": p.label("en"),
                "target": p.target,
            }
            for position, p in enumerate(phases)
        ],
    )
    _upsert(session, Source, [{"key": s.key, "type": s.type} for s in sources])
