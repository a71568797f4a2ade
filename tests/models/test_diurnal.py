"""The daily-cycle baseline: the fit recovers a cycle, and z-scores see a step inside one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from models import diurnal
from models.features import signal_features
from pipelines.simulate.frames import rollups

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STEP_S = 300


def _samples(days: int, value) -> pl.DataFrame:
    """One tag of one asset every 5 minutes for `days` days; value(seconds since T0)."""
    s = np.arange(0, days * 86400, STEP_S, dtype=float)
    ts = [T0 + timedelta(seconds=float(x)) for x in s]
    return pl.DataFrame(
        {"asset_id": "A-1", "tag": "temp_c", "ts": ts, "value": value(s)}
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))


DISPATCH = pl.DataFrame(
    {
        "asset_id": ["A-1"],
        "ts": [T0 - timedelta(days=1)],
        "event_id": ["A-1-1"],
        "state": ["running"],
        "planned": [False],
        "crew": ["A"],
    }
).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))


def _cycle(s: np.ndarray) -> np.ndarray:
    angle = 2 * np.pi * (s % 86400) / 86400
    return 60 + 3 * np.cos(angle) - 2 * np.sin(angle)


def test_fit_recovers_a_daily_cycle_and_the_spread_around_it() -> None:
    noise = np.random.default_rng(1).normal(0, 0.2, 7 * 288)
    _, rday = rollups(_samples(7, lambda s: _cycle(s) + noise), DISPATCH)
    sums = rday.select(pl.col("n", "sum", "sumsq", *diurnal.TERMS).sum())
    fit = diurnal.fit(sums).row(0, named=True)
    shrink = 0.5 / (0.5 + diurnal.RIDGE)  # the ridge's pull on a whole day's amplitudes
    assert abs(fit["_b0"] - 60) < 0.05
    assert abs(fit["_b1"] - 3 * shrink) < 0.1
    assert abs(fit["_b2"] + 2 * shrink) < 0.1
    plain_std = float(np.std(_cycle(np.arange(0, 86400, STEP_S, dtype=float))))
    assert fit["_rstd"] < 0.3 < plain_std / 5


def test_window_level_is_the_cycles_mean_over_the_window() -> None:
    beta = pl.DataFrame({"_b0": [10.0], "_b1": [2.0], "_b2": [-1.0]})
    end = datetime(2026, 3, 1, 7, 45, tzinfo=UTC)
    for hours in (1, 6, 24):
        got = beta.select(
            diurnal.window_level(pl.lit(end).cast(pl.Datetime("us", "UTC")), timedelta(hours=hours))
        ).item()
        s = np.linspace(0, hours * 3600, 10_001)
        angle = 2 * np.pi * ((end.hour * 3600 + end.minute * 60) - hours * 3600 + s) / 86400
        assert abs(got - np.mean(10 + 2 * np.cos(angle) - np.sin(angle))) < 1e-3, hours


def _z_1h(values, at: datetime) -> float:
    r15, rday = rollups(_samples(12, values), DISPATCH)
    grid = pl.DataFrame({"asset_id": ["A-1"], "t": [at]}).with_columns(
        pl.col("t").cast(pl.Datetime("us", "UTC"))
    )
    return signal_features(r15, rday, grid, DISPATCH).get_column("z_1h").item()


def test_a_daily_cycle_alone_is_normal_and_a_step_within_it_stands_out() -> None:
    noise = np.random.default_rng(2).normal(0, 0.2, 12 * 288)
    onset = 11 * 86400 + 14 * 3600  # a +1.5 step at 14:00 on day 11, near the cycle's low
    stepped = lambda s: _cycle(s) + noise + np.where(s >= onset, 1.5, 0.0)  # noqa: E731
    quiet = lambda s: _cycle(s) + noise  # noqa: E731
    for hour in (3, 9, 15, 21):  # anywhere in the cycle, the cycle itself is not a deviation
        assert abs(_z_1h(quiet, T0 + timedelta(days=11, hours=hour))) < 1.5, hour
    # One hour after the step, the 1 h mean sits 1.5 above the cycle: against a flat baseline
    # that is 0.6 of the tag's plain spread (2.5, most of it the cycle), against the cycle it
    # is 2.5 spreads (the floor of 1 % of the level, 0.6, stands in for the tiny residual).
    assert _z_1h(stepped, T0 + timedelta(days=11, hours=15)) > 2
