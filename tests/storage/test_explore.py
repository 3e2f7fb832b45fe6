"""The explorer's queries on SQLite and PostgreSQL: rollup and message paths agree, filters,
paging and sorting, handling, export, conversations; and the term and driver analyses."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from dashboard.components.explore_drivers import estimate
from dashboard.components.explore_terms import top_terms
from storage.db import session_scope
from storage.explore import (
    ExploreFilter,
    Overview,
    count_verbatims,
    export_chunks,
    message_detail,
    negative_units,
    overview,
    rated_messages,
    set_handling,
    verbatims,
)
from storage.models import Message, MessageHandling
from tests.explore_seed import Seeded, seed

ZONE = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


def _period(seeded: Seeded, **changes: object) -> ExploreFilter:
    f = ExploreFilter(
        since=seeded.start - timedelta(hours=1), until=seeded.end + timedelta(hours=1)
    )
    return f.narrowed(**changes)


def _every(engine: Engine, f: ExploreFilter) -> list[int]:
    with session_scope(engine) as session:
        return [v.id for chunk in export_chunks(session, f, chunk=7) for v in chunk]


def test_rollups_and_message_level_reads_give_the_same_numbers(
    engine: Engine, seeded: Seeded
) -> None:
    f = _period(seeded, brands=("voltera", "stroomz"))
    # "unhandled only" with nothing handled selects the same mentions, read message by message.
    with session_scope(engine) as session:
        from_rollups = overview(session, f, ZONE)
        from_messages = overview(session, f.narrowed(unhandled=True), ZONE)
    assert from_rollups.from_rollups and not from_messages.from_rollups
    assert not from_messages.sampled
    assert from_rollups.total.count == from_messages.total.count > 100
    assert from_rollups.total.score_sum == pytest.approx(from_messages.total.score_sum)
    for key, cell in from_rollups.matrix.items():
        assert from_messages.matrix[key].count == cell.count
        assert from_messages.matrix[key].negative == cell.negative
    assert dict(from_rollups.trend).keys() == dict(from_messages.trend).keys()
    assert sum(from_rollups.histogram) == from_rollups.total.count


def test_daily_bins_are_local_days_and_sum_to_the_total(engine: Engine, seeded: Seeded) -> None:
    f = _period(seeded)
    with session_scope(engine) as session:
        result = overview(session, f, ZONE)
    assert result.bin_hours == 24
    starts = {start for start, _ in result.trend}
    assert all(s.hour == 0 and s.tzinfo == ZONE for s in starts)
    assert sum(c.count for c in result.trend.values()) == result.total.count


def test_each_filter_narrows_the_verbatims_to_what_it_says(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        everything = count_verbatims(session, _period(seeded))
        assert everything == len(_every(engine, _period(seeded)))
        for v in verbatims(session, _period(seeded, brands=("kabelhuis",)), limit=500):
            assert v.brands == ("kabelhuis",)
        for v in verbatims(session, _period(seeded, phases=("delivery",)), limit=500):
            assert "delivery" in v.phases
        for v in verbatims(session, _period(seeded, channels=("chat",)), limit=500):
            assert v.channel == "chat" and v.conversation_id
        for v in verbatims(session, _period(seeded, languages=("en",)), limit=500):
            assert v.language == "en"
        searched = verbatims(session, _period(seeded, search="KLANTENSERVICE week"), limit=500)
        assert searched and all(
            "klantenservice" in v.text.lower() and "week" in v.text.lower() for v in searched
        )
        low = verbatims(session, _period(seeded, phases=("use",), score_max=-0.5), limit=500)
        assert low and all(v.phases["use"] <= -0.5 for v in low)
        # Agent turns are context, never verbatims of their own.
        assert all(
            session.get(Message, v.id).turn_role in (None, "customer")  # type: ignore[union-attr]
            for v in verbatims(session, _period(seeded), limit=1000)
        )
        assert count_verbatims(session, _period(seeded, search="%")) == 0  # LIKE is escaped


def test_pages_follow_each_other_in_order_without_gaps(engine: Engine, seeded: Seeded) -> None:
    f = _period(seeded)
    with session_scope(engine) as session:
        pages = [verbatims(session, f, offset, 50) for offset in range(0, 400, 50)]
        by_sentiment = verbatims(session, f, 0, 30, sort="sentiment", descending=False)
        by_rating = verbatims(session, f, 0, 30, sort="rating", descending=True)
    ids = [v.id for page in pages for v in page]
    assert ids == _every(engine, f)  # newest first, every message once
    times = [v.created_at for page in pages for v in page]
    assert times == sorted(times, reverse=True)
    scores = [v.sentiment for v in by_sentiment]
    assert scores == sorted(scores)  # type: ignore[type-var]
    ratings = [v.rating for v in by_rating]
    assert ratings == sorted(ratings, reverse=True) and None not in ratings  # type: ignore[type-var]


def test_handling_is_stored_and_unhandled_filter_leaves_it_out(
    engine: Engine, seeded: Seeded
) -> None:
    f = _period(seeded, phases=("delivery",))
    with session_scope(engine) as session:
        first = verbatims(session, f, 0, 1)[0]
        set_handling(session, first.id, "anna", handled=True, assignee="bram", note="gebeld")
    with session_scope(engine) as session:
        row = session.get(MessageHandling, first.id)
        assert row is not None and row.handled and row.updated_by == "anna"
        again = verbatims(session, f, 0, 1)[0]
        assert (again.id, again.handled, again.assignee, again.note) == (
            first.id,
            True,
            "bram",
            "gebeld",
        )
        unhandled = _every(engine, f.narrowed(unhandled=True))
        assert first.id not in unhandled and len(unhandled) == count_verbatims(session, f) - 1
        set_handling(session, first.id, "bram", handled=False, note="")
    with session_scope(engine) as session:
        row = session.get(MessageHandling, first.id)
        assert row is not None and not row.handled and row.note is None
        assert row.assignee == "bram"  # not passed: kept
        with pytest.raises(LookupError):
            set_handling(session, 10**9, "anna", handled=True)


def test_export_reads_every_message_once_across_chunks(engine: Engine, seeded: Seeded) -> None:
    f = _period(seeded, channels=("review", "social"))
    ids = _every(engine, f)
    assert len(ids) == len(set(ids))
    with session_scope(engine) as session:
        assert len(ids) == count_verbatims(session, f)
        stored = set(session.scalars(select(Message.id).where(Message.channel != "chat")))
    assert set(ids) == stored


def test_a_chat_turn_opens_its_whole_conversation_and_how_it_ended(
    engine: Engine, seeded: Seeded
) -> None:
    with session_scope(engine) as session:
        first_turn = session.scalar(
            select(Message.id).where(Message.conversation_id == seeded.conversations[0])
        )
        detail = message_detail(session, int(first_turn))  # type: ignore[arg-type]
    assert detail is not None
    assert [t.role for t in detail.conversation] == [
        "customer",
        "agent",
        "customer",
        "agent",
        "customer",
    ]
    assert detail.ending is not None and detail.ending.label == "positive"
    assert detail.units and detail.units[0].phases == ("service",)


def test_complaint_terms_find_the_planted_delivery_theme(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        units = negative_units(session, _period(seeded))
    assert units and all(text for _, text in units)
    terms = top_terms(units)
    delivery = [term.term for term in terms["delivery"]]
    assert "te laat" in delivery[:3]
    assert "laat" not in delivery  # said inside the pair: the pair is enough
    assert "te" not in delivery and "de" not in delivery


def test_drivers_recover_the_seeded_effects(engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        rated = rated_messages(session, _period(seeded))
    assert len(rated.ratings) > 50 and not rated.capped
    result = estimate(rated.ratings, rated.phase_scores, ["delivery", "service", "use"])
    by_phase = {d.phase: d for d in result.drivers}
    assert by_phase["delivery"].effect > by_phase["use"].effect
    assert by_phase["delivery"].effect_low > 0  # the interval excludes "no effect"


def test_driver_estimate_and_interval_cover_a_known_truth() -> None:
    rng = random.Random(5)
    scores, ratings = [], []
    for _ in range(3000):
        s = {p: rng.uniform(-1, 1) for p in ("delivery", "use") if rng.random() < 0.6}
        scores.append(s)
        ratings.append(3 + 1.5 * s.get("delivery", 0) + 0.2 * s.get("use", 0) + rng.gauss(0, 0.5))
    result = estimate(ratings, scores, ["delivery", "use", "payment"])
    delivery = next(d for d in result.drivers if d.phase == "delivery")
    assert delivery.effect_low < 1.5 < delivery.effect_high
    assert delivery.effect_high - delivery.effect_low < 0.2
    assert delivery.impact > next(d for d in result.drivers if d.phase == "use").impact > 0
    assert [d.phase for d in result.drivers] == ["delivery", "use"]  # payment: never mentioned


def test_cached_days_give_the_same_numbers_and_notice_a_late_message(
    engine: Engine, seeded: Seeded
) -> None:
    from datetime import UTC, datetime

    from storage.explore import DayCache
    from storage.messages import store_batch
    from storage.models import MessagePhase
    from storage.scores import ScoredMessage, save_scores

    days = DayCache(ZONE)
    f = ExploreFilter(since=seeded.start - timedelta(days=2), until=seeded.end)

    def both() -> tuple[object, object]:
        with session_scope(engine) as session:
            cached, fresh = overview(session, f, ZONE, days), overview(session, f, ZONE)

        def numbers(o: Overview) -> tuple[object, ...]:
            cells = {k: (c.count, round(c.score_sum, 6), c.negative) for k, c in o.trend.items()}
            return (o.total.count, round(o.total.score_sum, 6), cells)

        return numbers(cached), numbers(fresh)

    first, again = both()
    assert first[0] == again[0] and first[1] == again[1]  # type: ignore[index]
    # A review written three days ago arrives (and is scored) only now.
    late = Message(
        source="demo",
        external_id="late-1",
        channel="review",
        text="Het pakket kwam te laat.",
        created_at=seeded.end - timedelta(days=3),
    )
    with session_scope(engine) as session:
        store_batch(session, "demo", [late], {"late-1": ["voltera"]})
    with session_scope(engine) as session:
        stored = session.scalar(select(Message).where(Message.external_id == "late-1"))
        assert stored is not None and stored.id is not None
        save_scores(
            session,
            [
                ScoredMessage(
                    stored.id,
                    "nl",
                    -0.8,
                    "negative",
                    "seed@1",
                    [],
                    [
                        MessagePhase(
                            message_id=stored.id,
                            phase="delivery",
                            score=-0.8,
                            label="negative",
                            units=1,
                        )
                    ],
                )
            ],
        )
    cached, fresh = both()
    assert cached == fresh
    assert cached[0] == first[0] + 1  # type: ignore[index,operator]
    assert datetime.now(UTC) > seeded.end - timedelta(days=3)
