"""Alert detection: a sudden rise of negative mentions in one brand × phase against its baseline.

The verdict is a pure function of counts, shared by `run_alerts` (storage) and bench/alerts.py."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerts.notify import notify
from config.settings import AlertsConfig, Settings
from storage.alert_queries import hourly_counts, window_counts
from storage.alerts import active_alerts, alerts_between, close_alert, open_alert
from storage.db import session_scope
from storage.models import Alert

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
# Laplace smoothing of the baseline share: a phase with little history is not taken to be
# perfectly positive (share 0), which would make its first complaint look like a spike.
_PRIOR_NEGATIVES, _PRIOR_MENTIONS = 1.0, 2.0
_MIN_EXPECTED = 0.1  # expected negatives in a window are never taken as exactly zero

Action = Literal["open", "close", "keep", "none"]


@dataclass(frozen=True)
class Counts:
    """Mentions of one brand × phase and how many of them were negative."""

    mentions: int
    negatives: int


@dataclass(frozen=True)
class HourCount:
    """One hourly rollup bucket of a brand × phase, summed over channels."""

    bucket: datetime
    mentions: int
    negatives: int


@dataclass(frozen=True)
class Baseline:
    """What is normal for a brand × phase just before the window, and how much evidence that is.

    The evidence is kept as (weighted) counts, so the tests weigh a thin history as thin."""

    share: float  # expected negative share of mentions
    negatives_per_hour: float
    mentions: int  # mentions in the history it rests on (unweighted)
    method: str  # how it was computed, for the "why"
    share_mentions: float  # the history behind `share`: mentions and negatives (EWMA-weighted)
    share_negatives: float
    volume_hours: float  # the history behind `negatives_per_hour`: hours and negatives
    volume_negatives: float


@dataclass(frozen=True)
class Assessment:
    window: Counts
    baseline: Baseline
    expected_negatives: float  # in a window of the configured length
    rising: bool
    subsided: bool
    test: str  # which rise triggered: "share", "volume" or "share and volume"; "" if none

    @property
    def share(self) -> float | None:
        return self.window.negatives / self.window.mentions if self.window.mentions else None


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def baseline_of(
    hours: Sequence[HourCount],
    window_start: datetime,
    data_since: datetime,
    config: AlertsConfig,
) -> Baseline | None:
    """The baseline from complete hourly buckets before the window; None with too little history.

    `data_since` is the first hour any data exists: hours before it are unknown, not quiet."""
    end = floor_hour(window_start)  # only hours that ended before the window started
    start = max(floor_hour(data_since), end - config.baseline_hours * HOUR)
    by_bucket = {h.bucket: h for h in hours if start <= h.bucket < end}
    mentions = sum(h.mentions for h in by_bucket.values())
    if end <= start or mentions < config.min_baseline_mentions:
        return None
    weight_sum = weighted_mentions = weighted_negatives = 0.0
    bucket = start
    while bucket < end:
        # Age in hours of the bucket's middle; the newest bucket counts most.
        age = (end - bucket) / HOUR - 0.5
        weight = 0.5 ** (age / config.ewma_halflife_hours)
        row = by_bucket.get(bucket)
        weight_sum += weight
        if row is not None:
            weighted_mentions += weight * row.mentions
            weighted_negatives += weight * row.negatives
        bucket += HOUR
    share = (weighted_negatives + _PRIOR_NEGATIVES) / (weighted_mentions + _PRIOR_MENTIONS)
    hours_used = (end - start) / HOUR
    method = f"EWMA (half-life {config.ewma_halflife_hours:g} h) over {hours_used:.0f} h"
    volume_hours, volume_negatives = weight_sum, weighted_negatives
    if config.baseline == "hour_of_week":
        same_hour = _same_hour_of_week(hours, window_start, data_since, config)
        if same_hour is not None:
            volume_hours, volume_negatives = same_hour
            method += f"; volume: same hour of the week over {volume_hours:.0f} weeks"
        else:
            method += "; volume: EWMA (not yet 2 weeks of same-hour history)"
    return Baseline(
        share=share,
        negatives_per_hour=volume_negatives / volume_hours,
        mentions=mentions,
        method=method,
        share_mentions=weighted_mentions,
        share_negatives=weighted_negatives,
        volume_hours=volume_hours,
        volume_negatives=volume_negatives,
    )


def _same_hour_of_week(
    hours: Sequence[HourCount], window_start: datetime, data_since: datetime, config: AlertsConfig
) -> tuple[float, int] | None:
    """(hours, negatives) of this hour of the week in the past weeks that have data."""
    # The hour holding the window's middle. Same UTC hour: across a DST change the local hour is
    # off by one for that one week, which the volume ratio absorbs.
    wanted = floor_hour(window_start + timedelta(minutes=config.window_minutes / 2))
    negatives = {h.bucket: h.negatives for h in hours}
    first = floor_hour(data_since)
    weeks = [wanted - k * WEEK for k in range(1, config.baseline_weeks + 1)]
    weeks = [bucket for bucket in weeks if bucket >= first]
    if len(weeks) < min(2, config.baseline_weeks):
        return None
    return float(len(weeks)), float(sum(negatives.get(bucket, 0) for bucket in weeks))


def assess(window: Counts, baseline: Baseline, config: AlertsConfig) -> Assessment:
    """Is the window's negativity a significant rise over the baseline, or back to normal?"""
    k, n = window.negatives, window.mentions
    expected = max(baseline.negatives_per_hour * config.window_minutes / 60, _MIN_EXPECTED)
    share = k / n if n else None
    enough = k >= config.min_negatives
    # Cheap thresholds first: the tail probabilities are only computed for candidates. Both
    # tests compare the window with the history as two samples (Fisher's exact test for the
    # share, the conditional binomial test for the rate), so a thin history alarms less easily.
    share_rise = (
        enough
        and share is not None
        and share >= baseline.share + config.share_rise
        and hypergeometric_tail(
            k,
            n,
            k + round(baseline.share_negatives),
            n + round(baseline.share_mentions),
        )
        <= config.significance
    )
    window_hours = config.window_minutes / 60
    volume_rise = (
        enough
        and k >= config.volume_ratio * expected
        and binomial_tail(
            k,
            k + round(baseline.volume_negatives),
            window_hours / (window_hours + baseline.volume_hours),
        )
        <= config.significance
    )
    # Hysteresis: an alert ends only once both signals are back below half their thresholds.
    calm_share = share is None or share < baseline.share + config.share_rise / 2
    calm_volume = k < (1 + (config.volume_ratio - 1) / 2) * expected
    test = " and ".join(
        name for name, hit in (("share", share_rise), ("volume", volume_rise)) if hit
    )
    return Assessment(
        window=window,
        baseline=baseline,
        expected_negatives=expected,
        rising=bool(share_rise or volume_rise),
        subsided=not enough or (calm_share and calm_volume),
        test=test,
    )


def decide(
    assessment: Assessment | None,
    open_since: datetime | None,
    last_ended: datetime | None,
    now: datetime,
    config: AlertsConfig,
) -> Action:
    """Open, close or keep the alert of one brand × phase (None: no baseline, nothing changes)."""
    if open_since is not None:
        return "close" if assessment is not None and assessment.subsided else "keep"
    if assessment is None or not assessment.rising:
        return "none"
    if last_ended is not None and now - last_ended < timedelta(minutes=config.cooldown_minutes):
        return "none"  # the same trouble flapping around the threshold is one alert, not many
    return "open"


def why(
    assessment: Assessment,
    brand_name: str,
    phase_name: str,
    now: datetime,
    config: AlertsConfig,
    timezone: str = "UTC",
) -> str:
    """One sentence a manager can check: observed vs expected, with the window and baseline."""
    w, b = assessment.window, assessment.baseline
    until = now.astimezone(ZoneInfo(timezone)).strftime("%H:%M %Z")
    return (
        f"{brand_name} · {phase_name}: {w.negatives} of {w.mentions} mentions negative "
        f"({_pct(assessment.share)}) in the {config.window_minutes} min up to {until}; "
        f"expected {assessment.expected_negatives:.1f} negative ({_pct(b.share)}) from the "
        f"baseline, {b.method}. Rise in {assessment.test or 'neither'}."
    )


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


# --- tail probabilities, exact, without SciPy ----------------------------------------------------


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k, n + 1):
        term = math.exp(
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * log_p
            + (n - i) * log_q
        )
        total += term
        # Above the mean the terms only shrink; stop once they no longer matter.
        if i > n * p and term < total * 1e-12:
            break
    return min(total, 1.0)


def hypergeometric_tail(k: int, draws: int, successes: int, population: int) -> float:
    """P(X >= k) for X ~ Hypergeometric: `draws` taken from `population` holding `successes`."""
    top = min(draws, successes)
    if k <= max(0, draws - (population - successes)):
        return 1.0
    if k > top:
        return 0.0

    def log_choose(a: int, b: int) -> float:
        return math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)

    whole = log_choose(population, draws)
    mean = draws * successes / population
    total = 0.0
    for i in range(k, top + 1):
        term = math.exp(
            log_choose(successes, i) + log_choose(population - successes, draws - i) - whole
        )
        total += term
        if i > mean and term < total * 1e-12:
            break
    return min(total, 1.0)


# --- against storage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What one run did to one brand × phase."""

    brand: str
    phase: str
    action: Action
    alert: Alert


def run_alerts(engine: Engine, settings: Settings, now: datetime) -> list[Alert]:
    """Check every brand × phase once: open alerts on a rise, close them once it subsides.

    Returns the alerts opened by this run (and notifies about them). Run it every minute, in
    one process (the scheduler leader): two runs at once could both open the same alert."""
    config = settings.alerts
    if not config.enabled:
        return []
    changes = detect(engine, settings, now)
    opened = [c.alert for c in changes if c.action == "open"]
    for change in changes:
        log.info(
            "alert %s: %s for %s × %s", change.alert.id, change.action, change.brand, change.phase
        )
    if opened:
        notify(settings, opened)
    return opened


def detect(engine: Engine, settings: Settings, now: datetime) -> list[Change]:
    """The storage side of one run: read counts, decide per brand × phase, store the outcome."""
    config = settings.alerts
    window_start = now - timedelta(minutes=config.window_minutes)
    history = config.baseline_hours
    if config.baseline == "hour_of_week":
        history = max(history, config.baseline_weeks * 7 * 24 + 1)
    names = {b.key: b.name for b in settings.brands}
    brands = [b.key for b in settings.brands if b.own or not config.own_brands_only]
    phases = {p.key: p.label("en") for p in settings.phases}
    changes: list[Change] = []
    with session_scope(engine) as session:
        window = {
            key: Counts(mentions, negatives)
            for key, (mentions, negatives) in window_counts(session, window_start, now).items()
        }
        rows, data_since = hourly_counts(session, floor_hour(window_start) - history * HOUR, now)
        hours = {key: [HourCount(*row) for row in series] for key, series in rows.items()}
        open_now = {(a.brand, a.phase): a for a in active_alerts(session)}
        cooldown_start = now - timedelta(minutes=config.cooldown_minutes)
        last_ended: dict[tuple[str, str], datetime] = {}
        for alert in alerts_between(session, cooldown_start, now):
            if alert.ended_at is not None:
                key = (alert.brand, alert.phase)
                last_ended[key] = max(alert.ended_at, last_ended.get(key, alert.ended_at))
        for brand in brands:
            for phase, phase_name in phases.items():
                key = (brand, phase)
                assessment = _assessment(
                    window.get(key, Counts(0, 0)),
                    hours.get(key, []),
                    window_start,
                    data_since,
                    config,
                )
                current = open_now.get(key)
                action = decide(
                    assessment,
                    current.started_at if current else None,
                    last_ended.get(key),
                    now,
                    config,
                )
                if action == "close" and current is not None and current.id is not None:
                    close_alert(session, current.id, now)
                    changes.append(Change(brand, phase, action, current))
                elif action == "open" and assessment is not None:
                    reason = why(
                        assessment,
                        names[brand],
                        phase_name,
                        now,
                        config,
                        settings.dashboard.timezone,
                    )
                    alert = open_alert(
                        session,
                        brand,
                        phase,
                        now,
                        observed=float(assessment.window.negatives),
                        expected=assessment.expected_negatives,
                        reason=reason,
                    )
                    changes.append(Change(brand, phase, action, alert))
    return changes


def _assessment(
    window: Counts,
    hours: Sequence[HourCount],
    window_start: datetime,
    data_since: datetime | None,
    config: AlertsConfig,
) -> Assessment | None:
    if data_since is None:
        return None
    baseline = baseline_of(hours, window_start, data_since, config)
    return None if baseline is None else assess(window, baseline, config)
