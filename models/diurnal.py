"""An asset's daily cycle: a first-harmonic fit of each tag over its baseline days.

Ambient temperature, shift patterns and daily throughput swings move most tags through a daily
cycle; a baseline that knows the time of day sees a small step (a spall, a partial blockage)
that a flat mean hides inside the cycle. The fit needs only sums that a daily rollup can keep:
per day, over the 15-minute buckets the asset ran through, the counts and value sums weighted
by the cosine and sine of the bucket's time of day (taken at its midpoint).
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl

DAY_S = 86400.0
OMEGA = 2 * math.pi / DAY_S  # radians per second
BUCKET_MID_S = 450.0  # a 15-min bucket's midpoint, from its start
# Daily sums beside n / sum / sumsq: n*cos, n*sin, n*cos^2, n*sin^2, n*cos*sin, sum*cos, sum*sin.
TERMS = ("nc", "ns", "ncc", "nss", "ncs", "sc", "ss")
# Ridge on the cycle's amplitude, as a share of n: a baseline that saw only part of the day
# cannot invent a cycle for the rest, and a full day's fit shrinks by only ~4 %.
RIDGE = 0.02


def angle(t: pl.Expr) -> pl.Expr:
    """Time of day of datetimes `t` as an angle in radians (UTC)."""
    seconds = (t - t.dt.truncate("1d")).dt.total_seconds()
    return seconds.cast(pl.Float64) * OMEGA


def bucket_terms(bucket: pl.Expr, n: pl.Expr, total: pl.Expr) -> list[pl.Expr]:
    """The TERMS of 15-min buckets starting at `bucket`, with `n` samples summing to `total`."""
    a = angle(bucket) + BUCKET_MID_S * OMEGA
    c, s = a.cos(), a.sin()
    return [
        (n * c).alias("nc"),
        (n * s).alias("ns"),
        (n * c * c).alias("ncc"),
        (n * s * s).alias("nss"),
        (n * c * s).alias("ncs"),
        (total * c).alias("sc"),
        (total * s).alias("ss"),
    ]


def fit(sums: pl.DataFrame) -> pl.DataFrame:
    """Per row of summed n, sum, sumsq and TERMS: `_b0`, `_b1`, `_b2` (level, cosine and sine
    amplitudes) and `_rstd`, the spread of the values around the fitted cycle."""
    col = {c: sums.get_column(c).to_numpy().astype(float) for c in ("n", "sum", "sumsq", *TERMS)}
    n = col["n"]
    a = np.empty((sums.height, 3, 3))
    a[:, 0, 0], a[:, 0, 1], a[:, 0, 2] = n, col["nc"], col["ns"]
    a[:, 1, 0], a[:, 1, 1], a[:, 1, 2] = col["nc"], col["ncc"], col["ncs"]
    a[:, 2, 0], a[:, 2, 1], a[:, 2, 2] = col["ns"], col["ncs"], col["nss"]
    b = np.stack([col["sum"], col["sc"], col["ss"]], axis=1)
    ridged = a.copy()
    ridged[:, 1, 1] += RIDGE * n
    ridged[:, 2, 2] += RIDGE * n
    ok = n > 1
    beta = np.full((sums.height, 3), np.nan)
    if ok.any():
        beta[ok] = np.linalg.solve(ridged[ok], b[ok][..., None])[..., 0]
    # Residual sum of squares around the fit: sumsq - 2 beta.b + beta' A beta.
    rss = col["sumsq"] - 2 * np.einsum("ij,ij->i", beta, b)
    rss += np.einsum("ij,ijk,ik->i", beta, a, beta)
    with np.errstate(invalid="ignore", divide="ignore"):
        rstd = np.sqrt(np.clip(rss / n, 0, None))
    return sums.with_columns(
        pl.Series("_b0", beta[:, 0]).fill_nan(None),
        pl.Series("_b1", beta[:, 1]).fill_nan(None),
        pl.Series("_b2", beta[:, 2]).fill_nan(None),
        pl.Series("_rstd", np.where(ok, rstd, np.nan)).fill_nan(None),
    )


def _arc(end: pl.Expr, span: timedelta) -> tuple[pl.Expr, pl.Expr, float]:
    """The window [end - span, end) as angles a0, a1 and its width in radians."""
    width = span.total_seconds() * OMEGA
    a1 = angle(end)
    return a1 - width, a1, width


def window_level(end: pl.Expr, span: timedelta) -> pl.Expr:
    """The fitted cycle's mean over [end - span, end), from columns _b0, _b1, _b2."""
    a0, a1, width = _arc(end, span)
    # Mean of cos and sin over the arc [a0, a1].
    mean_cos = (a1.sin() - a0.sin()) / width
    mean_sin = (a0.cos() - a1.cos()) / width
    return pl.col("_b0") + pl.col("_b1") * mean_cos + pl.col("_b2") * mean_sin


def window_slope(end: pl.Expr, span: timedelta) -> pl.Expr:
    """The fitted cycle's average rate of change over [end - span, end), per hour."""
    a0, a1, _ = _arc(end, span)
    change = pl.col("_b1") * (a1.cos() - a0.cos()) + pl.col("_b2") * (a1.sin() - a0.sin())
    return change / (span.total_seconds() / 3600.0)
