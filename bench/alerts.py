"""Alert benchmark: detection delay of simulated incidents and false alerts in quiet weeks.

Measures the detector (alerts.detect), not the model: the simulator's truth is the score."""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alerts.detect import (  # noqa: E402
    Baseline,
    Counts,
    HourCount,
    assess,
    baseline_of,
    decide,
)
from config.settings import AlertsConfig  # noqa: E402
from ingest.sources.demo import DEFAULT_BRANDS, PHASES, DemoSource  # noqa: E402

MINUTE = timedelta(minutes=1)
Series = tuple[str, str]  # brand, phase
SERIES: tuple[Series, ...] = tuple((b.key, p) for b in DEFAULT_BRANDS for p in PHASES)
INCIDENT_SERIES: Series = ("voltera", "delivery")  # the demo's incidents are carrier failures
ALERT_WITHIN = timedelta(minutes=5)


@dataclass
class Timeline:
    """Per series and minute since `start`: mentions and negative mentions, as the DB counts."""

    start: datetime
    minutes: int
    mentions: dict[Series, list[int]] = field(default_factory=dict)
    negatives: dict[Series, list[int]] = field(default_factory=dict)
    first_incident_message: datetime | None = None  # earliest message an incident caused

    def __post_init__(self) -> None:
        for key in SERIES:
            self.mentions[key] = [0] * self.minutes
            self.negatives[key] = [0] * self.minutes


def simulate(
    source: DemoSource,
    start: datetime,
    end: datetime,
    incident: tuple[datetime, datetime] | None = None,
) -> Timeline:
    """Every message the simulator dates in [start, end), counted per customer-written phase."""
    timeline = Timeline(start, int((end - start) / MINUTE))
    # The simulator's time grid is internal; its first sequence number at `start` is the one
    # the demo source itself would fetch first (chat turns may date a little earlier).
    seq = source._first_seq_at((start - timedelta(minutes=10)).timestamp())
    while True:
        generated = source.generate(seq)
        seq += 1
        due = generated[-1].message.created_at  # a chat is due when it closes, at its last turn
        if due >= end:
            return timeline
        if incident is not None and incident[0] <= due < incident[1]:
            # A chat that closes during the incident began minutes earlier: its first turns
            # are the incident's first evidence, so the delay is measured from them.
            earliest = generated[0].message.created_at
            if (
                timeline.first_incident_message is None
                or earliest < timeline.first_incident_message
            ):
                timeline.first_incident_message = earliest
        for item in generated:
            message = item.message
            if message.turn_role not in (None, "customer"):
                continue  # agent and bot turns are context only; the scorer skips them too
            minute = int((message.created_at - start) / MINUTE)
            if minute < 0:
                continue
            for brand in message.brands:
                for phase, polarity in item.truth.items():
                    timeline.mentions[(brand, phase)][minute] += 1
                    timeline.negatives[(brand, phase)][minute] += polarity == "negative"


@dataclass(frozen=True)
class Opened:
    series: Series
    at: datetime
    ended: datetime | None


def replay(timeline: Timeline, config: AlertsConfig, first_check: int = 0) -> list[Opened]:
    """Run the detector every minute over the timeline, exactly as run_alerts decides."""
    window = config.window_minutes
    opened: list[Opened] = []
    for key in SERIES:
        mentions, negatives = timeline.mentions[key], timeline.negatives[key]
        cum_m, cum_n = _prefix(mentions), _prefix(negatives)
        hours = [
            HourCount(
                timeline.start + timedelta(hours=h),
                cum_m[min(60 * h + 60, len(mentions))] - cum_m[60 * h],
                cum_n[min(60 * h + 60, len(negatives))] - cum_n[60 * h],
            )
            for h in range(math.ceil(timeline.minutes / 60))
        ]
        baselines: dict[int, Baseline | None] = {}
        open_since: datetime | None = None
        last_ended: datetime | None = None
        for minute in range(max(window, first_check), timeline.minutes + 1):
            now = timeline.start + minute * MINUTE
            window_start = now - window * MINUTE
            hour = (minute - window) // 60  # the baseline only changes when this hour does
            if hour not in baselines:
                # baseline_of reads only hours that ended before the window: no peeking ahead.
                baselines[hour] = baseline_of(hours, window_start, timeline.start, config)
            baseline = baselines[hour]
            counts = Counts(
                cum_m[minute] - cum_m[minute - window], cum_n[minute] - cum_n[minute - window]
            )
            assessment = None if baseline is None else assess(counts, baseline, config)
            action = decide(assessment, open_since, last_ended, now, config)
            if action == "open":
                open_since = now
                opened.append(Opened(key, now, None))
            elif action == "close":
                open_since, last_ended = None, now
                opened[-1] = Opened(key, opened[-1].at, now)
    return opened


def _prefix(values: list[int]) -> list[int]:
    out = [0]
    for value in values:
        out.append(out[-1] + value)
    return out


# --- the two experiments ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentRun:
    seed: int
    incident_start: datetime  # the simulator's incident window opens (whole minute)
    delay: timedelta | None  # first alert on the incident series after its first message
    early: bool  # that alert came before the window opened, on chats backdated into it
    before: int  # alerts on any series before the incident's first message (false alerts)
    during_other: int  # alerts on other series after it (knock-on effects of the incident)


def incident_run(seed: int, rate: float, history_hours: int, config: AlertsConfig) -> IncidentRun:
    """One seeded run: `history_hours` of normal traffic, then an 8-minute demo incident."""
    # A cycle just over a day puts each seed's incident at a different time of day, and
    # guarantees no other incident in the history before it.
    cycle = 24 * 60 + 37 * seed + 11
    source = DemoSource(
        seed=seed, rate_per_minute=rate, incident_every_minutes=cycle, incident_minutes=8
    )
    base = datetime(2026, 11, 2, tzinfo=UTC).timestamp() / 60
    incident = datetime.fromtimestamp((math.floor(base / cycle) + 1) * cycle * 60, tz=UTC)
    start = (incident - timedelta(hours=history_hours)).replace(minute=0)
    window = (incident, incident + timedelta(minutes=8))
    timeline = simulate(source, start, incident + timedelta(minutes=30), window)
    # Chats that close in the incident window open minutes before it: their first turns are
    # the incident's first messages. An alert from then on is not a false one.
    first = min(timeline.first_incident_message or incident, incident)
    opened = replay(timeline, config)
    hits = [o.at for o in opened if o.series == INCIDENT_SERIES and o.at >= first]
    return IncidentRun(
        seed=seed,
        incident_start=incident,
        delay=max(min(hits) - incident, timedelta(0)) if hits else None,
        early=bool(hits) and min(hits) < incident,
        before=sum(o.at < first for o in opened),
        during_other=sum(o.at >= first and o.series != INCIDENT_SERIES for o in opened),
    )


def quiet_week(seed: int, rate: float, config: AlertsConfig) -> dict[Series, int]:
    """Seven days without incidents (plus a day of history first): alerts opened per series."""
    source = DemoSource(seed=seed, rate_per_minute=rate, incident_every_minutes=0)
    start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=7 * seed)
    timeline = simulate(source, start - timedelta(days=1), start + timedelta(days=7))
    counted: dict[Series, int] = defaultdict(int)
    for alert in replay(timeline, config, first_check=24 * 60):
        counted[alert.series] += 1
    return dict(counted)


# --- report -------------------------------------------------------------------------------------


def _in_parallel(function, jobs: list[tuple], workers: int) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    if workers <= 1:
        yield from (function(*job) for job in jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(function, *zip(*jobs, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100, help="seeded incident runs")
    parser.add_argument("--quiet-weeks", type=int, default=4, help="seeded incident-free weeks")
    parser.add_argument(
        "--naive-weeks", type=int, default=1, help="quiet weeks for the naive comparison"
    )
    parser.add_argument("--rate", type=float, default=40, help="demo messages per minute")
    parser.add_argument("--history-hours", type=int, default=6, help="normal traffic first")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    config = AlertsConfig()  # the defaults a fresh installation runs with
    naive = AlertsConfig(min_negatives=1, significance=0.999999, cooldown_minutes=0)
    print(
        "Detector only: the demo simulator's truth per phase is the score (no transformer).\n"
        f"Defaults: window {config.window_minutes} min, baseline {config.baseline} "
        f"(half-life {config.ewma_halflife_hours:g} h), min {config.min_negatives} negatives, "
        f"share +{config.share_rise:g} or volume x{config.volume_ratio:g}, "
        f"p <= {config.significance:g}, cooldown {config.cooldown_minutes} min.\n"
        f"Simulator: {args.rate:g} messages/min, 3 brands x 8 phases, incidents of 8 min in "
        f"{INCIDENT_SERIES[0]} x {INCIDENT_SERIES[1]}."
    )
    started = time.monotonic()
    jobs = [(seed, args.rate, args.history_hours, config) for seed in range(args.runs)]
    runs = list(_in_parallel(incident_run, jobs, args.workers))
    caught = [r for r in runs if r.delay is not None and r.delay <= ALERT_WITHIN]
    delays = sorted(r.delay.total_seconds() / 60 for r in runs if r.delay is not None)
    print(
        f"\nIncidents: alerted within 5 min in {len(caught)}/{len(runs)} runs "
        f"({len(caught) / max(len(runs), 1):.0%}); "
        f"missed entirely {sum(r.delay is None for r in runs)}; "
        f"alerted before the window opened (on backdated chat turns) {sum(r.early for r in runs)}"
    )
    if delays:
        print(
            f"  delay after incident start (min): median {statistics.median(delays):.0f}, "
            f"p95 {delays[min(len(delays) - 1, math.ceil(0.95 * len(delays)) - 1)]:.0f}, "
            f"max {delays[-1]:.0f}"
        )
    print(
        f"  false alerts before the incident ({args.history_hours} h x 24 series x "
        f"{len(runs)} runs): {sum(r.before for r in runs)}; knock-on alerts in other own-brand "
        f"phases during the incident: {sum(r.during_other for r in runs)}"
    )
    for label, settings, count in (
        ("defaults", config, args.quiet_weeks),
        ("naive: no min volume/significance", naive, args.naive_weeks),
    ):
        if not count:
            continue
        jobs = [(seed, args.rate, settings) for seed in range(count)]
        weeks = list(_in_parallel(quiet_week, jobs, args.workers))
        total = sum(sum(week.values()) for week in weeks)
        own = sum(n for week in weeks for (brand, _), n in week.items() if brand == "voltera")
        worst = max((n for week in weeks for n in week.values()), default=0)
        series_weeks = len(SERIES) * len(weeks)
        print(
            f"\nQuiet weeks, {label}: {len(weeks)} x 7 days x {len(SERIES)} series: "
            f"{total} false alerts = {total / series_weeks:.3f} per phase per week "
            f"(own brand {own / (8 * len(weeks)):.3f}); worst series-week {worst}"
        )
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
