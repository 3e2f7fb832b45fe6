"""The explorer's text search on its index (migration 0006), on SQLite and PostgreSQL: it means
what LIKE meant, finds a message as soon as it is stored and as its text is now, and survives a
downgrade and upgrade; plus the rating sort and the day cache warmed at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, event, inspect, select, text

import storage.explore as explore
from storage.db import make_engine, session_scope
from storage.explore import DayCache, ExploreFilter, export_chunks, overview, verbatims
from storage.messages import store_batch
from storage.migrate import alembic_config, upgrade
from storage.models import Message, MessagePhase
from storage.scores import ScoredMessage, save_scores
from tests.explore_seed import Seeded, seed

ZONE = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


def _period(seeded: Seeded, **changes: object) -> ExploreFilter:
    f = ExploreFilter(since=seeded.start - timedelta(days=1), until=seeded.end + timedelta(hours=1))
    return f.narrowed(**changes)


def _found(engine: Engine, f: ExploreFilter) -> list[int]:
    with session_scope(engine) as session:
        return [v.id for chunk in export_chunks(session, f, chunk=100) for v in chunk]


def _store_scored(engine: Engine, external_id: str, body: str, created: datetime) -> int:
    """One review stored through store_batch and scored, as ingest and the worker do."""
    message = Message(
        source="demo", external_id=external_id, channel="review", text=body, created_at=created
    )
    with session_scope(engine) as session:
        store_batch(session, "demo", [message], {external_id: ["voltera"]})
    with session_scope(engine) as session:
        stored = session.scalar(select(Message.id).where(Message.external_id == external_id))
        assert stored is not None
        mention = MessagePhase(
            message_id=stored, phase="delivery", score=-0.6, label="negative", units=1
        )
        save_scores(
            session, [ScoredMessage(stored, "nl", -0.6, "negative", "test@1", [], [mention])]
        )
    return stored


def _sql_seen(engine: Engine) -> list[str]:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


# Needles against the seeded texts: words, case, a phrase, part of a word, two letters (no
# trigram), LIKE's wildcards taken literally, a quote (FTS5 syntax) and nothing at all.
CASES = (
    {"search": "klantenservice"},
    {"search": "KLANTENSERVICE week"},
    {"search": "pakket laat"},
    {"search": "akke"},
    {"search": "te"},
    {"search": "iDEAL quick"},
    {"phrase": "te laat"},
    {"phrase": "Too late", "search": "parcel"},
    {"search": "100%"},
    {"search": "track_en"},
    {"search": 'drama"'},
    {"search": "zwartwoud"},
)


@pytest.mark.parametrize("drives", [0, 10**9], ids=["like-walk", "index-drives"])
def test_search_means_what_like_meant_on_the_seeded_messages(
    engine: Engine, seeded: Seeded, drives: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever way the search goes (the LIKE on the newest messages, or the index on SQLite),
    a message is found exactly when every needle occurs in it, case-insensitively."""
    monkeypatch.setattr(explore, "FTS_DRIVES", drives)
    everything = _period(seeded)
    with session_scope(engine) as session:
        texts = {v.id: v.text for chunk in export_chunks(session, everything) for v in chunk}
    assert len(texts) > 200
    for case in CASES:
        f = everything.narrowed(**case)
        needles = case.get("search", "").split() + ([case["phrase"]] if "phrase" in case else [])
        expected = [
            i for i, body in texts.items() if all(n.lower() in body.lower() for n in needles)
        ]
        assert _found(engine, f) == expected, case
    assert _found(engine, everything.narrowed(search="klantenservice"))  # not vacuous
    assert not _found(engine, everything.narrowed(search="zwartwoud"))


def test_a_rare_word_is_found_through_the_index_as_soon_as_it_is_stored(
    engine: Engine, seeded: Seeded
) -> None:
    created = seeded.end - timedelta(hours=2)
    stored = _store_scored(engine, "rare-1", "Bezorger Zwartwoud liet het pakket buiten.", created)
    statements = _sql_seen(engine)
    f = _period(seeded, search="zwartWOUD")
    assert _found(engine, f) == [stored]
    if engine.dialect.name == "sqlite":
        assert any("message_fts MATCH" in s for s in statements)  # the index, not a scan
    with session_scope(engine) as session:
        result = overview(session, f, ZONE)
    assert result.total.count == 1 and not result.from_rollups


def test_a_changed_text_is_searched_as_it_is_now_and_a_deleted_one_not_at_all(
    engine: Engine, seeded: Seeded
) -> None:
    """A later redaction rewrites the stored text: the name it removed is no longer found."""
    created = seeded.end - timedelta(hours=3)
    stored = _store_scored(engine, "rare-2", "Ik sprak met Jolanda Vreeswijk.", created)
    assert _found(engine, _period(seeded, search="vreeswijk")) == [stored]
    with session_scope(engine) as session:
        message = session.get(Message, stored)
        assert message is not None
        message.text = "Ik sprak met [NAAM]."
        message.redactions = 1
    assert _found(engine, _period(seeded, search="vreeswijk")) == []
    assert _found(engine, _period(seeded, search="[naam]")) == [stored]
    # A scoring update leaves the text (and its index entry) alone.
    with session_scope(engine) as session:
        session.execute(
            Message.__table__.update().where(Message.id == stored).values(sentiment=-0.1)  # type: ignore[attr-defined]
        )
    assert _found(engine, _period(seeded, search="[naam]")) == [stored]
    if engine.dialect.name == "sqlite":
        with session_scope(engine) as session:
            session.execute(
                text("DELETE FROM message_phase WHERE message_id = :id"), {"id": stored}
            )
            session.execute(
                text("DELETE FROM message_brand WHERE message_id = :id"), {"id": stored}
            )
            session.execute(text("DELETE FROM message WHERE id = :id"), {"id": stored})
            left = session.scalar(
                text("SELECT count(*) FROM message_fts WHERE message_fts MATCH '\"[naam]\"'")
            )
        assert left == 0


def test_the_text_index_downgrades_and_upgrades_with_a_backfill(database_url: str) -> None:
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "0005")
    engine = make_engine(database_url)
    try:
        names = inspect(engine).get_table_names()
        indexes = {i["name"] for i in inspect(engine).get_indexes("message")}
        assert "message_fts" not in names and "ix_message_text_trgm" not in indexes
        assert "ix_message_rating_created" not in indexes
        # Stored while there is no index: the upgrade's backfill must index it.
        with session_scope(engine) as session:
            store_batch(
                session,
                "demo",
                [
                    Message(
                        source="demo",
                        external_id="old-1",
                        channel="review",
                        text="Oude klacht over de Zwartwoudse bezorging.",
                        created_at=datetime.now(UTC) - timedelta(hours=1),
                    )
                ],
                {},
            )
        upgrade(database_url)
        indexes = {i["name"] for i in inspect(engine).get_indexes("message")}
        assert "ix_message_rating_created" in indexes
        with session_scope(engine) as session:
            if engine.dialect.name == "sqlite":
                found = session.scalar(
                    text("SELECT rowid FROM message_fts WHERE message_fts MATCH '\"zwartwoudse\"'")
                )
            else:
                assert "ix_message_text_trgm" in indexes
                session.execute(text("SET LOCAL enable_seqscan = off"))
                plan = " ".join(
                    row[0]
                    for row in session.execute(
                        text("EXPLAIN SELECT id FROM message WHERE text ILIKE '%zwartwoudse%'")
                    )
                )
                assert "ix_message_text_trgm" in plan
                found = session.scalar(
                    text("SELECT id FROM message WHERE text ILIKE '%ZWARTWOUDSE%'")
                )
            assert found == session.scalar(select(Message.id).where(Message.external_id == "old-1"))
    finally:
        engine.dispose()


def test_sorted_by_rating_ties_follow_in_time_order_across_pages(
    engine: Engine, seeded: Seeded
) -> None:
    f = _period(seeded)
    with session_scope(engine) as session:
        for descending in (False, True):
            pages = [verbatims(session, f, o, 25, "rating", descending) for o in range(0, 100, 25)]
            rows = [(v.rating, v.created_at, v.id) for page in pages for v in page]
            assert len(rows) == len({r[2] for r in rows}) == 100
            assert rows == sorted(rows, reverse=descending)


def test_a_warmed_day_cache_answers_the_first_long_chart_without_reading_rollups(
    engine: Engine, seeded: Seeded
) -> None:
    today = datetime.now(UTC).astimezone(ZONE).date()
    first = today - timedelta(days=8)
    # Whole local days only, ending at today's midnight: nothing but the cached days.
    f = ExploreFilter(
        since=datetime(first.year, first.month, first.day, tzinfo=ZONE).astimezone(UTC),
        until=datetime(today.year, today.month, today.day, tzinfo=ZONE).astimezone(UTC),
    )
    days = DayCache(ZONE)
    days.warm(engine)
    try:
        assert days.ready.wait(30)
        statements = _sql_seen(engine)
        with session_scope(engine) as session:
            warmed = overview(session, f, ZONE, days)
        rollup_reads = [s for s in statements if "FROM rollup" in s]
        assert rollup_reads == []
        with session_scope(engine) as session:
            direct = overview(session, f, ZONE)
        assert any("FROM rollup" in s for s in statements)  # the check can see a rollup read
    finally:
        days.stop()
    assert warmed.total.count == direct.total.count > 0
    assert warmed.total.score_sum == pytest.approx(direct.total.score_sum)


def test_the_message_path_histogram_from_its_one_grouped_read_matches_the_rollup_path(
    engine: Engine, seeded: Seeded
) -> None:
    f = _period(seeded)
    with session_scope(engine) as session:
        by_rollups = overview(session, f, ZONE)
        by_messages = overview(session, f.narrowed(unhandled=True), ZONE)  # nothing handled
    assert by_rollups.from_rollups and not by_messages.from_rollups
    assert by_messages.histogram == by_rollups.histogram
    assert sum(by_messages.histogram) == by_messages.total.count > 100


def test_postgresql_plans_each_explorer_read_for_its_own_values(
    engine: Engine, seeded: Seeded
) -> None:
    """psycopg prepares a statement on its fifth run; a generic plan would then serve a rare word
    with the plan of a common one (a walk of the whole period instead of the trigram index)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL plan-cache setting")
    f = _period(seeded, search="klantenservice")
    reads = (
        lambda s: overview(s, f, ZONE),
        lambda s: verbatims(s, f),
        lambda s: list(export_chunks(s, f)),
    )
    for read in reads:
        with session_scope(engine) as session:
            before = session.scalar(text("SELECT current_setting('plan_cache_mode')"))
            read(session)
            after = session.scalar(text("SELECT current_setting('plan_cache_mode')"))
        assert (before, after) == ("auto", "force_custom_plan")
    with session_scope(engine) as session:  # only for the explorer's own transactions
        assert session.scalar(text("SELECT current_setting('plan_cache_mode')")) == "auto"
