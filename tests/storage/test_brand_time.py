"""The explorer's per-brand walk (migration 0007): message_brand keeps its message's created_at,
and a one-brand chart reads the same phase mentions through message_brand(brand, created_at)
as the walk over every message of the period did, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, event, inspect, select, text
from sqlalchemy.sql import Select
from sqlmodel import Session

import storage.explore as explore
from storage.db import make_engine, session_scope
from storage.explore import ExploreFilter, count_verbatims, overview
from storage.messages import store_batch
from storage.migrate import alembic_config, upgrade
from storage.models import Message, MessageBrand, MessagePhase
from storage.scores import ScoredMessage, save_scores
from tests.explore_seed import Seeded, seed

ZONE = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    result = seed(engine)
    # One message about two brands, with two phase mentions: each brand's walk finds it once.
    created = result.end - timedelta(minutes=30)
    message = Message(
        source="demo",
        external_id="both-brands",
        channel="review",
        language="nl",
        text="Het pakket van Zwartwoud kwam te laat en de klantenservice reageerde niet.",
        created_at=created,
        rating=2.0,
    )
    with session_scope(engine) as session:
        store_batch(session, "demo", [message], {"both-brands": ["voltera", "stroomz"]})
    with session_scope(engine) as session:
        stored = session.scalar(select(Message.id).where(Message.external_id == "both-brands"))
        assert stored is not None
        mentions = [
            MessagePhase(
                message_id=stored, phase="delivery", score=-0.7, label="negative", units=1
            ),
            MessagePhase(message_id=stored, phase="service", score=-0.5, label="negative", units=1),
        ]
        save_scores(
            session, [ScoredMessage(stored, "nl", -0.6, "negative", "test@1", [], mentions)]
        )
    return result


def _period(seeded: Seeded, **changes: object) -> ExploreFilter:
    f = ExploreFilter(since=seeded.start - timedelta(days=1), until=seeded.end + timedelta(hours=1))
    return f.narrowed(**changes)


def _period_walk(session: Session, f: ExploreFilter, limit: int) -> Select[Any]:
    """What the explorer read before 0007: every message of the period newest-first, joined to
    its links of the filtered brands."""
    return (
        select(
            Message.created_at,
            MessageBrand.brand,
            MessagePhase.phase,
            Message.channel,
            MessagePhase.score,
            MessagePhase.label,
        )
        .select_from(Message)
        .join(MessagePhase, MessagePhase.message_id == Message.id)  # type: ignore[arg-type]
        .join(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
        .where(
            *explore._message_conditions(session, f),
            *explore._mention_conditions(f),
            MessageBrand.brand.in_(f.brands),  # type: ignore[attr-defined]
        )
        .order_by(Message.created_at.desc())  # type: ignore[attr-defined]
        .limit(limit)
    )


FILTERS: tuple[dict[str, Any], ...] = (
    {"brands": ("voltera",)},
    {"brands": ("stroomz",)},
    {"brands": ("kabelhuis",), "search": "klantenservice"},
    {"brands": ("voltera",), "search": "te laat"},
    {"brands": ("stroomz",), "phrase": "te laat", "phases": ("delivery",)},
    {"brands": ("voltera",), "score_max": -0.3, "channels": ("review",)},
    {"brands": ("voltera",), "languages": ("en",), "unhandled": True},
    {"brands": ("kabelhuis",), "sources": ("demo",), "score_min": 0.2},
)


@pytest.mark.parametrize("limit", [10_000, 25], ids=["whole", "capped"])
def test_the_brand_walk_reads_what_the_period_walk_read(
    engine: Engine, seeded: Seeded, limit: int
) -> None:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with session_scope(engine) as session:
        for case in FILTERS:
            for window in (_period(seeded), _period(seeded, since=seeded.end - timedelta(days=2))):
                f = window.narrowed(**case)
                walked = session.execute(explore._mentions_query(session, f, limit)).all()
                before = session.execute(_period_walk(session, f, limit)).all()
                assert walked, case  # not vacuous
                if limit > len(before):
                    assert Counter(map(tuple, walked)) == Counter(map(tuple, before)), case
                else:
                    # Capped: the same newest mentions (ties within one message may differ).
                    assert len(walked) == len(before) == limit, case
                    assert [r[0] for r in walked] == [r[0] for r in before], case
    assert any("FROM message_brand JOIN" in s for s in statements)  # the new walk ran


def test_a_message_about_two_brands_counts_once_for_each_of_them(
    engine: Engine, seeded: Seeded
) -> None:
    f = _period(seeded, search="zwartwoud")
    with session_scope(engine) as session:
        for brand in ("voltera", "stroomz"):
            result = overview(session, f.narrowed(brands=(brand,)), ZONE)
            assert not result.from_rollups
            assert result.total.count == 2  # its two phase mentions, once each
            assert result.matrix[(brand, "delivery")].count == 1
            assert count_verbatims(session, f.narrowed(brands=(brand,))) == 1
        # Both brands: the period walk, one row per mention × brand, as the rollups count.
        both = overview(session, f.narrowed(brands=("voltera", "stroomz")), ZONE)
        assert both.total.count == 4
        assert count_verbatims(session, f.narrowed(brands=("voltera", "stroomz"))) == 1
        # The rollup-answered filter's histogram reads the brand walk too.
        rollup_path = overview(session, _period(seeded, brands=("stroomz",)), ZONE)
        assert rollup_path.from_rollups
        assert sum(rollup_path.histogram) == rollup_path.total.count > 0


def test_every_link_carries_its_messages_created_at(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        rows = session.execute(
            select(MessageBrand.created_at, Message.created_at).join(
                Message,
                Message.id == MessageBrand.message_id,  # type: ignore[arg-type]
            )
        ).all()
    assert len(rows) > 200
    assert all(linked == created for linked, created in rows)


def test_sqlite_walks_the_brand_index(engine: Engine, seeded: Seeded) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL's LATERAL walk: EXPLAIN ANALYZE in docs/explorer.md")
    f = _period(seeded, brands=("kabelhuis",), search="klantenservice")
    with session_scope(engine) as session:
        query = explore._mentions_query(session, f, 100)
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        plan = " | ".join(row[3] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_message_brand_brand_created" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # in index order, no sort


def test_the_brand_time_downgrades_and_upgrades_with_a_backfill(database_url: str) -> None:
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "0006")
    engine = make_engine(database_url)
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("message_brand")}
        assert "created_at" not in columns
        # Linked while the column does not exist: the upgrade must fill it in from message.
        with session_scope(engine) as session:
            message = Message(
                source="demo",
                external_id="old-link",
                channel="review",
                text="Oud bericht",
                created_at=created,
            )
            store_batch(session, "demo", [message], {})
            stored = session.scalar(select(Message.id).where(Message.external_id == "old-link"))
            session.execute(
                text("INSERT INTO message_brand (message_id, brand) VALUES (:id, 'voltera')"),
                {"id": stored},
            )
        upgrade(database_url)
        inspector = inspect(engine)
        column = {c["name"]: c for c in inspector.get_columns("message_brand")}["created_at"]
        assert column["nullable"] is False
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("message_brand")}
        assert indexes["ix_message_brand_brand_created"] == ["brand", "created_at", "message_id"]
        with session_scope(engine) as session:
            linked = session.scalar(
                select(MessageBrand.created_at).where(MessageBrand.message_id == stored)
            )
        assert linked == created
        command.downgrade(alembic_config(database_url), "0006")
        columns = {c["name"] for c in inspect(engine).get_columns("message_brand")}
        assert "created_at" not in columns
        upgrade(database_url)
    finally:
        engine.dispose()
