"""The 15-min scoring grid: its step and windows, which (asset, t) rows are scored, and the
helpers that lay rollup buckets and event counts out along it."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

GRID = timedelta(minutes=15)
WINDOWS = {"1h": 4, "6h": 24, "24h": 96}  # in 15-min buckets
OUT_OF_SERVICE = ("down", "maintenance")  # states in which an asset is not scored


def complete_series(
    keys: pl.DataFrame, by: list[str], start: str, grid_hi: pl.DataFrame, step: str, name: str
) -> pl.DataFrame:
    """One row per step from each key's first time to the asset's last needed time: each key's
    rows contiguous and in time order, numbered by `_g` (one per key) and carrying the
    key's first time as `_lo`."""
    spans = (
        keys.group_by(by)
        .agg(pl.col(name).min().alias("_lo"))
        .join(grid_hi, on="asset_id", how="inner")
    )
    spans = spans.filter(pl.col("_lo") <= pl.col("_hi")).with_row_index("_g")
    return (
        spans.with_columns(pl.datetime_ranges("_lo", "_hi", step).alias(name))
        .explode(name)
        .drop("_hi")
    )


def rolling(expr: pl.Expr, k: int, over: list[str], fn: str = "sum") -> pl.Expr:
    """`fn` over the last `k` rows of each `over` group (fewer at a group's start)."""
    rolled = getattr(expr, f"rolling_{fn}")(k, min_samples=1)
    return rolled.over(over)


def state_at(dispatch: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """The asset's state at t (events with ts <= t); 'running' before its first event."""
    ev = dispatch.select("asset_id", pl.col("ts").alias("t"), "state").sort("asset_id", "t")
    return (
        grid.sort("asset_id", "t")
        .join_asof(ev, on="t", by="asset_id", strategy="backward", check_sortedness=False)
        .with_columns(pl.col("state").fill_null("running"))
    )


def scoring_grid(assets: list[str], start, end, dispatch: pl.DataFrame) -> pl.DataFrame:
    """Grid times in [start, end] for each asset, minus those when it is out of service."""
    times = pl.datetime_range(start, end, "15m", eager=True, time_zone="UTC")
    grid = (
        pl.DataFrame({"asset_id": [assets]})
        .explode("asset_id")
        .join(pl.DataFrame({"t": times}), how="cross")
    )
    return (
        state_at(dispatch, grid)
        .filter(~pl.col("state").is_in(OUT_OF_SERVICE))
        .select("asset_id", "t")
    )
