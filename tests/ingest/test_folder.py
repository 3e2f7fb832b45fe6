"""The folder drop through the real pipeline: files imported once and moved, bad rows quarantined
with file:line, big files in chunks across runs, and crashes that resume without loss or doubles."""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from config import Settings, SourceConfig
from ingest.pipeline import Normaliser, run_source, store
from ingest.sources import build_source
from ingest.sources.folder import FolderCursor, FolderError, FolderOptions, FolderSource
from storage.db import session_scope
from storage.messages import load_cursor, quarantined
from storage.models import Message, MessageBrand
from wiring import build_normaliser


@pytest.fixture
def normaliser(demo_settings: Settings) -> Normaliser:
    return build_normaliser(demo_settings)  # type: ignore[no-any-return]


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def _folder(
    path: Path, clock: Callable[[], datetime] | None = None, **options: Any
) -> FolderSource:
    settings = FolderOptions(path=str(path), **options)
    return FolderSource("drop", settings, clock) if clock else FolderSource("drop", settings)


def _write(path: Path, text: str, age_seconds: float = 60) -> Path:
    path.write_text(text, encoding="utf-8")
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return path


def _big_csv(path: Path, rows: int, prefix: str = "r") -> Path:
    lines = ["id,text,created_at"]
    lines += [f"{prefix}{n},Bericht {n} over de levering,2026-11-20T10:00:00Z" for n in range(rows)]
    return _write(path, "\n".join(lines) + "\n")


def _stored(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Message.external_id).where(Message.source == "drop")))


def test_csv_and_jsonl_files_are_imported_once_and_moved_to_processed(
    engine: Engine, normaliser: Normaliser, drop: Path
) -> None:
    _write(drop / "reviews.csv", "id,text,rating\nr1,Snel geleverd door Voltera,5\nr2,Prima,4\n")
    chat = [
        {"id": "c1", "text": "Waar blijft mijn pakket?", "role": "customer", "channel": "chat"},
        {"id": "c2", "text": "Ik kijk het na", "role": "agent", "channel": "chat"},
    ]
    _write(drop / "chat.jsonl", "\n".join(json.dumps(c) for c in chat) + "\n", age_seconds=30)
    _write(drop / "notes.txt", "not a pattern match\n")
    source = _folder(drop)
    result = run_source(engine, source, normaliser)
    assert (result.inserted, result.duplicates, result.quarantined) == (4, 0, 0)
    assert sorted(p.name for p in drop.iterdir()) == ["notes.txt", "processed"]
    assert sorted(p.name for p in (drop / "processed").iterdir()) == ["chat.jsonl", "reviews.csv"]
    assert sorted(_stored(engine)) == ["c1", "c2", "r1", "r2"]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(MessageBrand)) == 1  # "Voltera"
        assert json.loads(load_cursor(session, "drop") or "") == json.loads(FolderCursor().dump())
    again = run_source(engine, _folder(drop), normaliser)
    assert (again.inserted, again.duplicates, again.quarantined) == (0, 0, 0)


def test_bad_rows_are_quarantined_with_file_and_line(
    engine: Engine, normaliser: Normaliser, drop: Path
) -> None:
    csv_text = (
        "id,text,created_at\n"
        "r1,Goed,2026-11-20T10:00:00Z\n"
        "r2,,2026-11-20T10:00:00Z\n"
        "r3,Datum fout,gisteren\n"
    )
    _write(drop / "reviews.csv", csv_text, age_seconds=90)
    _write(drop / "chat.jsonl", '{"id": "j1", "text": "hoi"}\nnot json\n', age_seconds=80)
    _write(drop / "export.json", '[{"id": "x1", "text": "afgebroken', age_seconds=70)
    result = run_source(engine, _folder(drop), normaliser)
    assert (result.inserted, result.quarantined) == (2, 4)
    with session_scope(engine) as session:
        errors = {q.reference: q.error for q in quarantined(session, "drop")}
    assert errors["reviews.csv:3"] == "column 'text' (text) is missing or empty"
    assert "'gisteren' is not an ISO 8601 date/time" in errors["reviews.csv:4"]
    assert errors["chat.jsonl:2"].startswith("not valid JSON")
    assert errors["export.json:record 1"].startswith("export.json: cannot read past record 0")
    # A broken file is not retried forever: it moves on, its quarantine entry says why.
    assert sorted(p.name for p in (drop / "processed").iterdir()) == [
        "chat.jsonl",
        "export.json",
        "reviews.csv",
    ]


def test_a_big_file_is_imported_in_chunks_across_runs_without_duplicates(
    engine: Engine, normaliser: Normaliser, drop: Path
) -> None:
    _big_csv(drop / "big.csv", 5000)
    source = _folder(drop, max_batch=70)
    first = run_source(engine, source, normaliser)
    # run_source stops after 50 pages (MAX_PAGES_PER_RUN): the rest waits for the next run.
    assert (first.inserted, first.duplicates) == (3500, 0)
    assert (drop / "big.csv").exists()
    second = run_source(engine, source, normaliser)
    assert (second.inserted, second.duplicates) == (1500, 0)
    assert not (drop / "big.csv").exists() and (drop / "processed" / "big.csv").exists()
    stored = _stored(engine)
    assert len(stored) == len(set(stored)) == 5000


def test_a_crash_mid_file_resumes_from_the_stored_cursor(
    engine: Engine, normaliser: Normaliser, drop: Path
) -> None:
    _big_csv(drop / "big.csv", 250)
    before_crash = _folder(drop, max_batch=100)
    first = before_crash.fetch(None)
    store(engine, "drop", first, normaliser)  # rows 0-99 and the cursor after them
    lost = before_crash.fetch(first.next_cursor)  # fetched, but the process dies before storing
    assert len(lost.messages) == 100
    after_restart = _folder(drop, max_batch=100)
    result = run_source(engine, after_restart, normaliser)
    assert (result.inserted, result.duplicates) == (150, 0)  # neither skipped nor stored twice
    assert sorted(_stored(engine), key=lambda i: int(i[1:])) == [f"r{n}" for n in range(250)]
    assert (drop / "processed" / "big.csv").exists()


def test_a_crash_after_the_last_batch_moves_the_file_without_storing_again(
    engine: Engine, normaliser: Normaliser, drop: Path
) -> None:
    _big_csv(drop / "small.csv", 30)
    before_crash = _folder(drop, max_batch=100)
    batch = before_crash.fetch(None)
    store(engine, "drop", batch, normaliser)
    assert FolderCursor.load(batch.next_cursor, "drop").finished  # stored, but never moved
    result = run_source(engine, _folder(drop), normaliser)
    assert (result.inserted, result.duplicates) == (0, 0)
    assert (drop / "processed" / "small.csv").exists() and not (drop / "small.csv").exists()


def test_a_file_replaced_during_its_import_is_read_again_from_the_top(
    engine: Engine, normaliser: Normaliser, drop: Path
) -> None:
    path = _big_csv(drop / "feed.csv", 150, prefix="old")
    first = _folder(drop, max_batch=100).fetch(None)
    store(engine, "drop", first, normaliser)
    _big_csv(path, 120, prefix="new")
    result = run_source(engine, _folder(drop, max_batch=100), normaliser)
    assert result.inserted == 120  # all of the new content, none of the old file's rest
    assert sum(i.startswith("new") for i in _stored(engine)) == 120


def test_a_file_still_being_written_waits_for_the_next_run(
    engine: Engine, normaliser: Normaliser, drop: Path
) -> None:
    now = datetime.now(UTC)
    source = _folder(drop, clock=lambda: now)
    path = drop / "live.csv"
    path.write_text("id,text\nl1,Half geschreven\n", encoding="utf-8")
    assert run_source(engine, source, normaliser).inserted == 0
    assert path.exists()
    now += timedelta(seconds=3)  # default settle_seconds is 2
    assert run_source(engine, source, normaliser).inserted == 1
    assert not path.exists()


def test_a_configured_folder_source_maps_columns_and_brand(
    engine: Engine, normaliser: Normaliser, demo_settings: Settings, drop: Path
) -> None:
    _write(drop / "survey.csv", "nr,antwoord\n1,Prima geholpen\n")
    config = SourceConfig(
        key="drop",
        type="folder",
        channel="review",
        options={
            "path": str(drop),
            "mapping": {"external_id": "nr", "text": "antwoord"},
            "brand": "stroomz",
        },
    )
    result = run_source(engine, build_source(config, demo_settings), normaliser)
    assert result.inserted == 1
    with session_scope(engine) as session:
        assert list(session.scalars(select(MessageBrand.brand))) == ["stroomz"]
        assert _stored(engine) == ["1"]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"path": "/tmp", "mapping": {"body": "text"}}, "options.mapping: unknown field 'body'"),
        ({"path": "/tmp", "recursive": True}, "options.recursive: unknown option (known: "),
        ({}, "options.path: Field required"),
        ({"path": "/tmp", "max_batch": 0}, "options.max_batch: Input should be greater than"),
        ({"path": "/tmp", "channel": "chat"}, "channel = 'review' and options.channel = 'chat'"),
        ({"path": "/tmp", "brand": "acme"}, "options.brand: 'acme' is not a brand key"),
    ],
)
def test_a_misconfigured_folder_source_is_refused_at_start(
    demo_settings: Settings, options: dict[str, object], error: str
) -> None:
    config = SourceConfig(key="drop", type="folder", channel="review", options=options)
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        build_source(config, demo_settings)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    source = _folder(tmp_path / "nowhere")
    with pytest.raises(FolderError, match="nowhere does not exist"):
        source.fetch(None)


def test_the_documented_example_configures_a_folder_source(demo_settings: Settings) -> None:
    document = (Path(__file__).parents[2] / "docs" / "sources" / "folder.md").read_text()
    example = tomllib.loads(re.findall(r"```toml\n(.*?)```", document, re.S)[0])
    source = build_source(SourceConfig.model_validate(example["sources"][0]), demo_settings)
    assert isinstance(source, FolderSource)
    assert source.patterns == ("*.csv", "*.jsonl")
    assert source.options.mapping == {
        "external_id": "nr",
        "text": "antwoord",
        "created_at": "datum",
    }
