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
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

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


def latency(url: str, env: dict[str, str], rate: float, seconds: float) -> list[float]:
    """Push `rate` messages/s for `seconds`; for each, seconds from push until it is scored."""
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
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--log-level", "WARNING", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    sent: dict[str, float] = {}
    try:
        _wait_until_answering(port, web)
        time.sleep(10)  # the workers load their model meanwhile
        stop = time.monotonic() + seconds
        i = 0
        while time.monotonic() < stop:
            external_id = f"lat-{i}"
            body = {
                "messages": [
                    {
                        "external_id": external_id,
                        "text": TEXTS[i % 5],
                        "created_at": datetime.now(UTC).isoformat(),
                    }
                ]
            }
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/messages",
                data=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
            sent[external_id] = time.time()
            urllib.request.urlopen(request, timeout=10).read()
            i += 1
            time.sleep(max(0.0, 1 / rate - 0.001))
        deadline = time.monotonic() + 120
        while _unscored(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        engine = make_engine(url)
        with session_scope(engine) as session:
            rows = session.execute(
                select(Message.external_id, Message.scored_at).where(Message.source == "push")
            ).all()
        engine.dispose()
        return [r.scored_at.timestamp() - sent[r.external_id] for r in rows if r.scored_at]
    finally:
        for proc in (web, *workers):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, *workers):
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1500, help="backlog per worker count")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    parser.add_argument("--rate", type=float, default=50, help="pushed messages per second")
    parser.add_argument("--seconds", type=float, default=60, help="how long to push")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    url = _fresh_database(args.postgres_url)
    config = Path(tempfile.mkdtemp()) / "scale.toml"
    config.write_text(
        (ROOT / "config" / "demo.toml")
        .read_text(encoding="utf-8")
        .replace('type = "demo"', 'type = "demo"\nenabled = false')
        + '\n[[sources]]\nkey = "push"\ntype = "push"\nbrand = "voltera"\n'
        'secret_env = "CXPULSE_BENCH_PUSH"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "CXPULSE_DATABASE_URL": url, "CXPULSE_CONFIG": str(config)}
    try:
        upgrade(url)
        print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        results = {}
        for count in (int(n) for n in args.workers.split(",")):
            results[count] = scoring_throughput(url, env, count, args.messages)
            print(
                f"{count} worker(s): {results[count]:6.1f} msgs/s "
                f"({results[count] / results[min(results)]:.2f}x one worker)"
            )
        delays = latency(url, env, args.rate, args.seconds)
        if delays:
            q = statistics.quantiles(delays, n=20)
            print(
                f"push {args.rate:g}/s for {args.seconds:g}s, 2 workers: {len(delays)} messages, "
                f"ingest-to-scored p50 {statistics.median(delays):.2f}s p95 {q[18]:.2f}s; "
                f"on the wall within one refresh after that"
            )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    finally:
        config.unlink(missing_ok=True)
        _drop(args.postgres_url, url)


if __name__ == "__main__":
    main()
