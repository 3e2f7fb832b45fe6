"""What drives the score: per phase, how much its sentiment moves the star rating (least
squares with Poisson-bootstrap confidence intervals) and the rating lost to its complaints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sentiment.labels import NEUTRAL_BAND

BOOTSTRAP = 200  # resamples: 95% intervals stable to about ±0.01 at demo volumes
MIN_MENTIONS = 30  # a phase mentioned in fewer rated messages gets no estimate
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Driver:
    phase: str
    mentions: int  # rated messages that mention the phase
    negative_share: float  # of all rated messages: share with a negative mention of the phase
    effect: float  # rating points per +1 sentiment about this phase, others held equal
    effect_low: float
    effect_high: float
    impact: float  # mean rating gain if this phase's negative mentions were neutral instead
    impact_low: float
    impact_high: float


@dataclass(frozen=True)
class Drivers:
    messages: int
    mean_rating: float | None
    drivers: list[Driver]
    r_squared: float | None


def estimate(
    ratings: Sequence[float],
    phase_scores: Sequence[dict[str, float]],
    phases: Sequence[str],
    seed: int = 7,
) -> Drivers:
    """rating = b0 + Σ b_p · s_p, with s_p the message's sentiment about phase p (0 when it does
    not mention p). Impact of p = mean over messages of −b_p · s_p where s_p is negative."""
    n = len(ratings)
    if n == 0:
        return Drivers(0, None, [], None)
    mentioned = [p for p in phases if sum(p in s for s in phase_scores) >= MIN_MENTIONS]
    y = np.asarray(ratings, dtype=float)
    if not mentioned or n <= len(mentioned) + 1:
        return Drivers(n, float(y.mean()), [], None)
    x = np.zeros((n, len(mentioned) + 1))
    x[:, 0] = 1.0
    for j, phase in enumerate(mentioned, start=1):
        x[:, j] = [s.get(phase, 0.0) for s in phase_scores]
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    total = float(((y - y.mean()) ** 2).sum())
    r_squared = 1.0 - float((residual**2).sum()) / total if total > 0 else None
    negative = np.where(x[:, 1:] <= -NEUTRAL_BAND, x[:, 1:], 0.0)  # negative mentions only

    # Poisson bootstrap: each message gets a Poisson(1) weight per resample, which mimics
    # resampling with replacement and lets all resamples share one matrix product.
    rng = np.random.default_rng(seed)
    weights = rng.poisson(1.0, size=(BOOTSTRAP, n)).astype(float)
    k = x.shape[1]
    outer = (x[:, :, None] * x[:, None, :]).reshape(n, k * k)
    xtwx = (weights @ outer).reshape(BOOTSTRAP, k, k) + np.eye(k) * 1e-9
    xtwy = weights @ (x * y[:, None])
    boot = np.linalg.solve(xtwx, xtwy[:, :, None])[:, :, 0]  # (BOOTSTRAP, k)
    weight_sums = weights.sum(axis=1)
    boot_impact = -(weights @ negative) * boot[:, 1:] / weight_sums[:, None]
    tail = (1 - CONFIDENCE) / 2 * 100
    drivers = []
    for j, phase in enumerate(mentioned):
        low, high = np.percentile(boot[:, j + 1], [tail, 100 - tail])
        impact = float(-(negative[:, j].mean()) * coef[j + 1])
        i_low, i_high = np.percentile(boot_impact[:, j], [tail, 100 - tail])
        drivers.append(
            Driver(
                phase=phase,
                mentions=sum(phase in s for s in phase_scores),
                negative_share=float((negative[:, j] < 0).mean()),
                effect=float(coef[j + 1]),
                effect_low=float(low),
                effect_high=float(high),
                impact=impact,
                impact_low=float(i_low),
                impact_high=float(i_high),
            )
        )
    return Drivers(n, float(y.mean()), drivers, r_squared)
