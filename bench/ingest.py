"""Ingest benchmark: demo messages through the real normaliser and `store()` into SQLite and PG.

Prints messages/s for batches against one-message transactions measured in the same run, and for
the two ways messages arrive from outside: a CSV file dropped in a watched folder (read by the
folder source through `run_source`) and the push API over real HTTP."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tqdm import tqdm  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from config import Settings, SourceConfig, load_settings  # noqa: E402
from ingest.base import Batch, IncomingMessage  # noqa: E402
from ingest.files import DEFAULT_MAPPING  # noqa: E402
from ingest.pipeline import Normaliser, run_source, store  # noqa: E402
from ingest.push import MESSAGES_PATH, push_blueprint  # noqa: E402
from ingest.sources import folder  # noqa: E402
from ingest.sources.demo import DemoSource  # noqa: E402
from storage.catalogue import sync_catalogue  # noqa: E402
from storage.db import make_engine, normalise_url, session_scope  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from wiring import build_normaliser  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SINGLE_SOURCE = "bench_single"  # the baseline's source key, so its rows never collide
# Each path stores the same messages under its own source key, so none collides with another.
DROP_SOURCE = "bench_drop"
PUSH_SOURCE = "bench_push"
PUSH_PARALLEL_SOURCE = "bench_push_parallel"
PUSH_TOKEN_ENV = "CXPULSE_BENCH_PUSH_TOKEN"
PUSH_PARALLEL_TOKEN_ENV = "CXPULSE_BENCH_PUSH_PARALLEL_TOKEN"


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
    """Adds up the time and store results of one kind of run."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages = self.inserted = self.duplicates = 0
        self.seconds = self.cpu_seconds = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.process_time() - cpu_started

    def count(self, messages: int, inserted: int, duplicates: int) -> None:
        self.messages += messages
        self.inserted += inserted
        self.duplicates += duplicates

    def store(
        self, engine: Engine, source_key: str, batches: Sequence[Batch], normaliser: Normaliser
    ) -> None:
        with self.timing():
            for batch in batches:
                result = store(engine, source_key, batch, normaliser)
                self.count(len(batch.messages), result.inserted, result.duplicates)

    def result(self) -> Measurement:
        return Measurement(
            self.name, self.messages, self.seconds, self.cpu_seconds, self.inserted, self.duplicates
        )


@dataclass(frozen=True)
class Arrival:
    """How the file-drop and push paths are run."""

    drop: bool
    push_messages: int  # 0: no push runs
    request_size: int
    clients: int  # concurrent push clients in the extra run; 1 or less: no extra run


# --- File drop: a CSV in a watched folder, read by the folder source through run_source ---


def csv_row(message: IncomingMessage) -> dict[str, str]:
    """The message as a row of a CSV with ingest.files' default column names."""
    fields = {
        "external_id": message.external_id,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "channel": message.channel,
        "brand": message.brands[0] if message.brands else "",  # the demo gives one brand each
        "rating": "" if message.rating is None else str(message.rating),
        "language": message.language or "",
        "conversation_id": message.conversation_id or "",
        "turn_role": message.turn_role or "",
        "author": message.author or "",
    }
    return {DEFAULT_MAPPING[field]: value for field, value in fields.items()}


def settled(path: Path) -> Path:
    """Backdate the file past the folder source's settle time, as a finished upload would be."""
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def write_csv(path: Path, messages: Sequence[IncomingMessage]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(DEFAULT_MAPPING.values()))
        writer.writeheader()
        writer.writerows(csv_row(message) for message in messages)
    return settled(path)


def import_file(
    engine: Engine,
    source: folder.FolderSource,
    normaliser: Normaliser,
    path: Path,
    records: int,
    timer: Timer,
) -> None:
    """Scheduled runs of the folder source until `path` is imported and moved to processed/."""
    quarantined = 0
    with timer.timing():
        for _ in range(-(-records // source.max_batch) + 2):
            if not path.exists():
                break
            result = run_source(engine, source, normaliser)
            timer.count(result.inserted + result.duplicates, result.inserted, result.duplicates)
            quarantined += result.quarantined
    if path.exists() or not (path.parent / "processed" / path.name).exists():
        raise RuntimeError(f"{path.name} was not imported and moved to processed/")
    if quarantined or timer.messages != records:
        raise RuntimeError(f"{path.name}: {quarantined} rows quarantined, {timer.messages} stored")


def bench_file_drop(
    label: str,
    engine: Engine,
    settings: Settings,
    normaliser: Normaliser,
    messages: Sequence[IncomingMessage],
    workdir: Path,
) -> list[Measurement]:
    """The messages as one CSV file in a drop folder, then a copy of it under another name."""
    drop = workdir / f"drop-{label}"
    drop.mkdir()
    first = write_csv(drop / "messages.csv", messages)
    config = SourceConfig(key=DROP_SOURCE, type="folder", options={"path": str(drop)})
    source = folder.build(config, settings)
    new = Timer(f"{label}: file drop, new")
    import_file(engine, source, normaliser, first, len(messages), new)
    again_path = drop / "messages-again.csv"
    shutil.copyfile(drop / "processed" / first.name, again_path)
    again = Timer(f"{label}: file drop, again (copy)")
    import_file(engine, source, normaliser, settled(again_path), len(messages), again)
    return [new.result(), again.result()]


# --- Push API: a real HTTP server in a thread, serving only the push blueprint ---


@contextmanager
def push_server(
    engine: Engine, normaliser: Normaliser, sources: Sequence[SourceConfig]
) -> Iterator[str]:
    """The push endpoint on a free local port (werkzeug, a thread per request); its base URL."""
    app = Flask("cxpulse-bench-push")
    app.register_blueprint(push_blueprint(engine, normaliser, sources))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def push_item(message: IncomingMessage) -> dict[str, object]:
    item: dict[str, object] = {
        "external_id": message.external_id,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "channel": message.channel,
    }
    optional = {
        "brand": message.brands[0] if message.brands else None,
        "rating": message.rating,
        "language": message.language,
        "conversation_id": message.conversation_id,
        "role": message.turn_role,
        "author": message.author,
    }
    item.update({name: value for name, value in optional.items() if value is not None})
    return item


def push_bodies(messages: Sequence[IncomingMessage], size: int) -> list[bytes]:
    """Request bodies of `size` messages, encoded once: the sender's JSON encoding is not ours."""
    return [
        json.dumps(
            {"messages": [push_item(m) for m in messages[start : start + size]]},
            ensure_ascii=False,
        ).encode("utf-8")
        for start in range(0, len(messages), size)
    ]


def post_all(
    base_url: str, token: str, bodies: Sequence[bytes], clients: int, timer: Timer
) -> None:
    """POST every body, `clients` keep-alive connections at a time; counts the 202 answers."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    progress = tqdm(total=len(bodies), desc=timer.name, unit=" req", leave=False)

    def send_share(share: Sequence[bytes]) -> list[dict[str, int]]:
        answers = []
        with httpx.Client(base_url=base_url, timeout=300) as client:
            for body in share:
                response = client.post(MESSAGES_PATH, content=body, headers=headers)
                if response.status_code != 202:
                    raise RuntimeError(f"push answered {response.status_code}: {response.text}")
                answers.append(response.json())
                progress.update()
        return answers

    with progress, timer.timing():
        if clients <= 1:
            answers = send_share(bodies)
        else:
            with ThreadPoolExecutor(clients) as pool:
                shares = pool.map(send_share, [bodies[i::clients] for i in range(clients)])
                answers = [answer for share in shares for answer in share]
    for answer in answers:
        if answer["rejected"]:
            raise RuntimeError(f"push rejected {answer['rejected']} messages: {answer}")
        timer.count(
            answer["accepted"] + answer["duplicates"], answer["accepted"], answer["duplicates"]
        )


def bench_push(
    label: str,
    engine: Engine,
    normaliser: Normaliser,
    messages: Sequence[IncomingMessage],
    arrival: Arrival,
) -> list[Measurement]:
    """One client posting every message, the same again (all duplicates), and optionally
    `clients` clients at once posting them to a second push source."""
    bodies = push_bodies(messages, arrival.request_size)
    token, parallel_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    os.environ[PUSH_TOKEN_ENV], os.environ[PUSH_PARALLEL_TOKEN_ENV] = token, parallel_token
    sources = push_sources()
    rows = []
    with push_server(engine, normaliser, sources) as url:
        for name in ("new", "again"):
            timer = Timer(f"{label}: push, 1 client, {name}")
            post_all(url, token, bodies, 1, timer)
            rows.append(timer.result())
        if arrival.clients > 1:
            timer = Timer(f"{label}: push, {arrival.clients} clients, new")
            post_all(url, parallel_token, bodies, arrival.clients, timer)
            rows.append(timer.result())
    return rows


def push_sources() -> list[SourceConfig]:
    return [
        SourceConfig(key=PUSH_SOURCE, type="push", channel="chat", secret_env=PUSH_TOKEN_ENV),
        SourceConfig(
            key=PUSH_PARALLEL_SOURCE,
            type="push",
            channel="chat",
            secret_env=PUSH_PARALLEL_TOKEN_ENV,
        ),
    ]


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
    settings: Settings,
    arrival: Arrival,
) -> list[Measurement]:
    """Batched and one-per-transaction stores taken in turns (so both see the same machine
    load), then all batches again: every message re-delivered. Then the file drop and the push
    API, each storing the same messages under its own source key."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:  # as the app does at start: brands for push
            sources = [*settings.sources, *push_sources()]
            sync_catalogue(session, settings.brands, settings.phases, sources)
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
        rows = [baseline.result(), batched.result(), redelivered.result()]
        if arrival.drop:
            with tempfile.TemporaryDirectory(prefix="cxpulse-bench-drop-") as workdir:
                rows += bench_file_drop(
                    label, engine, settings, normaliser, messages, Path(workdir)
                )
        if arrival.push_messages:
            pushed = messages[: arrival.push_messages]
            rows += bench_push(label, engine, normaliser, pushed, arrival)
        return rows
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
    settings: Settings,
    arrival: Arrival,
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
        return bench_database(
            "postgres", bench_url, messages, normaliser, batch_size, single, settings, arrival
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def report(database: str, rows: Sequence[Measurement]) -> None:
    baseline, batched, redelivered, *arrivals = rows
    print(f"\n{database}")
    print(
        f"  {'run':<40} {'messages':>9} {'seconds':>8} {'msgs/s':>8} {'msgs/cpu-s':>10}"
        f" {'new':>6} {'dup':>6}"
    )
    for row in rows:
        print(
            f"  {row.name:<40} {row.messages:>9} {row.seconds:>8.2f} {row.rate:>8.0f}"
            f" {row.cpu_rate:>10.0f} {row.inserted:>6} {row.duplicates:>6}"
        )
    print(f"  batched / 1 msg per transaction: {batched.rate / baseline.rate:.1f}x")
    print(f"  re-delivered / batched:          {redelivered.rate / batched.rate:.2f}x")
    if arrivals:
        print(f"  {'msgs/s against':<40} {'1 msg per transaction':>22} {'batched store()':>16}")
    for row in arrivals:
        print(
            f"  {row.name:<40} {row.rate / baseline.rate:>21.1f}x {row.rate / batched.rate:>15.2f}x"
        )
    if any(": push" in row.name for row in arrivals):
        print("  (push: the HTTP server runs in this process, so its CPU-s are server + client)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Ingest throughput: demo messages through the real Normaliser (redaction, brands) "
            "and ingest.pipeline.store into fresh SQLite and PostgreSQL databases, batched vs. "
            "one message per transaction, plus re-delivery and the Redactor alone; then the same "
            "messages as a CSV in a drop folder (folder source, run_source) and through the push "
            "API over HTTP, each new and again (all duplicates)."
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
    parser.add_argument(
        "--push-messages",
        type=int,
        default=5_000,
        help="the first this many messages go through the push API (default 5000; 0: none)",
    )
    parser.add_argument(
        "--request-size", type=int, default=500, help="messages per push request (default 500)"
    )
    parser.add_argument(
        "--push-clients",
        type=int,
        default=4,
        help="concurrent clients in the extra push run (default 4; 1: no extra run)",
    )
    parser.add_argument("--skip-drop", action="store_true", help="no file-drop runs")
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
    if not 1 <= args.request_size <= 1000:
        sys.exit("--request-size must be 1 to 1000 (the push API's limit per request)")
    logging.disable(logging.WARNING)  # alembic's INFO lines would interleave with the bars
    settings = load_settings()
    normaliser = build_normaliser(settings)
    started = time.perf_counter()
    messages = demo_messages(args.messages, args.seed)
    generated = time.perf_counter() - started
    single = min(args.single, len(messages))
    arrival = Arrival(
        drop=not args.skip_drop,
        push_messages=min(max(0, args.push_messages), len(messages)),
        request_size=args.request_size,
        clients=args.push_clients,
    )
    print(
        f"{len(messages)} demo messages (seed {args.seed}) generated in {generated:.1f} s; "
        f"batches of {args.batch_size}; baseline: first {single} messages, 1 per transaction"
    )
    if arrival.drop:
        print(f"file drop: all {len(messages)} as one CSV, then a copy of it under another name")
    if arrival.push_messages:
        clients = f", then {arrival.clients} clients at once" if arrival.clients > 1 else ""
        print(
            f"push API: first {arrival.push_messages} messages, {arrival.request_size} per "
            f"request, 1 keep-alive client, again (all duplicates){clients}"
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
            bench_database(
                "sqlite", url, messages, normaliser, args.batch_size, single, settings, arrival
            ),
        )
    if args.skip_postgres:
        print("\nPostgreSQL skipped: --skip-postgres")
        return
    rows = bench_postgres(
        args.postgres_url, messages, normaliser, args.batch_size, single, settings, arrival
    )
    if rows:
        report("PostgreSQL (fresh database)", rows)


if __name__ == "__main__":
    main()
