"""Risk rating and the alert state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from models.alerting import AlertMachine
from models.rating import RANK, RATINGS, RiskMatrix, consequence

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)


def test_likelihood_bands_are_multiples_of_the_threshold() -> None:
    m = RiskMatrix()
    p = np.array([0.0, 0.059, 0.061, 0.081, 0.099, 0.1, 0.2, 0.9])
    assert m.likelihood(p, threshold=0.1).tolist() == [1, 1, 2, 3, 3, 4, 5, 5]


def test_rating_matrix_follows_the_usual_5x5_bands() -> None:
    m = RiskMatrix()
    assert m.rating(1, 4) == "low" and m.rating(1, 5) == "medium"
    assert m.rating(3, 3) == "medium" and m.rating(2, 5) == "high"
    assert m.rating(4, 4) == "high" and m.rating(4, 5) == "critical"
    assert m.rating(5, 1) == "medium"  # a criticality-1 asset never reaches high


@given(st.lists(st.floats(0, 1), min_size=2, max_size=50), st.integers(1, 5))
def test_rating_never_falls_as_probability_rises(probs, crit) -> None:
    m = RiskMatrix()
    p = np.sort(np.array(probs))
    ranks = [RANK[r] for r in m.rating(m.likelihood(p, 0.2), consequence(crit))]
    assert ranks == sorted(ranks)


MACHINE = AlertMachine()


def _run(ratings: list[str], machine: AlertMachine = MACHINE):
    alert, transitions = None, []
    for i, rating in enumerate(ratings):
        alert, tr = machine.step(alert, "CV-01", T0 + i * STEP, rating, 0.5)
        if tr:
            transitions.append((i, tr.kind, tr.alert.rating))
    return alert, transitions


def test_alert_opens_escalates_and_closes_after_cooldown() -> None:
    seq = ["low", "high", "high", "critical", "high"] + ["low"] * 17
    alert, tr = _run(seq)
    assert tr[0] == (1, "opened", "high")
    assert tr[1] == (3, "escalated", "critical")
    assert tr[2][1] == "closed" and tr[2][0] == 5 + 16  # 4 h of 15-min steps below, from 5
    assert alert is None


def test_alert_does_not_close_while_the_rating_keeps_returning() -> None:
    seq = ["high"] + ["low", "low", "low", "high"] * 6
    _, tr = _run(seq)
    assert [k for _, k, _ in tr] == ["opened"]


@given(st.lists(st.sampled_from(RATINGS), max_size=200))
def test_at_most_one_open_alert_and_transitions_alternate(seq) -> None:
    _, tr = _run(seq)
    open_now = False
    for _, kind, _ in tr:
        if kind == "opened":
            assert not open_now
            open_now = True
        elif kind == "escalated":
            assert open_now
        else:
            assert open_now
            open_now = False


def test_an_alert_easing_off_shows_the_latest_risk_and_keeps_its_peak() -> None:
    steps = [("high", 0.3), ("critical", 0.6), ("low", 0.07), ("medium", 0.09)]
    alert, kinds = None, []
    for i, (rating, p) in enumerate(steps):
        alert, tr = MACHINE.step(alert, "CV-01", T0 + i * STEP, rating, p)
        kinds.append(tr.kind if tr else None)
    assert alert is not None and alert.is_open  # within the cool-down
    assert (alert.rating, alert.probability, alert.peak_rating) == ("medium", 0.09, "critical")
    assert alert.below_since == T0 + 2 * STEP  # from the first score below the line
    # Back at high (under its peak): the cool-down clock stops, no second escalation.
    alert, tr = MACHINE.step(alert, "CV-01", T0 + 4 * STEP, "high", 0.3)
    assert tr is None and (alert.rating, alert.below_since) == ("high", None)
    assert kinds == ["opened", "escalated", None, None]


@given(st.floats(0, 1), st.integers(1, 5), st.sampled_from(RATINGS), st.floats(0.01, 0.5))
def test_the_alert_level_is_where_the_rating_reaches_the_opening_rating(p, crit, opening, th):
    m = RiskMatrix()
    level = m.level_for(opening, crit, th)
    reached = RANK[str(m.rating(m.likelihood(p, th), crit))] >= RANK[opening]
    assert reached == (level is not None and p >= level)


def test_a_criticality_1_asset_has_no_high_level_and_a_critical_one_alerts_early() -> None:
    m = RiskMatrix()
    assert m.level_for("high", 1, 0.1) is None  # likelihood 5 x consequence 1 is medium
    assert m.level_for("high", 5, 0.1) == 0.6 * 0.1  # 2 x 5 is high: at 0.6 p*
    assert m.level_for("high", 4, 0.1) == 0.8 * 0.1  # 3 x 4 is high: at 0.8 p*
    assert m.level_for("critical", 4, 0.1) == 2.0 * 0.1  # 5 x 4 is critical: at 2 p*
