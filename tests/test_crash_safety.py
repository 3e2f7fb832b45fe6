"""Kill the process in the middle of work (SIGKILL, a real subprocess); after a restart every
message is stored exactly once and the source's cursor resumes where the last commit left it."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import build_normaliser  # noqa: F401  (imports the app the subprocess runs)
from config import load_settings
from ingest.sources.demo import build as build_demo
from storage.db import make_engine, session_scope
from storage.models import Cursor, Message

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


def _cli(database_url: str, *args: str, config: Path | None = None) -> list[str]:
    base = [sys.executable, str(ROOT / "app.py"), "--log-level", "WARNING"]
    if config:
        base += ["--config", str(config)]
    return [*base, "--database-url", database_url, *args]


def _count(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            return int(session.scalar(select(func.count()).select_from(Message)) or 0)
    except Exception:
        return 0  # the schema may not exist yet
    finally:
        engine.dispose()


def _kill_when(process: subprocess.Popen[bytes], condition, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            return
        time.sleep(0.05)
    pytest.fail("the process finished before it could be killed mid-work")


def test_import_killed_mid_file_then_rerun_stores_every_row_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at", "rating"])
        for i in range(20_000):
            writer.writerow(
                [
                    f"r{i}",
                    f"Review {i}: bezorging duurde {i % 9} dagen",
                    "2026-11-20T10:00:00Z",
                    1 + i % 5,
                ]
            )
    process = subprocess.Popen(_cli(database_url, "import", str(path)), cwd=tmp_path)
    _kill_when(process, lambda: 0 < _count(database_url) < 20_000)
    stored_before_restart = _count(database_url)
    assert 0 < stored_before_restart < 20_000
    rerun = subprocess.run(
        _cli(database_url, "import", str(path)), cwd=tmp_path, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert (
        f"{20_000 - stored_before_restart} new, {stored_before_restart} already stored"
        in rerun.stdout
    )
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        ids = list(session.scalars(select(Message.external_id)))
    engine.dispose()
    assert len(ids) == len(set(ids)) == 20_000


def test_ingest_killed_mid_backlog_resumes_from_its_cursor_without_gaps_or_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "crash.toml"
    # A ten-hour backfill: about 50 batches to store, so the kill lands in the middle.
    config.write_text(
        (ROOT / "config" / "demo.toml")
        .read_text(encoding="utf-8")
        .replace(
            "options = { rate_per_minute = 40, backfill_minutes = 15,",
            "options = { rate_per_minute = 40, backfill_minutes = 600, max_batch = 200,",
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(_cli(database_url, "ingest", config=config), cwd=tmp_path)
    _kill_when(process, lambda: _count(database_url) > 2_000)
    for _ in range(5):  # catch up what is left, as restarts would
        subprocess.run(
            _cli(database_url, "ingest", "--once", config=config), cwd=tmp_path, check=True
        )
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        ids = list(session.scalars(select(Message.external_id)))
        cursor = json.loads(session.get(Cursor, "demo").value)
    engine.dispose()
    assert len(ids) == len(set(ids))
    seqs = sorted({int(i.split("-")[1]) for i in ids})
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "a gap: messages were lost"
    assert cursor["seq"] == seqs[-1] + 1  # the cursor points just past the last stored message
    settings = load_settings(config)
    demo = build_demo(settings.sources[0], settings)
    expected = {g.message.external_id for s in seqs for g in demo.generate(s)}
    assert set(ids) == expected  # every chat turn of every conversation, nothing extra
    assert os.path.exists(tmp_path)  # the working directory held no state of its own
