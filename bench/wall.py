"""Wall-screen benchmark: 50 simulated screens polling /wall against 1,000,000 scored messages.

Prints server time per refresh (p50/p95) under load against one screen alone, same run, same db."""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, select  # noqa: E402
from sqlmodel import col  # noqa: E402

from config import Settings, load_settings  # noqa: E402
from sentiment.labels import label_for  # noqa: E402
from storage.catalogue import sync_catalogue  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Message, MessageBrand, MessagePhase  # noqa: E402
from storage.rollups import PhaseMention, contributions  # noqa: E402
from storage.scores import ScoredMessage, save_scores  # noqa: E402

log = logging.getLogger("bench.wall")

DEFAULT_DB = "/tmp/cxpulse-wall-bench.db"
CALLBACK_OUTPUT = "wall-journey.children"  # identifies the wall's refresh callback
CHANNELS = (("review", 0.35), ("social", 0.45), ("chat", 0.20))
TEXTS = (
    "De bezorger kwam twee dagen te laat en niemand belde, mijn nummer is [telefoon].",
    "Super snel geleverd en netjes geïnstalleerd, echt een aanrader!",
    "Chat was vriendelijk maar loste niks op, stuur het naar [e-mail] zei hij.",
    "Prima prijs, bestellen ging makkelijk via de website.",
    "Retour sturen kost veel te veel moeite, nooit meer.",
    "Great laptop, but the courier was late and the chat only said sorry.",
    "Payment with iDEAL failed twice before it worked.",
    "Battery lasts forever, very happy with it.",
)


# --- building a database of 1,000,000 scored messages, fast ---


MESSAGE_COLUMNS = (
    "id, source, external_id, channel, language, text, created_at, ingested_at, "
    "conversation_id, turn_role, redactions, scored_at, sentiment, sentiment_label, model"
)
ROLLUP_COLUMNS = "bucket, brand, phase, channel, count, score_sum, negative, positive"


def _insert(table: str, columns: str, paramstyle: str) -> str:
    marks = ", ".join(["?" if paramstyle == "qmark" else "%s"] * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"


def build(engine: Engine, settings: Settings, count: int, days: int, seed: int) -> None:
    """Bulk-insert messages, their brands, phase scores and the rollups those give.

    Plain DB-API executemany in transactions of 50,000 messages (the ORM would take minutes);
    rollups come from storage.rollups.contributions, the definition the worker uses, so they
    are what scoring would have written."""
    rng = random.Random(seed)
    brands = [b.key for b in settings.brands]
    own = settings.own_brand.key
    phases = [p.key for p in settings.phases] + ["general"]
    sqlite = engine.dialect.name == "sqlite"
    style = "qmark" if sqlite else "format"

    def stamp(moment: datetime) -> Any:
        # What SQLAlchemy's UTCDateTime stores in SQLite; PostgreSQL takes the datetime itself.
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else moment

    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    step = (now - start) / count
    mentions: list[PhaseMention] = []
    conversation = turn = 0
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for chunk_start in range(0, count, 50_000):
            chunk = range(chunk_start, min(count, chunk_start + 50_000))
            channels = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS], k=len(chunk))
            messages: list[tuple[Any, ...]] = []
            links: list[tuple[int, str]] = []
            scores: list[tuple[Any, ...]] = []
            for i, channel in zip(chunk, channels, strict=True):
                created = start + step * i
                if channel == "chat":
                    if turn == 0:
                        conversation, turn = conversation + 1, rng.randint(2, 5)
                    turn -= 1
                    role: str | None = "customer" if turn % 2 == 0 else "agent"
                    brand_keys = (own,)
                else:
                    role = None
                    brand_keys = (own,) if rng.random() < 0.55 else (rng.choice(brands),)
                # Agent turns are context only: scored (so not pending) but without phases.
                picked = [] if role == "agent" else rng.sample(phases, rng.choice((1, 1, 2, 3)))
                phase_scores = [(p, round(rng.uniform(-1, 1) ** 3 * 0.9 + 0.2, 3)) for p in picked]
                mean = sum(x for _, x in phase_scores) / len(picked) if picked else None
                messages.append(
                    (
                        i + 1,
                        "bench",
                        str(i),
                        channel,
                        "nl",
                        TEXTS[i % len(TEXTS)],
                        stamp(created),
                        stamp(created),
                        f"c{conversation}" if channel == "chat" else None,
                        role,
                        0,
                        stamp(created + timedelta(seconds=2)),
                        mean,
                        None if mean is None else label_for(mean),
                        "bench@1",
                    )
                )
                links.extend((i + 1, b, stamp(created)) for b in brand_keys)
                for phase, score in phase_scores:
                    label = label_for(score)
                    scores.append((i + 1, phase, score, label, 1))
                    mentions.append(PhaseMention(created, channel, brand_keys, phase, score, label))
            cursor.executemany(_insert("message", MESSAGE_COLUMNS, style), messages)
            cursor.executemany(
                _insert("message_brand", "message_id, brand, created_at", style), links
            )
            cursor.executemany(
                _insert("message_phase", "message_id, phase, score, label, units", style), scores
            )
            raw.commit()
            print(f"\r  {chunk.stop:>9,} messages ({time.perf_counter() - started:.0f} s)", end="")
        print()
        rows = [
            (stamp(bucket), brand, phase, channel, d.count, d.score_sum, d.negative, d.positive)
            for (bucket, brand, phase, channel), d in sorted(contributions(mentions).items())
        ]
        cursor.executemany(_insert("rollup", ROLLUP_COLUMNS, style), rows)
        raw.commit()
        if sqlite:
            cursor.execute("ANALYZE")  # what `PRAGMA optimize` does for a long-running database
        else:  # explicit ids leave the sequence behind; new messages must not collide
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('message', 'id'), max(id)) FROM message"
            )
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    print(f"  {len(rows):,} rollup rows; built in {time.perf_counter() - started:.0f} s")


def prepare(url: str, settings: Settings, count: int, days: int, rebuild: bool) -> Engine:
    if rebuild and url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        sync_catalogue(session, settings.brands, settings.phases, settings.sources)
        count_bench = select(func.count()).where(col(Message.source) == "bench")
        have = session.scalar(count_bench) or 0
    if have != count:
        if have:
            raise SystemExit(f"{url} holds {have:,} messages, not {count:,}: pass --rebuild")
        print(f"building {count:,} scored messages over {days} days in {url}")
        build(engine, settings, count, days, seed=1)
    else:
        print(f"reusing {url} ({have:,} scored messages; --rebuild to start over)")
    return engine


# --- the server: the real app under waitress, timing each request ---


def serve(url: str, port: int, threads: int, sse: bool = False) -> None:
    """`create_app` exactly as `cxpulse web` builds it, wrapped to add a Server-Timing header."""
    import flask
    from waitress import serve as waitress_serve

    from dashboard.app import create_app

    settings = load_settings(database_url=url)
    app = create_app(settings, make_engine(url)).server

    def timed(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.perf_counter()
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda _data: None

        body = b"".join(app(environ, keep))  # the whole callback, serialised, as sent
        millis = (time.perf_counter() - started) * 1000
        headers = [*captured["headers"], ("Server-Timing", f"app;dur={millis:.2f}")]
        start_response(captured["status"], headers, captured["exc_info"])
        return [body]

    if sse:
        # What a push design needs: one response per screen that never ends. (Under /wall so
        # that the login guard lets it through like the wall itself.)
        @app.get("/wall-sse-probe")
        def stream() -> flask.Response:
            def events() -> Iterator[str]:
                while True:
                    yield f"data: {time.time()}\n\n"
                    time.sleep(5)

            return flask.Response(events(), mimetype="text/event-stream")

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress_serve(timed, host="127.0.0.1", port=port, threads=threads, _quiet=True)


# --- the screens ---


def refresh_body(port: int, settings: Settings) -> dict[str, Any]:
    """The POST the browser makes for the wall's refresh, built from the app's own callback spec.

    tests/dashboard/test_wall.py checks this body against one captured from Chromium."""
    from dashboard.components.wall_data import wall_options

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/_dash-dependencies")
    specs = json.loads(connection.getresponse().read())
    spec = next(s for s in specs if CALLBACK_OUTPUT in s["output"])
    options = asdict(wall_options(settings, None, {}))
    options["views"] = list(options["views"])
    state_values = {"wall-options": options, "wall-version": {}}
    return {
        "output": spec["output"],
        "outputs": [
            {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
            for part in spec["output"].strip(".").split("...")
        ],
        "inputs": [{**i, "value": None} for i in spec["inputs"]],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"]],
        "state": [{**s, "value": state_values.get(s["id"])} for s in spec["state"]],
    }


@dataclass
class Sample:
    server_ms: float
    client_ms: float
    bytes: int
    full: bool  # views were sent (new data, or the next view's turn), not only the banners


@dataclass
class Screen:
    """One wall screen: rotates and polls like the browser does, carrying its view versions."""

    port: int
    body: dict[str, Any]
    views: list[str]
    rotate_seconds: float
    refresh_seconds: float
    start: float = field(default_factory=lambda: time.monotonic() - random.uniform(0, 100))
    versions: dict[str, str] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0

    def asked(self, refresh_seconds: float) -> list[str]:
        """The view on screen, and the next one shortly before its turn, as wall.js asks."""
        elapsed = time.monotonic() - self.start
        turn = int(elapsed / self.rotate_seconds) % len(self.views)
        until_next = self.rotate_seconds - elapsed % self.rotate_seconds
        if until_next <= 2 * refresh_seconds + 1:
            return [self.views[turn], self.views[(turn + 1) % len(self.views)]]
        return [self.views[turn]]

    def refresh(self, views: list[str] | None = None) -> None:
        body = json.loads(json.dumps(self.body))
        body["inputs"][0]["value"] = {
            "at": time.time() * 1000,
            "views": views or self.asked(self.refresh_seconds),
        }
        for item in body["state"]:
            if item["id"] == "wall-version":
                item["value"] = self.versions
        payload = json.dumps(body).encode()
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                "POST",
                "/_dash-update-component",
                body=payload,
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            data = response.read()
        except OSError:
            self.errors += 1
            return
        finally:
            connection.close()
        client_ms = (time.perf_counter() - started) * 1000
        if response.status != 200:
            self.errors += 1
            return
        timing = response.getheader("Server-Timing", "app;dur=0")
        server_ms = float(timing.split("dur=")[1])
        outputs = json.loads(data)["response"]
        self.versions = outputs.get("wall-version", {}).get("data") or self.versions
        full = any(f"wall-{view}" in outputs for view in self.views)
        self.samples.append(Sample(server_ms, client_ms, len(data), full))


def writer(engine: Engine, stop: threading.Event, per_minute: float) -> None:
    """New scored messages at the demo's pace, through the real save path (rollups included)."""
    rng = random.Random(2)
    while not stop.wait(60 / per_minute):
        score_one(engine, rng)


def score_one(engine: Engine, rng: random.Random) -> None:
    """Store and score one message, as ingest and the worker would."""
    with session_scope(engine) as session:
        now = datetime.now(UTC)
        message = Message(
            source="bench_live",
            external_id=f"live-{time.time_ns()}",
            channel="review",
            text=rng.choice(TEXTS),
            created_at=now,
        )
        session.add(message)
        session.flush()
        session.add(MessageBrand(message_id=message.id or 0, brand="voltera", created_at=now))
        score = round(rng.uniform(-1, 1), 3)
        phase = MessagePhase(
            message_id=message.id or 0,
            phase="delivery",
            score=score,
            label=label_for(score),
            units=1,
        )
        save_scores(
            session,
            [ScoredMessage(message.id or 0, "nl", score, label_for(score), "bench", [], [phase])],
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(name: str, samples: list[Sample]) -> dict[str, Any]:
    server = [s.server_ms for s in samples]
    client = [s.client_ms for s in samples]
    return {
        "run": name,
        "refreshes": len(samples),
        "full": sum(s.full for s in samples),
        "server p50 ms": statistics.median(server) if server else 0.0,
        "server p95 ms": percentile(server, 95) if server else 0.0,
        "client p95 ms": percentile(client, 95) if client else 0.0,
        "kB/refresh": statistics.mean(s.bytes for s in samples) / 1024 if samples else 0.0,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(_fmt(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for row in rows:
        print("  ".join(_fmt(row[k]).ljust(widths[k]) for k in keys))


def _fmt(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the bench server on port {port} did not come up")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sse_probe(args: argparse.Namespace) -> None:
    """Push instead of polling: each open event stream holds one of waitress's threads.

    Opens 0..12 streams against the app served as `cxpulse web` serves it (8 threads) and times
    /healthz next to them: once the threads are all streaming, nothing else is answered."""
    url = args.database_url or f"sqlite:///{args.database}"
    settings = load_settings(database_url=url)
    prepare(url, settings, args.messages, args.days, rebuild=False)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "serve", "--database-url", url, "--port", str(port), "--sse"],
        cwd=ROOT,
    )
    streams: list[http.client.HTTPConnection] = []
    try:
        wait_for(port)
        print("open event streams  GET /healthz")
        for count in (0, 4, 7, 8, 12):
            while len(streams) < count:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", "/wall-sse-probe")
                streams.append(connection)
            time.sleep(1)  # let waitress hand each stream a thread
            started = time.perf_counter()
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                result = f"{(time.perf_counter() - started) * 1000:.1f} ms"
            except OSError:
                result = "no answer within 5 s"
            print(f"{count:>17}  {result}")
    finally:
        for connection in streams:
            connection.close()
        server.terminate()
        server.wait(10)


def run(args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite:///{args.database}"
    settings = load_settings(database_url=url)
    engine = prepare(url, settings, args.messages, args.days, args.rebuild)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "serve", "--database-url", url, "--port", str(port)],
        cwd=ROOT,
    )
    stop = threading.Event()
    try:
        wait_for(port)
        body = refresh_body(port, settings)
        refresh_seconds = settings.dashboard.refresh_seconds

        options = next(x["value"] for x in body["state"] if x["id"] == "wall-options")
        views, rotate = list(options["views"]), options["rotate_ms"] / 1000

        # Baseline, one screen alone: a message is scored before each refresh, so the view it
        # asks for (each in turn) is read and drawn; then the same with nothing new between.
        rng = random.Random(3)
        alone = Screen(port, body, views, rotate, refresh_seconds)
        for _ in range(3):
            alone.refresh()  # warm-up: first query plans, imports
        alone.samples.clear()
        for n in range(args.baseline):
            score_one(engine, rng)
            alone.refresh([views[n % len(views)]])  # each view in turn, every one redrawn
        new_alone, alone.samples = alone.samples, []
        for _ in range(args.baseline):
            alone.refresh()
        unchanged_alone = alone.samples

        # Load: N screens, each every refresh_seconds (random phase), while messages arrive.
        threading.Thread(target=writer, args=(engine, stop, args.per_minute), daemon=True).start()
        screens = [Screen(port, body, views, rotate, refresh_seconds) for _ in range(args.screens)]
        deadline = time.monotonic() + args.seconds

        def poll(screen: Screen) -> None:
            time.sleep(random.uniform(0, refresh_seconds))
            while time.monotonic() < deadline:
                tick = time.monotonic()
                screen.refresh()
                time.sleep(max(0.0, refresh_seconds - (time.monotonic() - tick)))

        threads = [threading.Thread(target=poll, args=(s,), daemon=True) for s in screens]
        print(
            f"{args.screens} screens polling every {refresh_seconds:g} s for {args.seconds} s, "
            f"{args.per_minute:g} new scored messages a minute ..."
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        loaded = [sample for screen in screens for sample in screen.samples]
        errors = sum(screen.errors for screen in screens)
    finally:
        stop.set()
        server.terminate()
        server.wait(10)
    rows = [
        summary("1 screen, new data", new_alone),
        summary("1 screen, nothing new", unchanged_alone),
        summary(f"{args.screens} screens", loaded),
    ]
    print()
    print_table(rows)
    base = rows[0]["server p95 ms"] or 1.0
    under = rows[2]["server p95 ms"]
    print(
        f"\nserver p95 under load {under:.1f} ms = {under / base:.2f}x one screen alone "
        f"({base:.1f} ms); goal <= 150 ms: {'OK' if under <= 150 else 'MISSED'}; "
        f"errors: {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    served = sub.add_parser("serve", help="(internal) the app under waitress, timed")
    served.add_argument("--database-url", required=True)
    served.add_argument("--port", type=int, required=True)
    served.add_argument("--threads", type=int, default=8)  # as `cxpulse web`
    served.add_argument("--sse", action="store_true", help="also serve an event stream")
    sub.add_parser("sse-probe", help="what open event streams (push) do to the web process")
    parser.add_argument("--database", default=DEFAULT_DB, help="SQLite file (reused if complete)")
    parser.add_argument("--database-url", help="instead of --database, e.g. postgresql://...")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="the messages span this many days")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--screens", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--baseline", type=int, default=40, help="refreshes of the lone screen")
    parser.add_argument("--per-minute", type=float, default=40, help="new scored messages")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.command == "serve":
        serve(args.database_url, args.port, args.threads, args.sse)
    elif args.command == "sse-probe":
        sse_probe(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
