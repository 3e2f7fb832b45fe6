"""Scale-out on real PostgreSQL with real subprocesses: 3 workers, 2 schedulers, 2 web
processes run the demo and a 20,000-message import; one of each is killed with SIGKILL mid-run.
At the end every message is scored exactly once, the rollups equal a rebuild from scores, a new
scheduler leads, and the surviving web process answered throughout."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Lease, Message, MessagePhase, Rollup
from storage.rollups import rebuild
from tests.conftest import OUTPUT_DIR

ROOT = Path(__file__).parent.parent
ROWS = 20_000
pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scalar(engine: Engine, query) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return int(session.scalar(query) or 0)


def _rollups(engine: Engine) -> dict[tuple, tuple]:
    with session_scope(engine) as session:
        return {
            (r.bucket, r.brand, r.phase, r.channel): (r.count, round(r.score_sum, 6), r.negative)
            for r in session.scalars(select(Rollup))
        }


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_killed_worker_scheduler_and_web_process_lose_and_double_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    config = tmp_path / "scale.toml"
    config.write_text(
        (ROOT / "config" / "demo.toml")
        .read_text(encoding="utf-8")
        .replace("backfill_minutes = 15", "backfill_minutes = 2")
        .replace("interval_seconds = 5", "interval_seconds = 2"),
        encoding="utf-8",
    )
    big = tmp_path / "big.csv"
    with big.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at", "rating", "brand"])
        for i in range(ROWS):
            text = ("Pakket kwam te laat", "Top service, snel geholpen", "Betaling mislukte")[i % 3]
            writer.writerow(
                [f"r{i}", f"{text} ({i})", "2026-11-20T10:00:00Z", 1 + i % 5, "voltera"]
            )
    log_dir = OUTPUT_DIR / "scale_out"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CXPULSE_DATABASE_URL": postgres_url, "CXPULSE_CONFIG": str(config)}
    base = [sys.executable, str(ROOT / "app.py"), "--log-level", "WARNING"]

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (log_dir / f"{name}.log").open("wb")
        return subprocess.Popen([*base, *args], env=env, cwd=tmp_path, stdout=log, stderr=log)

    ports = [_port(), _port()]
    processes = {
        "scheduler-1": start("scheduler-1", "scheduler"),
        "scheduler-2": start("scheduler-2", "scheduler"),
        **{f"worker-{i}": start(f"worker-{i}", "worker") for i in (1, 2, 3)},
        **{f"web-{i}": start(f"web-{i}", "web", "--port", str(p)) for i, p in enumerate(ports, 1)},
    }
    try:
        deadline = time.monotonic() + 120
        while not all(_answers(p) for p in ports):
            assert time.monotonic() < deadline, "the web processes did not come up"
            time.sleep(1)
        importer = subprocess.run([*base, "import", str(big)], env=env, cwd=tmp_path, check=True)
        assert importer.returncode == 0
        scored = select(func.count()).where(Message.scored_at.is_not(None))
        while _scalar(engine, scored) < 3_000:
            assert time.monotonic() < deadline + 600, "scoring does not progress"
            time.sleep(1)
        with session_scope(engine) as session:
            leader = session.get(Lease, "scheduler").holder
        leader_pid = int(leader.rsplit(":", 1)[1])
        leader_name = next(n for n, p in processes.items() if p.pid == leader_pid)
        for name in ("worker-1", leader_name, "web-1"):
            processes[name].send_signal(signal.SIGKILL)
            processes[name].wait(10)
        killed_at = time.monotonic()
        web_answers = []
        unscored = select(func.count()).where(Message.scored_at.is_(None))
        new_leader = None
        while time.monotonic() - killed_at < 900:
            web_answers.append(_answers(ports[1]))
            with session_scope(engine) as session:
                lease = session.get(Lease, "scheduler")
                new_leader = lease.holder if lease and lease.holder != leader else new_leader
            if new_leader and _scalar(engine, unscored) == 0:
                break
            time.sleep(2)
        assert new_leader, "no scheduler took over from the killed leader"
        # Stop the schedulers so the stream ends, then let the workers finish.
        for name, process in processes.items():
            if name.startswith("scheduler") and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
        while _scalar(engine, unscored):
            assert time.monotonic() - killed_at < 1200, "messages were left unscored"
            time.sleep(2)
        assert all(web_answers), "the surviving web process stopped answering"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    file_messages = select(func.count()).where(Message.source == "file")
    assert _scalar(engine, file_messages) == ROWS
    assert _scalar(engine, select(func.count()).where(Message.scored_at.is_(None))) == 0
    with session_scope(engine) as session:
        phases = session.execute(select(MessagePhase.message_id, MessagePhase.phase)).all()
    assert len(phases) == len(set(phases))  # no message-phase scored twice
    incremental = _rollups(engine)
    with session_scope(engine) as session:
        rebuild(session)
    assert _rollups(engine) == incremental
    engine.dispose()
