"""Ingest benchmark: demo messages through the real normaliser and `store()` into SQLite and PG.

Prints messages/s for batches against one-message transactions measured in the same run."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tqdm import tqdm  # noqa: E402

from app import build_normaliser  # noqa: E402
from config import load_settings  # noqa: E402
from ingest.base import Batch, IncomingMessage  # noqa: E402
from ingest.pipeline import Normaliser, store  # noqa: E402
from ingest.sources.demo import DemoSource  # noqa: E402
from storage.db import make_engine, normalise_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SINGLE_SOURCE = "bench_single"  # the baseline's source key, so its rows never collide


@dataclass(frozen=True)
class Measurement:
    name: str
    messages: int
    seconds: float
    cpu_seconds: float  # this process only: on a shared machine, what the code itself costs
    inserted: int
    duplicates: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else float("inf")

    @property
    def cpu_rate(self) -> float:
        return self.messages / self.cpu_seconds if self.cpu_seconds else float("inf")


def demo_messages(count: int, seed: int) -> list[IncomingMessage]:
    """The first `count` messages of the demo stream: a pure function of (seed, seq)."""
    source = DemoSource("demo", seed=seed)
    messages: list[IncomingMessage] = []
    seq = 0
    while len(messages) < count:
        messages.extend(generated.message for generated in source.generate(seq))
        seq += 1
    return messages[:count]


def as_batches(messages: Sequence[IncomingMessage], size: int) -> list[Batch]:
    # Each batch carries a cursor, as a real source's does, so the cursor write is measured too.
    return [
        Batch(messages=list(messages[start : start + size]), next_cursor=f"bench:{start + size}")
        for start in range(0, len(messages), size)
    ]


class Timer:
    """Adds up the time and store() results of one kind of run."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages = self.inserted = self.duplicates = 0
        self.seconds = self.cpu_seconds = 0.0

    def store(
        self, engine: Engine, source_key: str, batches: Sequence[Batch], normaliser: Normaliser
    ) -> None:
        started, cpu_started = time.perf_counter(), time.process_time()
        for batch in batches:
            result = store(engine, source_key, batch, normaliser)
            self.inserted += result.inserted
            self.duplicates += result.duplicates
            self.messages += len(batch.messages)
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.process_time() - cpu_started

    def result(self) -> Measurement:
        return Measurement(
            self.name, self.messages, self.seconds, self.cpu_seconds, self.inserted, self.duplicates
        )


def time_each(
    name: str, messages: Sequence[IncomingMessage], step: Callable[..., object]
) -> tuple[float, float]:
    """Wall and CPU seconds to run `step` on every message."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for message in tqdm(messages, desc=name, unit=" msg", leave=False):
        step(message)
    return time.perf_counter() - started, time.process_time() - cpu_started


def bench_database(
    label: str,
    url: str,
    messages: Sequence[IncomingMessage],
    normaliser: Normaliser,
    batch_size: int,
    single: int,
) -> list[Measurement]:
    """Batched and one-per-transaction stores taken in turns (so both see the same machine
    load), then all batches again: every message re-delivered."""
    upgrade(url)
    engine = make_engine(url)
    try:
        batches = as_batches(messages, batch_size)
        # The baseline stores the same texts under its own source key, so nothing collides.
        singles = as_batches([replace(m, source=SINGLE_SOURCE) for m in messages[:single]], 1)
        per_round = -(-len(singles) // len(batches))
        batched = Timer(f"{label}: batches of {batch_size}")
        baseline = Timer(f"{label}: 1 msg per transaction")
        total = len(messages) + len(singles)
        with tqdm(total=total, desc=f"{label}: new", unit=" msg", leave=False) as progress:
            for index, batch in enumerate(batches):
                batched.store(engine, "demo", [batch], normaliser)
                round_singles = singles[index * per_round : (index + 1) * per_round]
                baseline.store(engine, SINGLE_SOURCE, round_singles, normaliser)
                progress.update(len(batch.messages) + len(round_singles))
        redelivered = Timer(f"{label}: re-delivered batches")
        with tqdm(total=len(messages), desc=f"{label}: again", unit=" msg", leave=False) as bar:
            for batch in batches:
                redelivered.store(engine, "demo", [batch], normaliser)
                bar.update(len(batch.messages))
        return [baseline.result(), batched.result(), redelivered.result()]
    finally:
        engine.dispose()


def postgres_admin(url: str) -> tuple[Engine | None, str]:
    """An AUTOCOMMIT engine on the maintenance database, or None and the reason it is unusable."""
    admin = create_engine(
        normalise_url(url), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: skip, and say why
        admin.dispose()
        return None, f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0]}"
    return admin, ""


def bench_postgres(
    url: str,
    messages: Sequence[IncomingMessage],
    normaliser: Normaliser,
    batch_size: int,
    single: int,
) -> list[Measurement]:
    admin, reason = postgres_admin(url)
    if admin is None:
        print(f"PostgreSQL skipped: {url} is not reachable ({reason})")
        return []
    name = f"cxpulse_bench_{secrets.token_hex(4)}"
    bench_url = (
        make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return bench_database("postgres", bench_url, messages, normaliser, batch_size, single)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def report(database: str, rows: Sequence[Measurement]) -> None:
    baseline, batched, redelivered = rows
    print(f"\n{database}")
    print(
        f"  {'run':<34} {'messages':>9} {'seconds':>8} {'msgs/s':>8} {'msgs/cpu-s':>10}"
        f" {'new':>6} {'dup':>6}"
    )
    for row in rows:
        print(
            f"  {row.name:<34} {row.messages:>9} {row.seconds:>8.2f} {row.rate:>8.0f}"
            f" {row.cpu_rate:>10.0f} {row.inserted:>6} {row.duplicates:>6}"
        )
    print(f"  batched / 1 msg per transaction: {batched.rate / baseline.rate:.1f}x")
    print(f"  re-delivered / batched:          {redelivered.rate / batched.rate:.2f}x")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Ingest throughput: demo messages through the real Normaliser (redaction, brands) "
            "and ingest.pipeline.store into fresh SQLite and PostgreSQL databases, batched vs. "
            "one message per transaction, plus re-delivery and the Redactor alone."
        )
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages (default 20000)")
    parser.add_argument("--batch-size", type=int, default=1_000, help="default 1000")
    parser.add_argument(
        "--single",
        type=int,
        default=1_000,
        help="messages in the one-per-transaction baseline (default 1000)",
    )
    parser.add_argument("--seed", type=int, default=7, help="demo generator seed (default 7)")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
        help=f"server to create a throwaway database on (default {POSTGRES_URL})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if min(args.messages, args.batch_size, args.single) < 1:
        sys.exit("--messages, --batch-size and --single must be at least 1")
    logging.disable(logging.WARNING)  # alembic's INFO lines would interleave with the bars
    settings = load_settings()
    normaliser = build_normaliser(settings)
    started = time.perf_counter()
    messages = demo_messages(args.messages, args.seed)
    generated = time.perf_counter() - started
    single = min(args.single, len(messages))
    print(
        f"{len(messages)} demo messages (seed {args.seed}) generated in {generated:.1f} s; "
        f"batches of {args.batch_size}; baseline: first {single} messages, 1 per transaction"
    )

    redact = time_each("Redactor.redact", messages, lambda m: normaliser.redactor.redact(m.text))
    normalise = time_each("Normaliser.to_row", messages, normaliser.to_row)
    print(f"\nno database ({len(messages)} messages)")
    print(f"  {'step':<34} {'msgs/s':>8} {'msgs/cpu-s':>10}")
    for name, (wall, cpu) in (
        ("Redactor.redact alone", redact),
        ("Normaliser.to_row (redact + row)", normalise),
    ):
        print(f"  {name:<34} {len(messages) / wall:>8.0f} {len(messages) / cpu:>10.0f}")

    with tempfile.TemporaryDirectory(prefix="cxpulse-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        report(
            "SQLite (fresh file, WAL, synchronous=NORMAL)",
            bench_database("sqlite", url, messages, normaliser, args.batch_size, single),
        )
    if args.skip_postgres:
        print("\nPostgreSQL skipped: --skip-postgres")
        return
    rows = bench_postgres(args.postgres_url, messages, normaliser, args.batch_size, single)
    if rows:
        report("PostgreSQL (fresh database)", rows)


if __name__ == "__main__":
    main()
