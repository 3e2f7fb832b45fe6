"""The replay source: a file played as a live stream at the right pace, resumable from its cursor
without gaps or doubles, looping on request, and clear about a file it cannot play."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from config import Settings, SourceConfig
from ingest.base import Batch
from ingest.pipeline import run_source
from ingest.sources import build_source
from ingest.sources.replay import ReplayCursor, ReplayError, ReplayOptions, ReplaySource
from storage.db import session_scope
from storage.messages import quarantined
from storage.models import Message
from wiring import build_normaliser

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _feed(folder: Path, rows: int, name: str = "feed.csv") -> Path:
    path = folder / name
    lines = ["id,text,label"] + [
        f'r{n},"Recensie {n}: prima boek, snel bezorgd",pos' for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _replay(path: Path, clock: FakeClock | None = None, **options: Any) -> ReplaySource:
    settings = ReplayOptions(path=str(path), **options)
    return ReplaySource("replay", settings, clock) if clock else ReplaySource("replay", settings)


def _ids(batch: Batch) -> list[str]:
    return [m.external_id for m in batch.messages]


def test_rows_arrive_at_the_configured_rate_stamped_with_their_playback_time(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    source = _replay(_feed(tmp_path, 100), rate_per_minute=30, clock=clock)
    first = source.fetch(None)
    assert _ids(first) == ["feed:r0"]  # the first row plays at once
    assert first.messages[0].created_at == T0
    clock.advance(seconds=10)
    second = source.fetch(first.next_cursor)
    assert _ids(second) == [f"feed:r{n}" for n in range(1, 6)]  # one every 2 s
    assert [m.created_at for m in second.messages] == [
        T0 + timedelta(seconds=2 * n) for n in range(1, 6)
    ]
    clock.advance(seconds=60)
    assert len(source.fetch(second.next_cursor).messages) == 30
    assert json.loads(second.next_cursor or "")["next"] == 6


def test_playback_resumes_from_the_stored_cursor_without_gaps_or_duplicates(
    engine: Engine, demo_settings: Settings, tmp_path: Path
) -> None:
    normaliser = build_normaliser(demo_settings)
    clock = FakeClock()
    path = _feed(tmp_path, 200)
    before = _replay(path, rate_per_minute=60, clock=clock)
    assert run_source(engine, before, normaliser).inserted == 1
    clock.advance(seconds=30)
    assert run_source(engine, before, normaliser).inserted == 30
    clock.advance(seconds=45)  # the process restarts meanwhile: a new instance, the stored cursor
    after = _replay(path, rate_per_minute=60, clock=clock)
    result = run_source(engine, after, normaliser)
    assert (result.inserted, result.duplicates) == (45, 0)
    with session_scope(engine) as session:
        rows = session.execute(select(Message.external_id, Message.created_at)).all()
    played = [external_id for external_id, _ in sorted(rows, key=lambda row: row[1])]
    assert played == [f"feed:r{n}" for n in range(76)]


def test_a_looping_replay_starts_over_with_new_ids(tmp_path: Path) -> None:
    clock = FakeClock()
    source = _replay(_feed(tmp_path, 3), rate_per_minute=60, loop=True, clock=clock)
    first = source.fetch(None)
    clock.advance(seconds=7)
    assert _ids(first) + _ids(source.fetch(first.next_cursor)) == [
        "feed:r0",
        "feed:r1",
        "feed:r2",
        "feed:r0:loop1",
        "feed:r1:loop1",
        "feed:r2:loop1",
        "feed:r0:loop2",
        "feed:r1:loop2",
    ]


def test_a_finished_replay_without_loop_stays_quiet(tmp_path: Path) -> None:
    clock = FakeClock()
    source = _replay(_feed(tmp_path, 3), rate_per_minute=60, clock=clock)
    first = source.fetch(None)
    clock.advance(seconds=10)
    rest = source.fetch(first.next_cursor)
    assert _ids(rest) == ["feed:r1", "feed:r2"]
    clock.advance(seconds=10)
    done = source.fetch(rest.next_cursor)
    assert (done.messages, done.next_cursor, done.has_more) == ([], None, False)


def test_start_at_skips_rows_and_a_loop_comes_back_to_the_first(tmp_path: Path) -> None:
    clock = FakeClock()
    source = _replay(_feed(tmp_path, 4), rate_per_minute=60, loop=True, start_at=2, clock=clock)
    first = source.fetch(None)
    clock.advance(seconds=4)
    assert _ids(first) + _ids(source.fetch(first.next_cursor)) == [
        "feed:r2",
        "feed:r3",
        "feed:r0:loop1",
        "feed:r1:loop1",
        "feed:r2:loop1",
    ]


def test_speed_plays_rows_at_their_own_times_only_faster(tmp_path: Path) -> None:
    path = tmp_path / "tweets.jsonl"
    rows = [  # newest first, as many exports are
        {"id": "t3", "text": "Nog steeds geen pakket", "created_at": "2015-02-17T10:03:00Z"},
        {"id": "t2", "text": "Bezorger belt niet aan", "created_at": "2015-02-17T10:01:00Z"},
        {"id": "tx", "text": "Geen tijd bij deze"},
        {"id": "t1", "text": "Besteld, morgen in huis", "created_at": "2015-02-17T10:00:00Z"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    clock = FakeClock()
    source = _replay(path, speed=60, channel="social", clock=clock)
    first = source.fetch(None)
    assert _ids(first) == ["tweets:t1"]
    assert [r.error for r in first.rejected] == [
        "no created_at: with speed, rows play at their own times; "
        "map the created_at column or use rate_per_minute"
    ]
    clock.advance(seconds=1)  # 10:01 is one minute after 10:00: one second at speed 60
    second = source.fetch(first.next_cursor)
    assert _ids(second) == ["tweets:t2"] and second.rejected == []
    clock.advance(seconds=1.5)
    assert _ids(source.fetch(second.next_cursor)) == []
    clock.advance(seconds=0.5)
    third = source.fetch(second.next_cursor)
    assert _ids(third) == ["tweets:t3"]
    assert third.messages[0].created_at == T0 + timedelta(seconds=3)


def test_after_a_long_stop_the_replay_goes_on_instead_of_flooding_the_wall(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    source = _replay(_feed(tmp_path, 1000), rate_per_minute=60, clock=clock)
    first = source.fetch(None)
    clock.advance(hours=3)
    resumed = source.fetch(first.next_cursor)
    assert _ids(resumed) == ["feed:r1"]  # the next row, now — not 10,800 rows at once
    assert resumed.messages[0].created_at == clock.now
    clock.advance(seconds=2)
    assert _ids(source.fetch(resumed.next_cursor)) == ["feed:r2", "feed:r3"]


def test_a_backlog_is_handed_over_in_pages(tmp_path: Path) -> None:
    clock = FakeClock()
    source = _replay(_feed(tmp_path, 100), rate_per_minute=600, max_batch=20, clock=clock)
    first = source.fetch(None)
    clock.advance(seconds=5)  # 50 rows due
    page = source.fetch(first.next_cursor)
    assert (len(page.messages), page.has_more) == (20, True)
    page = source.fetch(page.next_cursor)
    assert (len(page.messages), page.has_more) == (20, True)
    page = source.fetch(page.next_cursor)
    assert (len(page.messages), page.has_more) == (10, False)


def test_unplayable_rows_are_quarantined_once_with_file_and_line(
    engine: Engine, demo_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "feed.csv"
    path.write_text("id,text\nr0,Goed\nr1,\nr2,Ook goed\n", encoding="utf-8")
    clock = FakeClock()
    source = _replay(path, rate_per_minute=60, clock=clock)
    normaliser = build_normaliser(demo_settings)
    assert run_source(engine, source, normaliser).quarantined == 1
    clock.advance(seconds=5)
    result = run_source(engine, source, normaliser)
    assert (result.inserted, result.quarantined) == (1, 0)
    with session_scope(engine) as session:
        kept = quarantined(session, "replay")
    assert [(q.reference, q.error) for q in kept] == [
        ("feed.csv:3", "column 'text' (text) is missing or empty")
    ]


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    source = _replay(tmp_path / "gone.csv")
    with pytest.raises(
        ReplayError, match=r"replay file .*gone\.csv does not exist; fix options.path"
    ):
        source.fetch(None)


def test_a_foreign_cursor_is_refused(tmp_path: Path) -> None:
    source = _replay(_feed(tmp_path, 3))
    with pytest.raises(ValueError, match="is not a replay cursor"):
        source.fetch('{"seq": 12}')


def test_a_configured_replay_plays_as_the_own_brand_with_its_language(
    demo_settings: Settings, tmp_path: Path
) -> None:
    config = SourceConfig(
        key="bolcom",
        type="replay",
        options={
            "path": str(_feed(tmp_path, 5, name="bolcom_reviews_nl.csv")),
            "mapping": {"external_id": "id", "text": "text"},
            "language": "nl",
        },
    )
    batch = build_source(config, demo_settings).fetch(None)
    message = batch.messages[0]
    assert (message.external_id, message.brands, message.language, message.channel) == (
        "bolcom_reviews_nl:r0",
        ("voltera",),
        "nl",
        "review",
    )
    assert ReplayCursor.load(batch.next_cursor or "", "bolcom").next == 1


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"rate_per_minute": 30, "speed": 10}, "speed: give rate_per_minute or speed, not both"),
        ({"rate_per_minute": 0}, "rate_per_minute: Input should be greater than 0"),
        ({"start_at": "2015-02-17T10:00:00Z"}, "start_at: a date/time needs speed"),
        ({"start_at": -1}, "start_at: must not be negative"),
        ({"loop": "yes"}, "loop: Input should be a valid boolean"),
        ({"mapping": {"txt": "body"}}, "mapping: unknown field 'txt'"),
    ],
)
def test_a_misconfigured_replay_is_refused_at_start(
    demo_settings: Settings, tmp_path: Path, options: dict[str, object], error: str
) -> None:
    config = SourceConfig(
        key="replay", type="replay", options={"path": str(tmp_path / "x.csv"), **options}
    )
    with pytest.raises(ValueError, match=error):
        build_source(config, demo_settings)


def test_the_documented_example_configures_a_looping_bolcom_replay(
    demo_settings: Settings,
) -> None:
    document = (Path(__file__).parents[2] / "docs" / "sources" / "replay.md").read_text()
    example = tomllib.loads(re.findall(r"```toml\n(.*?)```", document, re.S)[0])
    source = build_source(SourceConfig.model_validate(example["sources"][0]), demo_settings)
    assert isinstance(source, ReplaySource)
    assert source.path.name == "bolcom_reviews_nl.csv" and source.path.is_absolute()
    options = source.options
    assert (options.rate_per_minute, options.loop, options.language) == (30, True, "nl")
    assert options.brand == demo_settings.own_brand.key
