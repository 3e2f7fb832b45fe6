"""Scale-out: scoring throughput with 1, 2 and 4 worker processes, and ingest-to-wall latency
(push → scored → on the live page's data) under a sustained push rate, against PostgreSQL.

Run from the repository root: `python bench/scale.py [--messages N] [--rate 50] [--seconds 60]`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from config import load_settings  # noqa: E402
from storage.db import make_engine, normalise_url, session_scope  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Message  # noqa: E402

TEXTS = (
    "Pakket kwam twee dagen te laat en de bezorger belde niet",
    "Top service, de medewerker in de chat hielp me meteen",
    "Betaling met iDEAL mislukte maar het geld was wel weg",
    "Mooie laptop, maar de accu gaat maar drie uur mee",
    "Retour aanmelden ging makkelijk, geld stond binnen twee dagen terug",
)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fresh_database(admin_url: str) -> str:
    name = f"cxpulse_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{normalise_url(admin_url).rsplit('/', 1)[0]}/{name}"


def _drop(admin_url: str, url: str) -> None:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def _insert(url: str, count: int, prefix: str) -> None:
    from storage.messages import store_batch

    engine = make_engine(url)
    now = datetime.now(UTC)
    rows = [
        Message(
            source="bench",
            external_id=f"{prefix}{i}",
            channel="review",
            text=f"{TEXTS[i % len(TEXTS)]} ({i})",
            created_at=now,
        )
        for i in range(count)
    ]
    with session_scope(engine) as session:
        store_batch(session, "bench", rows, {f"{prefix}{i}": ["voltera"] for i in range(count)})
    engine.dispose()


def _unscored(url: str) -> int:
    engine = make_engine(url)
    with session_scope(engine) as session:
        value = int(session.scalar(select(func.count()).where(Message.scored_at.is_(None))) or 0)
    engine.dispose()
    return value


def scoring_throughput(url: str, env: dict[str, str], workers: int, messages: int) -> float:
    """Messages/s for `workers` worker processes scoring a backlog of `messages` (model loaded)."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--log-level", "WARNING", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(15)  # model loading, not part of the measurement
        _insert(url, messages, f"w{workers}-")
        started = time.monotonic()
        while _unscored(url):
            time.sleep(0.2)
        return messages / (time.monotonic() - started)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)


def _wait_until_answering(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return
        except OSError:
            time.sleep(1)
    raise RuntimeError("the web process did not answer within 120 s")


def _push(port: int, token: str, external_id: str, text: str, created_at: datetime) -> None:
    body = {
        "messages": [
            {"external_id": external_id, "text": text, "created_at": created_at.isoformat()}
        ]
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/messages",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()


class WallWatcher:
    """Polls the wall's feed view over HTTP, as a wall screen's browser does, and notes when
    each probe marker first appears in what the server sends back."""

    def __init__(self, port: int, every: float) -> None:
        from bench.wall import refresh_body

        self.port = port
        self.every = every
        self.body = refresh_body(port, load_settings())
        self.body["inputs"][0]["value"] = {"at": 0, "views": ["feed"]}
        self.seen: dict[str, float] = {}
        self.refresh_ms: list[float] = []
        self.errors = 0

    def watch(self, markers: list[str], stop: threading.Event) -> None:
        while not stop.is_set():
            tick = time.monotonic()
            self.body["inputs"][0]["value"]["at"] = time.time() * 1000
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/_dash-update-component",
                data=json.dumps(self.body).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                page = urllib.request.urlopen(request, timeout=30).read().decode()
            except OSError:
                self.errors += 1
                page = ""
            now = time.time()
            self.refresh_ms.append((time.monotonic() - tick) * 1000)
            for marker in list(markers):
                if marker not in self.seen and marker in page:
                    self.seen[marker] = now
            time.sleep(max(0.0, self.every - (time.monotonic() - tick)))


def latency(
    url: str, env: dict[str, str], rate: float, seconds: float, workers: int = 2
) -> tuple[list[float], list[float], WallWatcher]:
    """Push `rate` messages/s for `seconds` into a real web process with `workers` scoring
    workers. Returns, per message, push → scored seconds; per probe, push → on the wall's feed
    (as served over HTTP) seconds; and the watcher with the wall's refresh times.

    Probes: every 2 s one pushed message carries a unique marker and a created_at a minute
    ahead, so it stays among the newest the feed shows until later probes push it out."""
    port = _port()
    token = uuid.uuid4().hex
    env = {**env, "CXPULSE_BENCH_PUSH": token}
    web = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "--log-level",
            "WARNING",
            "web",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    scorers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--log-level", "WARNING", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    sent: dict[str, float] = {}
    probes: dict[str, float] = {}
    stop = threading.Event()
    try:
        _wait_until_answering(port, web)
        time.sleep(15)  # the workers load their model meanwhile
        watcher = WallWatcher(port, every=0.5)
        markers: list[str] = []
        thread = threading.Thread(target=watcher.watch, args=(markers, stop), daemon=True)
        thread.start()
        started = time.monotonic()
        stop_at = started + seconds
        next_probe = started + 2
        i = 0
        while time.monotonic() < stop_at:
            external_id = f"lat-{i}"
            now = datetime.now(UTC)
            if time.monotonic() >= next_probe:
                marker = f"probe{i}x"
                markers.append(marker)
                sent[external_id] = probes[marker] = time.time()
                _push(
                    port, token, external_id, f"{marker} {TEXTS[i % 5]}", now + timedelta(minutes=1)
                )
                next_probe += 2
            else:
                sent[external_id] = time.time()
                _push(port, token, external_id, TEXTS[i % 5], now)
            i += 1
            # Keep the rate: the next message is due at started + i / rate.
            time.sleep(max(0.0, started + i / rate - time.monotonic()))
        deadline = time.monotonic() + 120
        while _unscored(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # the last probes' turn on the feed
        stop.set()
        thread.join(35)
        engine = make_engine(url)
        with session_scope(engine) as session:
            rows = session.execute(
                select(Message.external_id, Message.scored_at).where(Message.source == "push")
            ).all()
        engine.dispose()
        scored = [r.scored_at.timestamp() - sent[r.external_id] for r in rows if r.scored_at]
        on_wall = [watcher.seen[m] - probes[m] for m in probes if m in watcher.seen]
        missing = len(probes) - len(on_wall)
        if missing:
            print(f"{missing} of {len(probes)} probes never showed on the feed")
        achieved = i / seconds
        print(f"pushed {i} messages in {seconds:g} s ({achieved:.1f}/s)")
        return scored, on_wall, watcher
    finally:
        stop.set()
        for proc in (web, *scorers):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, *scorers):
            proc.wait(30)


def _quantiles(values: list[float]) -> str:
    if len(values) < 2:
        return "too few samples"
    q = statistics.quantiles(values, n=20, method="inclusive")
    return f"p50 {statistics.median(values):.2f} s, p95 {q[18]:.2f} s, max {max(values):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1500, help="backlog per worker count")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    parser.add_argument("--rate", type=float, default=50, help="pushed messages per second")
    parser.add_argument("--seconds", type=float, default=60, help="how long to push")
    parser.add_argument(
        "--latency-workers", type=int, default=2, help="scoring workers during the push run"
    )
    parser.add_argument(
        "--quantize", choices=("none", "int8"), default="none", help="sentiment.quantize"
    )
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    url = _fresh_database(args.postgres_url)
    config = Path(tempfile.mkdtemp()) / "scale.toml"
    config.write_text(
        (ROOT / "config" / "demo.toml")
        .read_text(encoding="utf-8")
        .replace('type = "demo"', 'type = "demo"\nenabled = false')
        .replace("threads = 1\n", f'threads = 1\nquantize = "{args.quantize}"\n', 1)
        + '\n[[sources]]\nkey = "push"\ntype = "push"\nbrand = "voltera"\n'
        'secret_env = "CXPULSE_BENCH_PUSH"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "CXPULSE_DATABASE_URL": url, "CXPULSE_CONFIG": str(config)}
    try:
        upgrade(url)
        print(
            f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores); "
            f"model {load_settings(config).sentiment.model}, quantize {args.quantize}"
        )
        results = {}
        for count in (int(n) for n in args.workers.split(",")):
            results[count] = scoring_throughput(url, env, count, args.messages)
            print(
                f"{count} worker(s): {results[count]:6.1f} msgs/s "
                f"({results[count] / results[min(results)]:.2f}x one worker)"
            )
        scored, on_wall, watcher = latency(
            url, env, args.rate, args.seconds, workers=args.latency_workers
        )
        print(
            f"push {args.rate:g}/s for {args.seconds:g} s, {args.latency_workers} workers, "
            f"{len(scored)} messages scored"
        )
        print(f"  push -> scored (stored with rollups):   {_quantiles(scored)}")
        print(f"  push -> on the wall's feed (HTTP poll): {_quantiles(on_wall)}")
        print(
            f"  wall feed refresh while loaded:         "
            f"{_quantiles([ms / 1000 for ms in watcher.refresh_ms])} "
            f"({watcher.errors} errors); a screen adds up to its refresh interval on top"
        )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    finally:
        config.unlink(missing_ok=True)
        _drop(args.postgres_url, url)


if __name__ == "__main__":
    main()
