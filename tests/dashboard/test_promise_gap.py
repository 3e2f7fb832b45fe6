"""A phase's gap to the promise is judged at the two decimals it is shown with, so the wall never
reads "+0.00 below the promise" (seen on the demo wall, 2026-12-07: 0.297 against 0.30)."""

from __future__ import annotations

import pytest

from dashboard.components.journey import gap_state, phase_tile, wall_tile
from report.summary import overall
from storage.queries import PhaseStat, promise_gap


def _stat(mean: float | None, target: float = 0.30) -> PhaseStat:
    return PhaseStat(
        phase="service",
        position=6,
        name_nl="Klantenservice & contact",
        name_en="Customer service & contact",
        target=target,
        count=146,
        mean=mean,
        negative=30,
        positive=70,
    )


def _words(component) -> str:  # type: ignore[no-untyped-def]
    """All text inside a Dash component tree."""
    children = getattr(component, "children", component)
    if isinstance(children, str):
        return children
    if isinstance(children, list | tuple):
        return " ".join(_words(c) for c in children)
    return "" if children is None else _words(children)


@pytest.mark.parametrize(
    ("mean", "gap", "state", "nl", "en"),
    [
        (0.297, 0.0, "good", "+0.00 op de belofte", "+0.00 on the promise"),
        (0.304, 0.0, "good", "+0.00 op de belofte", "+0.00 on the promise"),
        (0.294, -0.01, "bad", "-0.01 onder de belofte", "-0.01 below the promise"),
        (0.306, 0.01, "good", "+0.01 boven de belofte", "+0.01 above the promise"),
        (-0.27, -0.57, "bad", "-0.57 onder de belofte", "-0.57 below the promise"),
    ],
)
def test_the_verdict_matches_the_figure_shown(
    mean: float, gap: float, state: str, nl: str, en: str
) -> None:
    stat = _stat(mean)
    assert stat.gap == gap and gap_state(stat.gap) == state
    assert nl in _words(phase_tile(stat, "nl")) and en in _words(phase_tile(stat, "en"))
    wall = _words(wall_tile(stat, None, "nl"))
    assert nl.split(" ", 1)[0] in wall and nl.split(" ", 1)[1] in wall
    assert f"tile-{state}" in wall_tile(stat, None, "nl").className


def test_no_gap_without_a_score_and_never_a_negative_zero() -> None:
    assert promise_gap(None, 0.3) is None and _stat(None).gap is None
    assert str(promise_gap(0.297, 0.30)) == "0.0"  # not -0.0
    assert promise_gap(0.5, None) is None


def test_the_weekly_summary_judges_its_overall_gap_the_same_way() -> None:
    week = overall([_stat(0.297), _stat(0.297)])
    assert week.gap == 0.0 and week.score == pytest.approx(0.297)
