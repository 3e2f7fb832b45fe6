"""What the demo simulator promises: a replayable, resumable, varied stream of customer messages
with delivery incidents, so the wall has something real-looking to show."""

from __future__ import annotations

import re
import statistics
import tomllib
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from string import Formatter
from typing import Any

import pytest

from ingest.base import IncomingMessage
from ingest.sources.demo import (
    CLAUSES,
    DEFAULT_BRANDS,
    DemoCursorError,
    DemoSource,
    GeneratedMessage,
)

PHASES = {"orientation", "purchase", "payment", "delivery", "use", "service", "returns", "loyalty"}
# 09:20 UTC is outside an incident: the default windows are hh:00-hh:08 and hh:30-hh:38.
START = datetime(2025, 3, 3, 9, 20, tzinfo=UTC)
CONFIG = Path(__file__).parents[2] / "config" / "demo.toml"
PERSONAL_DATA = re.compile(
    r"@example\.com|\b06-\d{8}\b|\b\d{4} [A-Z]{2}\b|[Mm](ijn naam|y name) is|\b[A-Z]{2}-\d{6}\b"
    r"|cc @\w|je spreekt met|this is [A-Z]"
)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _seq(message: IncomingMessage) -> int:
    return int(message.external_id.split("-")[1])


def _in_incident(moment: datetime, every: float = 30, minutes: float = 8) -> bool:
    return (moment.timestamp() / 60) % every < minutes


def _stream(minutes: float, **settings: Any) -> list[GeneratedMessage]:
    """Everything the source produced in the `minutes` before START + minutes, with its truth."""
    clock = FakeClock(START + timedelta(minutes=minutes))
    source = DemoSource(clock=clock, backfill_minutes=minutes, max_batch=100_000, **settings)
    batch = source.fetch(None)
    seqs = sorted({_seq(m) for m in batch.messages})
    generated = [g for seq in seqs for g in source.generate(seq)]
    assert [g.message for g in generated] == batch.messages  # fetch serves what generate makes
    return generated


@pytest.fixture(scope="module")
def hour() -> list[GeneratedMessage]:
    return _stream(60)


def _drain(make_source: Callable[[], DemoSource], clock: FakeClock, polls: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(polls):
        batch = make_source().fetch(cursor)
        ids += [m.external_id for m in batch.messages]
        cursor = batch.next_cursor
        clock.advance(seconds=37)
    return ids


def test_same_seed_replays_identical_stream() -> None:
    first = DemoSource(clock=FakeClock(START)).fetch(None)
    second = DemoSource(clock=FakeClock(START)).fetch(None)
    assert first.messages == second.messages
    assert first.next_cursor == second.next_cursor


def test_different_seed_gives_a_different_stream() -> None:
    first = DemoSource(seed=7, clock=FakeClock(START)).fetch(None)
    second = DemoSource(seed=8, clock=FakeClock(START)).fetch(None)
    assert [m.text for m in first.messages] != [m.text for m in second.messages]


def test_content_of_a_sequence_number_does_not_depend_on_the_clock() -> None:
    early = DemoSource(clock=FakeClock(START))
    late = DemoSource(clock=FakeClock(START + timedelta(days=3)))
    assert early.generate(1_000_123) == late.generate(1_000_123)


def test_fresh_instance_resumes_from_cursor_without_gap_or_duplicate() -> None:
    long_clock = FakeClock(START)
    long_lived = DemoSource(clock=long_clock, backfill_minutes=5, max_batch=40)
    one_run = _drain(lambda: long_lived, long_clock, polls=60)

    restart_clock = FakeClock(START)
    restarted = _drain(
        lambda: DemoSource(clock=restart_clock, backfill_minutes=5, max_batch=40),
        restart_clock,
        polls=60,
    )

    assert restarted == one_run
    assert len(set(one_run)) == len(one_run)
    seqs = sorted({int(i.split("-")[1]) for i in one_run})
    assert seqs == list(range(seqs[0], seqs[-1] + 1))


def test_fetch_returns_at_most_max_batch_sequence_numbers_and_catches_up() -> None:
    clock = FakeClock(START)
    everything = DemoSource(clock=clock, max_batch=100_000).fetch(None).messages
    small = DemoSource(clock=clock, max_batch=50)
    collected: list[IncomingMessage] = []
    cursor = None
    while True:
        batch = small.fetch(cursor)
        assert len({_seq(m) for m in batch.messages}) <= 50
        cursor = batch.next_cursor
        if not batch.messages:
            break
        collected += batch.messages
    assert collected == everything


def test_first_fetch_backfills_and_rate_doubles_during_the_incident() -> None:
    clock = FakeClock(START)
    messages = DemoSource(clock=clock, max_batch=100_000).fetch(None).messages
    seqs = {_seq(m) for m in messages}
    # 09:20 minus 30 minutes: 22 quiet minutes at 40/min and 8 incident minutes at 80/min.
    assert abs(len(seqs) - (22 * 40 + 8 * 80)) <= 2
    assert all(m.created_at <= clock.now for m in messages)
    oldest_seq = min(seqs)
    oldest = max(m.created_at for m in messages if _seq(m) == oldest_seq)
    assert timedelta(0) <= oldest - (clock.now - timedelta(minutes=30)) < timedelta(seconds=2)


def test_nothing_is_served_before_its_time_and_timestamps_are_utc() -> None:
    clock = FakeClock(START)
    source = DemoSource(clock=clock, max_batch=100_000)
    cursor = source.fetch(None).next_cursor
    clock.advance(seconds=20)
    batch = source.fetch(cursor)
    assert batch.messages
    assert all(m.created_at <= clock.now for m in batch.messages)
    assert all(m.created_at.utcoffset() == timedelta(0) for m in batch.messages)
    last_turns = {_seq(m): m.created_at for m in batch.messages}
    times = [last_turns[seq] for seq in sorted(last_turns)]
    assert times == sorted(times)
    clock.advance(seconds=0.001)
    assert source.fetch(batch.next_cursor).messages == []


def test_incidents_can_be_switched_off() -> None:
    clock = FakeClock(START)
    messages = DemoSource(clock=clock, incident_every_minutes=0, max_batch=100_000).fetch(None)
    assert abs(len({_seq(m) for m in messages.messages}) - 30 * 40) <= 1


def test_stream_covers_every_phase_channel_language_and_brand(
    hour: list[GeneratedMessage],
) -> None:
    assert len(hour) >= 2000
    assert {phase for g in hour for phase in g.truth} == PHASES
    assert {g.message.channel for g in hour} == {"review", "social", "chat"}
    assert {g.message.language for g in hour} == {"nl", "en"}
    assert {g.message.brands for g in hour} == {("voltera",), ("stroomz",), ("kabelhuis",)}
    assert {value for g in hour for value in g.truth.values()} == {
        "positive",
        "negative",
        "neutral",
    }


def test_three_quarters_dutch_and_the_channel_mix_holds(hour: list[GeneratedMessage]) -> None:
    first_of_seq = {_seq(g.message): g.message for g in reversed(hour)}.values()
    total = len(first_of_seq)
    dutch = sum(m.language == "nl" for m in first_of_seq) / total
    assert 0.68 < dutch < 0.82
    for channel, share in {"review": 0.35, "social": 0.40, "chat": 0.25}.items():
        assert abs(sum(m.channel == channel for m in first_of_seq) / total - share) < 0.06


def test_at_least_a_fifth_of_messages_are_about_several_phases(
    hour: list[GeneratedMessage],
) -> None:
    multi_phase = sum(len(g.truth) >= 2 for g in hour) / len(hour)
    assert multi_phase >= 0.20


def test_review_ratings_agree_with_the_intended_sentiment(hour: list[GeneratedMessage]) -> None:
    reviews = [g for g in hour if g.message.channel == "review"]
    assert all(g.message.rating in {1.0, 2.0, 3.0, 4.0, 5.0} for g in reviews)
    others = [g for g in hour if g.message.channel != "review"]
    assert all(g.message.rating is None for g in others)

    def ratings(present: str, absent: str) -> list[float]:
        return [
            g.message.rating
            for g in reviews
            if g.message.rating is not None
            and present in g.truth.values()
            and absent not in g.truth.values()
        ]

    assert statistics.mean(ratings("negative", absent="positive")) < 3
    assert statistics.mean(ratings("positive", absent="negative")) > 3.5


def test_incident_floods_own_brand_with_delivery_complaints() -> None:
    # 07:20-09:20: four incident windows (07:30, 08:00, 08:30, 09:00), 32 minutes in all.
    messages = _stream(120)
    # A conversation counts once, like a post: is this contact about a failed delivery?
    own_contacts: dict[int, list[GeneratedMessage]] = defaultdict(list)
    for g in messages:
        if g.message.brands == ("voltera",):
            own_contacts[_seq(g.message)].append(g)

    def delivery_complaint_share(during: bool) -> float:
        window = [
            contact
            for contact in own_contacts.values()
            if _in_incident(contact[-1].message.created_at) == during
        ]
        complaints = [any(g.truth.get("delivery") == "negative" for g in c) for c in window]
        return sum(complaints) / len(window)

    inside, outside = delivery_complaint_share(True), delivery_complaint_share(False)
    assert inside > 0.7
    assert inside > 3 * outside

    seq_time = {_seq(g.message): g.message.created_at for g in messages}
    incident_seqs = sum(_in_incident(t) for t in seq_time.values())
    per_minute_inside = incident_seqs / 32
    per_minute_outside = (len(seq_time) - incident_seqs) / 88
    assert 1.7 < per_minute_inside / per_minute_outside < 2.3


def test_chat_turns_share_a_conversation_and_alternate_roles(
    hour: list[GeneratedMessage],
) -> None:
    conversations: dict[str, list[IncomingMessage]] = defaultdict(list)
    for g in hour:
        if g.message.channel == "chat":
            assert g.message.conversation_id is not None
            conversations[g.message.conversation_id].append(g.message)
    assert len(conversations) > 100
    for conversation_id, turns in conversations.items():
        assert 3 <= len(turns) <= 6
        assert [t.external_id for t in turns] == [
            f"{conversation_id}-t{k}" for k in range(1, len(turns) + 1)
        ]
        roles = [t.turn_role for t in turns]
        assert "bot" not in roles[1:]
        assert roles[-1] == "customer"
        is_customer = [role == "customer" for role in roles]
        assert all(a != b for a, b in pairwise(is_customer))
        times = [t.created_at for t in turns]
        assert times == sorted(times)


def test_the_last_customer_turn_says_how_the_chat_ended(hour: list[GeneratedMessage]) -> None:
    last_turns: dict[str, GeneratedMessage] = {}
    for g in hour:
        if g.message.conversation_id is not None:
            last_turns[g.message.conversation_id] = g
    assert all(set(g.truth) == {"service"} for g in last_turns.values())
    assert {g.truth["service"] for g in last_turns.values()} == {"positive", "negative", "neutral"}


def test_social_posts_mention_their_brand_and_reviews_have_an_author(
    hour: list[GeneratedMessage],
) -> None:
    brands = {b.key: b for b in DEFAULT_BRANDS}
    for g in hour:
        message = g.message
        if message.channel == "social":
            brand = brands[message.brands[0]]
            names = [n.lower() for n in brand.aliases + brand.handles]
            assert any(name in message.text.lower() for name in names), message.text
            assert message.author is not None and message.author.startswith("@")
        if message.channel == "review":
            assert message.author


def test_some_messages_carry_fake_personal_data_for_redaction(
    hour: list[GeneratedMessage],
) -> None:
    share = sum(bool(PERSONAL_DATA.search(g.message.text)) for g in hour) / len(hour)
    assert 0.02 < share < 0.12


def test_phrase_banks_hold_ten_distinct_clauses_per_phase_polarity_and_language() -> None:
    assert set(CLAUSES) == PHASES
    for phase, languages in CLAUSES.items():
        assert set(languages) == {"nl", "en"}
        for language, polarities in languages.items():
            assert set(polarities) == {"positive", "negative", "neutral"}
            for polarity, clauses in polarities.items():
                assert len(set(clauses)) >= 10, (phase, language, polarity)
                fields = {f for c in clauses for _, f, _, _ in Formatter().parse(c) if f}
                assert fields <= {"product", "brand", "days", "minutes"}


def test_default_brands_match_the_demo_config() -> None:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    configured = [
        (b["key"], b["name"], b["own"], tuple(b["aliases"]), tuple(b["handles"]))
        for b in config["brands"]
    ]
    assert configured == [(b.key, b.name, b.own, b.aliases, b.handles) for b in DEFAULT_BRANDS]
    assert {p["key"] for p in config["phases"]} == PHASES


def test_unreadable_cursor_is_a_clear_error() -> None:
    with pytest.raises(DemoCursorError, match="reset the demo source's cursor"):
        DemoSource(clock=FakeClock(START)).fetch("not a cursor")


def test_changed_rate_continues_from_the_same_moment() -> None:
    clock = FakeClock(START)
    cursor = DemoSource(clock=clock, max_batch=100_000).fetch(None).next_cursor
    clock.advance(minutes=1)
    faster = DemoSource(clock=clock, rate_per_minute=80, max_batch=100_000).fetch(cursor)
    seq_times = {_seq(m): m.created_at for m in faster.messages}  # a chat's last turn is its time
    assert 70 <= len(seq_times) <= 90
    assert min(seq_times.values()) >= START - timedelta(seconds=2)
