"""Explorer benchmark: server time of a filter change (all charts) and of a verbatim page, on
1,000,000 scored messages in SQLite and PostgreSQL; baseline: the same charts from messages.

Prints p50/p95 per kind of filter and the ratio to the message-level baseline in the same run."""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402

from config import load_settings  # noqa: E402
from sentiment.labels import label_for  # noqa: E402
from storage import rollups  # noqa: E402
from storage.catalogue import sync_catalogue  # noqa: E402
from storage.db import make_engine, normalise_url, session_scope  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Message  # noqa: E402

log = logging.getLogger("bench.explorer")
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite

# (phase, polarity, language, sentence): the texts the complaint terms are counted from.
SENTENCES: tuple[tuple[str, int, str, str], ...] = (
    ("orientation", 1, "nl", "De website gaf goede productinformatie."),
    ("orientation", -1, "nl", "De specificaties op de website kloppen niet."),
    ("purchase", 1, "nl", "Bestellen ging snel en makkelijk."),
    ("purchase", -1, "nl", "Het product was alweer uitverkocht."),
    ("purchase", -1, "en", "The price went up at checkout."),
    ("payment", -1, "nl", "Ik ben twee keer afgeschreven voor dezelfde bestelling."),
    ("payment", 1, "en", "Paying with iDEAL was quick."),
    ("delivery", -1, "nl", "Het pakket kwam twee dagen te laat."),
    ("delivery", -1, "nl", "De bezorger belde niet aan en nam het pakket weer mee."),
    ("delivery", -1, "en", "The parcel arrived too late and damaged."),
    ("delivery", 1, "nl", "Het pakket werd keurig op tijd bezorgd."),
    ("delivery", 1, "en", "Fast delivery, it arrived the next morning."),
    ("use", 1, "nl", "De laptop werkt prima en de batterij houdt lang."),
    ("use", 1, "en", "Great sound quality on these headphones."),
    ("use", -1, "nl", "Het scherm was na een week kapot."),
    ("service", -1, "nl", "De klantenservice reageerde pas na een week."),
    ("service", -1, "nl", "Lange wachttijd aan de telefoon bij de klantenservice."),
    ("service", -1, "en", "Customer service never answered my email."),
    ("service", 1, "nl", "De medewerker in de chat was erg behulpzaam."),
    ("returns", -1, "nl", "Retour sturen is een drama, nog steeds geen geld terug."),
    ("returns", 1, "en", "Returning the charger was easy."),
    ("loyalty", 1, "nl", "Ik raad deze winkel iedereen aan."),
    ("loyalty", -1, "en", "Never again at this shop."),
)
# One message in RARE_EVERY also names the courier: a word the text index finds in a few
# hundred messages of 30 days, where LIKE/ILIKE read every message of the period.
RARE_EVERY = 2_000
RARE_SENTENCE = " Bezorger Zwartwoud zette het pakket bij de buren."
BRANDS = (("voltera", 0.55), ("stroomz", 0.25), ("kabelhuis", 0.15), (None, 0.05))
CHANNELS = (("review", 0.45), ("social", 0.4), ("chat", 0.15))
SOURCES = {"review": ("appstore", "trustpilot"), "social": ("x",), "chat": ("zendesk",)}


@dataclass
class Data:
    """Rows in database order, shared by both targets (generated once)."""

    messages: list[tuple[Any, ...]]
    brands: list[tuple[int, str, datetime]]  # message id, brand, the message's created_at
    phases: list[tuple[int, str, float, str, int]]
    units: list[tuple[int, int, int, str, str, float, str]]
    mentions: list[rollups.PhaseMention]
    start: datetime
    end: datetime


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    value = rng.random()
    for item, share in weighted:
        if value < share:
            return item
        value -= share
    return weighted[0][0]


def generate(count: int, days: int, seed: int = 11) -> Data:
    """`count` scored customer messages over `days` days up to the current hour, oldest first."""
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    span = int((end - start).total_seconds())
    offsets = sorted(rng.randrange(span) for _ in range(count))
    messages, brand_rows, phase_rows, unit_rows, mentions = [], [], [], [], []
    unit_id = 0
    for i, offset in enumerate(offsets, start=1):
        created = start + timedelta(seconds=offset)
        brand = _pick(rng, BRANDS)
        channel = _pick(rng, CHANNELS)
        source = rng.choice(SOURCES[channel])
        picked = rng.sample(SENTENCES, k=rng.choice((1, 2, 2, 3)))
        scores: dict[str, list[float]] = {}
        for position, (phase, polarity, _lang, sentence) in enumerate(picked):
            score = round(polarity * rng.uniform(0.25, 0.95), 3)
            scores.setdefault(phase, []).append(score)
            if i > count - count // 10:
                # Sentence scores only for the newest tenth: the complaint terms read the newest
                # 5,000 negative sentences, and loading 2 million rows would double the setup.
                unit_id += 1
                unit_rows.append((unit_id, i, position, sentence, phase, score, label_for(score)))
        means = {p: sum(s) / len(s) for p, s in scores.items()}
        sentiment = sum(s for ss in scores.values() for s in ss) / len(picked)
        rating = None
        if channel == "review":
            value = 3.3 + 1.5 * means.get("delivery", 0) + means.get("service", 0)
            value += 0.4 * means.get("use", 0) + rng.gauss(0, 0.5)
            rating = float(min(5, max(1, round(value))))
        body = " ".join(p[3] for p in picked)
        if i % RARE_EVERY == 0:
            body += RARE_SENTENCE  # a rare word, without drawing from rng (the rest stays put)
        messages.append(
            (
                i,
                source,
                f"{source}-{i}",
                channel,
                picked[0][2],
                body,
                created,
                rating,
                f"{source}-c{i}" if channel == "chat" else None,
                "customer" if channel == "chat" else None,
                sentiment,
                label_for(sentiment),
            )
        )
        if brand is not None:
            brand_rows.append((i, brand, created))
        for phase, mean in means.items():
            label = label_for(mean)
            phase_rows.append((i, phase, mean, label, len(scores[phase])))
            mentions.append(
                rollups.PhaseMention(
                    created, channel, (brand,) if brand else (), phase, mean, label
                )
            )
    return Data(messages, brand_rows, phase_rows, unit_rows, mentions, start, end)


# --- loading -------------------------------------------------------------------------------

MESSAGE_COLUMNS = (
    "id, source, external_id, channel, language, text, created_at, ingested_at, rating, "
    "conversation_id, turn_role, redactions, scored_at, sentiment, sentiment_label, model"
)


def _message_row(row: tuple[Any, ...], now: datetime, as_text: bool) -> tuple[Any, ...]:
    (i, source, external, channel, language, body, created, rating, conv, role, score, label) = row
    moment = created.strftime(SQLITE_TIME) if as_text else created
    stamp = now.strftime(SQLITE_TIME) if as_text else now
    return (
        i,
        source,
        external,
        channel,
        language,
        body,
        moment,
        stamp,
        rating,
        conv,
        role,
        0,
        stamp,
        score,
        label,
        "bench@1",
    )


def _secondary_indexes(engine: Engine) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the message and message_brand tables' secondary indexes:
    the models' and, on PostgreSQL, the trigram index of migration 0006 (as the database has
    it)."""
    from sqlalchemy.schema import CreateIndex

    from storage.models import TEXT_SEARCH_INDEX, MessageBrand

    tables = (Message.__table__, MessageBrand.__table__)  # type: ignore[attr-defined]
    indexes = [
        (index.name, str(CreateIndex(index).compile(dialect=engine.dialect)))
        for table in tables
        for index in table.indexes
    ]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            indexes += list(
                connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = :n"),
                    {"n": TEXT_SEARCH_INDEX},
                )
            )
    return indexes


def _text_triggers(engine: Engine) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the triggers that keep SQLite's FTS5 table in sync."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'message'"
                )
            )
        )


def load(engine: Engine, data: Data) -> None:
    """Bulk load: secondary indexes off, big transactions, indexes back on, statistics."""
    now = datetime.now(UTC)
    dialect = engine.dialect.name
    indexes = _secondary_indexes(engine)
    # Like the indexes, the text index is built once after the load (FTS5 'rebuild'), not
    # row by row through its triggers; ingest keeps it through them (store_batch).
    triggers = _text_triggers(engine)
    with engine.begin() as connection:
        for name, _ in indexes:
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
        for name, _ in triggers:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if dialect == "sqlite":
            rows = (_message_row(m, now, True) for m in data.messages)
            cursor.executemany(
                f"INSERT INTO message ({MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 16)})", rows
            )
            cursor.executemany(
                "INSERT INTO message_brand (message_id, brand, created_at) VALUES (?, ?, ?)",
                ((i, brand, created.strftime(SQLITE_TIME)) for i, brand, created in data.brands),
            )
            cursor.executemany(
                "INSERT INTO message_phase (message_id, phase, score, label, units) "
                "VALUES (?, ?, ?, ?, ?)",
                data.phases,
            )
            cursor.executemany(
                "INSERT INTO unit_score (id, message_id, position, text, phase, score, label, "
                "confidence, model, model_revision) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 0.9, 'bench', '1')",
                data.units,
            )
        else:
            with cursor.copy(f"COPY message ({MESSAGE_COLUMNS}) FROM STDIN") as copy:
                for m in data.messages:
                    copy.write_row(_message_row(m, now, False))
            with cursor.copy(
                "COPY message_brand (message_id, brand, created_at) FROM STDIN"
            ) as copy:
                for row in data.brands:
                    copy.write_row(row)
            with cursor.copy(
                "COPY message_phase (message_id, phase, score, label, units) FROM STDIN"
            ) as copy:
                for row in data.phases:
                    copy.write_row(row)
            with cursor.copy(
                "COPY unit_score (id, message_id, position, text, phase, score, label, "
                "confidence, model, model_revision) FROM STDIN"
            ) as copy:
                for row in data.units:
                    copy.write_row((*row, 0.9, "bench", "1"))
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('message', 'id'), "
                "(SELECT max(id) FROM message))"
            )
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        for _, create in indexes:
            connection.execute(text(create))
        if triggers:
            connection.execute(text("INSERT INTO message_fts (message_fts) VALUES ('rebuild')"))
        for _, create in triggers:
            connection.execute(text(create))
    with session_scope(engine) as session:
        # The same definition the worker applies incrementally (storage.rollups.contributions).
        rollups.apply(session, rollups.contributions(data.mentions))
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


# --- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(name: str, repeats: int, call: Callable[[], Any]) -> Timing:
    call()  # one warm-up: the first read of a table pays for the page cache, as after a restart
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return Timing(name, seconds)


CHART_FILTERS: tuple[tuple[str, str], ...] = (
    ("default (7 days)", ""),
    ("24 hours", "period=24h"),
    ("30 days", "period=30d"),
    ("90 days (everything)", "period=90d"),
    ("brand", "brand=voltera"),
    ("brand + phase, 30 days", "brand=stroomz&phase=delivery&period=30d"),
    ("channel", "channel=review"),
    ("language (message path)", "language=en"),
    ("source (message path)", "source=trustpilot"),
    ("sentiment ≤ -0.5 (message path)", "max=-0.5"),
    ("text search (message path)", "q=klantenservice"),
    ("rare text search, 30 days (message path)", "q=uitverkocht&period=30d&brand=kabelhuis"),
    ("rare word (1 in 2,000 messages), 30 days", "q=zwartwoud&period=30d"),
    ("word in no message, 90 days", "q=zwartwater&period=90d"),
    ("unhandled only (message path)", "unhandled=1"),
)
PAGE_CASES: tuple[tuple[str, str, int, str, bool], ...] = (
    ("first page, newest first", "", 0, "created_at", True),
    ("page 21 (rows 1000-1049)", "", 1000, "created_at", True),
    ("sorted by sentiment, worst first", "period=30d", 0, "sentiment", False),
    ("sorted by rating, lowest first", "period=30d", 0, "rating", False),
    ("brand + phase", "brand=kabelhuis&phase=returns", 0, "created_at", True),
    ("text search", "q=bezorger", 0, "created_at", True),
    ("sentiment ≤ -0.5 + channel", "max=-0.5&channel=social", 0, "created_at", True),
)


def baseline_groups(engine: Engine, f: Any) -> int:
    """The baseline: the charts' grouped numbers straight from every phase score of the
    period (what the explorer would read without rollups), grouped by day as the charts are."""
    from sqlalchemy import func, select

    from storage.models import MessageBrand, MessagePhase

    day = func.date(Message.created_at)
    query = (
        select(
            day,
            MessageBrand.brand,
            MessagePhase.phase,
            Message.channel,
            func.count(),
            func.sum(MessagePhase.score),
        )
        .join(MessagePhase, MessagePhase.message_id == Message.id)
        .outerjoin(MessageBrand, MessageBrand.message_id == Message.id)
        .where(Message.created_at >= f.since, Message.created_at < f.until)
        .group_by(day, MessageBrand.brand, MessagePhase.phase, Message.channel)
    )
    with session_scope(engine) as session:
        return len(session.execute(query).all())


def wanted(name: str, cases: Sequence[str]) -> bool:
    """True when no --cases were given, or `name` contains one of them (case-insensitive)."""
    return not cases or any(c.lower() in name.lower() for c in cases)


def measure(engine: Engine, repeats: int, cases: Sequence[str] = ()) -> dict[str, list[Timing]]:
    """Server time of what the page's callbacks do: build the filter from the URL, read, draw.

    With `cases`, only the chart and page cases whose names contain one of them are timed."""
    from zoneinfo import ZoneInfo

    from dashboard.components import explore_charts as charts
    from dashboard.components.explore_drivers import estimate
    from dashboard.components.explore_filters import parse_query, to_filter
    from dashboard.components.explore_terms import top_terms
    from storage.explore import (
        DayCache,
        negative_units,
        overview,
        phases,
        rated_messages,
        verbatims,
    )
    from storage.queries import brands

    zone = ZoneInfo("Europe/Amsterdam")
    days = DayCache(zone)  # as one web process keeps it

    def charts_for(query: str, cache: DayCache | None = days) -> None:
        f = to_filter(parse_query(query), zone)
        with session_scope(engine) as session:
            result = overview(session, f, zone, cache)
            phase_list = phases(session)
            names = {b.key: b.name for b in brands(session)}
        charts.trend_figure(result, phase_list, f.since, f.until, zone, "nl")
        charts.heatmap_figure(result, phase_list, names, "nl")
        charts.journey_figure(result, phase_list, "nl")
        charts.channel_figure(result, f.since, f.until, zone, "nl")
        charts.distribution_figure(result, "nl")

    def page(query: str, offset: int, sort: str, descending: bool) -> None:
        f = to_filter(parse_query(query), zone)
        with session_scope(engine) as session:
            rows = verbatims(session, f, offset, 50, sort, descending)
        assert rows, f"no rows for {query!r}"

    def terms(query: str) -> None:
        f = to_filter(parse_query(query), zone)
        with session_scope(engine) as session:
            units = negative_units(session, f)
        top_terms(units)

    def drivers(query: str) -> None:
        f = to_filter(parse_query(query), zone)
        with session_scope(engine) as session:
            rated = rated_messages(session, f)
            keys = [p.key for p in phases(session)]
        estimate(rated.ratings, rated.phase_scores, keys)

    results: dict[str, list[Timing]] = {
        "charts": [],
        "cold": [],
        "warmed": [],
        "baseline": [],
        "pages": [],
        "other": [],
    }
    for name, query in CHART_FILTERS:
        if not wanted(name, cases):
            continue
        results["charts"].append(timed(name, repeats, lambda q=query: charts_for(q)))
        log.info("charts %-42s p95 %.0f ms", name, results["charts"][-1].p95 * 1000)
    for name, query, offset, sort, descending in PAGE_CASES:
        if not wanted(name, cases):
            continue
        results["pages"].append(
            timed(name, repeats, lambda a=(query, offset, sort, descending): page(*a))
        )
        log.info("page   %-42s p95 %.0f ms", name, results["pages"][-1].p95 * 1000)
    if cases:
        return results
    # A fresh web process: its first long-period chart reads every day's rollups itself.
    for name, query in CHART_FILTERS[2:4]:
        results["cold"].append(
            timed(name, max(3, repeats // 4), lambda q=query: charts_for(q, DayCache(zone)))
        )
    # The same process with its day cache warmed at start-up (create_app calls DayCache.warm):
    # the first chart, timed once the background fill is done.
    for name, query in CHART_FILTERS[2:4]:
        seconds = []
        for _ in range(max(3, repeats // 4)):
            fresh = DayCache(zone)
            fresh.warm(engine)
            assert fresh.ready.wait(120), "the day cache was not filled in 120 s"
            fresh.stop()
            started = time.perf_counter()
            charts_for(query, fresh)
            seconds.append(time.perf_counter() - started)
        results["warmed"].append(Timing(name, seconds))
    for name, query in CHART_FILTERS[:4]:
        f = to_filter(parse_query(query), zone)
        results["baseline"].append(
            timed(name, max(3, repeats // 4), lambda f=f: baseline_groups(engine, f))
        )
    results["other"].append(timed("complaint terms, default filter", repeats, lambda: terms("")))
    results["other"].append(timed("score drivers, default filter", repeats, lambda: drivers("")))
    results["other"].append(
        timed("score drivers, 90 days", max(3, repeats // 3), lambda: drivers("period=90d"))
    )
    return results


def _table(header: str, timings: list[Timing], together: str = "") -> None:
    """One Markdown table of p50/p95 rows (nothing when no case of it was timed)."""
    if not timings:
        return
    print(f"\n| {header} | p50 ms | p95 ms |")
    print("| --- | ---: | ---: |")
    for timing in timings:
        print(f"| {timing.name} | {timing.p50 * 1000:.0f} | {timing.p95 * 1000:.0f} |")
    if together:
        every = [s for timing in timings for s in timing.seconds]
        print(
            f"| **{together}** | {statistics.median(every) * 1000:.0f} | "
            f"**{Timing('all', every).p95 * 1000:.0f}** |"
        )


def report(title: str, results: dict[str, list[Timing]]) -> None:
    print(f"\n## {title}")
    _table(
        "filter change: all five charts + KPIs", results["charts"], "all filter changes together"
    )
    _table("first long chart of a fresh web process, no warm-up (the fill)", results["cold"])
    _table("first long chart of a fresh web process, days warmed at start-up", results["warmed"])
    if results["baseline"]:
        print("\n| baseline: the same groups from every phase score | p50 ms | ratio to rollups |")
        print("| --- | ---: | ---: |")
        by_name = {t.name: t for t in results["charts"]}
        for timing in results["baseline"]:
            ratio = timing.p50 / by_name[timing.name].p50
            print(f"| {timing.name} | {timing.p50 * 1000:.0f} | {ratio:.1f}× |")
    _table("verbatim table page (50 rows)", results["pages"], "all pages together")
    _table("other callbacks (not part of the 500 ms budget)", results["other"])


def prepared(url: str) -> Engine:
    upgrade(url)
    engine = make_engine(url)
    settings = load_settings()
    with session_scope(engine) as session:
        sync_catalogue(session, settings.brands, settings.phases, settings.sources)
        for key in ("appstore", "trustpilot", "x", "zendesk"):
            session.execute(
                text("INSERT INTO source (key, type) VALUES (:k, 'push') ON CONFLICT DO NOTHING"),
                {"k": key},
            )
    return engine


def run_target(title: str, url: str, data: Data, repeats: int, cases: Sequence[str]) -> None:
    engine = prepared(url)
    try:
        started = time.perf_counter()
        load(engine, data)
        print(
            f"\n{title}: loaded {len(data.messages):,} messages, {len(data.phases):,} phase "
            f"scores, {len(data.units):,} sentence scores in {time.perf_counter() - started:.0f} s"
        )
        report(title, measure(engine, repeats, cases))
    finally:
        engine.dispose()


def postgres_database(url: str) -> Iterator[str]:
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    name = f"cxpulse_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield normalise_url(url).rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="spread the messages over N days")
    parser.add_argument("--repeats", type=int, default=12, help="timed runs per case")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--sqlite-path", default="var/bench-explorer.db")
    parser.add_argument(
        "--cases",
        action="append",
        default=[],
        metavar="TEXT",
        help="time only the chart and page cases whose name contains TEXT (repeatable; "
        "e.g. --cases brand --cases 'rare text'); skips the fresh-process, baseline and "
        "other-callback timings",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()
    data = generate(args.messages, args.days)
    print(
        f"generated {len(data.messages):,} messages over {args.days} days "
        f"in {time.perf_counter() - started:.0f} s"
    )
    if not args.skip_sqlite:
        path = Path(args.sqlite_path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        run_target("SQLite", f"sqlite:///{path}", data, args.repeats, args.cases)
    if not args.skip_postgres:
        try:
            probe = create_engine(normalise_url(args.postgres_url))
            with probe.connect() as connection:
                connection.execute(text("SELECT 1"))
            probe.dispose()
        except Exception as exc:  # no server: say so and go on
            print(f"\nPostgreSQL skipped: {args.postgres_url} not reachable ({exc})")
        else:
            for url in postgres_database(args.postgres_url):
                run_target("PostgreSQL", url, data, args.repeats, args.cases)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
