"""Signal features at scoring times, and every feature assembled (build_features): pure polars
and numpy, the same for training and live scoring.

Every feature at grid time t uses only data before t: 15-min rollup buckets that ended by t,
daily rollups of days that ended a day before t's day, events with ts < t. Scoring times are
aligned to GRID, so a bucket is either wholly before t or wholly not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from models import diurnal
from models.event_features import (
    alarm_features,
    context_features,
    dispatch_features,
    hse_features,
)
from models.grid import GRID, WINDOWS, complete_series, rolling

BASELINE_DAYS = 7
BASELINE_LAG_DAYS = 2  # baseline = days D-8 .. D-2 for t in day D: a slow creep stays out of it
# What features at t read: 15-min rollups of the longest window (plus the bucket t falls in)
# and the daily rollups of the baseline days (plus t's own day).
SIGNAL_LOOKBACK = timedelta(hours=24) + GRID
DAILY_LOOKBACK = timedelta(days=BASELINE_DAYS + BASELINE_LAG_DAYS + 1)
SIGNAL_STATS = (
    "mean_1h", "std_1h", "min_1h", "max_1h", "slope_1h",
    "mean_6h", "std_6h", "slope_6h",
    "mean_24h", "std_24h", "slope_24h",
    "last", "z_1h", "z_6h", "z_24h",
    "slope_z_1h", "slope_z_6h", "slope_z_24h", "std_ratio_1h", "std_ratio_24h", "range_z_1h",
)  # fmt: skip
# What the model sees of each tag: only scale-free statistics against the asset's own baseline,
# so that evidence learnt on one asset carries to another (absolute levels identify assets).
MODEL_STATS = (
    "z_1h", "z_6h", "z_24h", "slope_z_1h", "slope_z_6h", "slope_z_24h",
    "std_ratio_1h", "std_ratio_24h", "range_z_1h", *(f"excess_z_{w}" for w in ("1h", "6h")),
)  # fmt: skip
# The fast detector's evidence: the last hours only (1 h / 6 h statistics and alarms) and what
# the asset is. Without slow context (dispatch history, 24 h statistics) to lean on, its trees
# must learn what an early deviation looks like; see models/estimator.fit.
FAST_FAMILIES = ("sig", "agg", "alarm")
FAST_CONTEXT = ("ctx.kind", "ctx.criticality")
_FAST_WINDOW = re.compile(r"(?<!\d)[16]h(?![a-z0-9])")  # 1h or 6h as a token: not 24h, not 16h


def is_fast(feature: str) -> bool:
    """True for the features the fast detector sees (FAST_FAMILIES over 1 h / 6 h, FAST_CONTEXT)."""
    if feature in FAST_CONTEXT:
        return True
    family, last = feature.split(".", 1)[0], feature.rsplit(".", 1)[-1]
    # The window is in the last part (a statistic, a window): a tag's name may hold "1h" too.
    return family in FAST_FAMILIES and bool(_FAST_WINDOW.search(last))


# Tags for how hard an asset is driven, and tags for what it moves (one per asset). A drive
# deviating further than the throughput explains is the signature of overload and choking
# (specific energy, in mining terms), and it is hidden when the load falls as the drive rises.
DRIVE_TAGS = ("motor_current_a",)
THROUGHPUT_TAGS = ("load_tph", "feed_rate_tph", "flow_m3_h", "mill_load_pct", "load_t", "payload_t")
# Across an asset's tags: the strongest deviation up and down, whatever the tag (kinds have
# different tags). Signed, because a restart's still-cold temperatures read far *below*
# normal, while most precursors (heat, current, vibration) read above it.
AGGREGATES = ("z_1h", "z_6h", "z_24h", "slope_z_6h", "slope_z_24h")
SPREAD_AGGREGATES = ("std_ratio_1h", "range_z_1h")
# agg.tags_*: how many of the asset's tags deviate at once, as (statistic, threshold); the
# explanation hands each row's share of a count to the tags that make it up.
DEVIATION_COUNTS = {"agg.tags_z1h_above_2_5": ("z_1h", 2.5), "agg.tags_z6h_above_2": ("z_6h", 2.0)}
CATEGORICAL = ("ctx.kind", "disp.crew")


@dataclass
class Frames:
    """The inputs of feature building, as loaded from the database (or built in a test).

    r15:       asset_id, tag, bucket, n, sum, sumsq, min, max, last
    rday:      asset_id, tag, day, n, sum, sumsq, and diurnal.TERMS
    alarms:    asset_id, ts, tag, kind, priority, state
    dispatch:  asset_id, ts, event_id, state, planned, crew
    incidents: asset_id, ts, severity
    assets:    asset_id, kind, criticality
    """

    r15: pl.DataFrame
    rday: pl.DataFrame
    alarms: pl.DataFrame
    dispatch: pl.DataFrame
    incidents: pl.DataFrame
    assets: pl.DataFrame


def running_buckets(dispatch: pl.DataFrame, keys: pl.DataFrame) -> pl.Series:
    """For (asset_id, bucket) rows: did the asset run through the whole 15-min bucket (state
    running at its start, no state change inside)? The rollup maintainer's SQL says the same."""
    stopped = stopped_buckets(dispatch, keys).with_columns(pl.lit(True).alias("_stopped"))
    return (
        keys.select("asset_id", "bucket")
        .join(stopped, on=["asset_id", "bucket"], how="left", maintain_order="left")
        .get_column("_stopped")
        .is_null()
        .alias("_ok")
    )


def stopped_buckets(dispatch: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The (asset_id, bucket) pairs, within each asset's span of `keys`' buckets, that the asset
    did not run through entirely: an event falls inside the bucket, or the state at its start
    (the last event at or before it; running before the first) is not running. Built from the
    events, which are few, rather than by looking up each bucket's state: a third of the time."""
    span = keys.group_by("asset_id").agg(
        pl.col("bucket").min().alias("_from"), pl.col("bucket").max().alias("_to")
    )
    # The next event is taken while the events are in time order (a join need not keep it).
    ev = (
        dispatch.sort("asset_id", "ts", "event_id")
        .unique(["asset_id", "ts"], keep="last", maintain_order=True)
        .with_columns(
            pl.col("ts").dt.truncate("15m").alias("_floor"),
            pl.col("ts").shift(-1).over("asset_id").alias("_next"),
        )
        .join(span, on="asset_id", how="inner")
    )
    # An event off the grid changes the state inside its bucket.
    inside = ev.filter(pl.col("ts") != pl.col("_floor")).select(
        "asset_id", pl.col("_floor").alias("bucket")
    )

    def ceil(ts: pl.Expr) -> pl.Expr:
        floor = ts.dt.truncate("15m")
        return pl.when(ts == floor).then(ts).otherwise(floor + GRID)

    # A state other than running holds every bucket that starts in [ts, next event).
    lo = pl.max_horizontal(ceil(pl.col("ts")), pl.col("_from"))
    hi = pl.min_horizontal(pl.coalesce(ceil(pl.col("_next")) - GRID, pl.col("_to")), pl.col("_to"))
    held = (
        ev.filter(pl.col("state") != "running")
        .select("asset_id", lo.alias("_lo"), hi.alias("_hi"))
        .filter(pl.col("_lo") <= pl.col("_hi"))
        .select("asset_id", pl.datetime_ranges("_lo", "_hi", "15m").alias("bucket"))
        .explode("bucket")
    )
    bucket_type = keys.schema["bucket"]
    return (
        pl.concat([inside, held.with_columns(pl.col("bucket").cast(bucket_type))])
        .filter(pl.col("bucket").is_not_null())
        .unique()
    )


# Assets whose rollup rows add up to this are featurised together: peak memory stays bounded
# (about 1 KB per row on training's dense grid) however large the plant, and no asset's features
# depend on the others'. Live scoring's direct sums need far less per row, and each chunk has a
# fixed cost (a hundred small polars steps), so its chunks are larger: 1,000 assets in one chunk
# took 0.45-0.49 s against 0.54-0.57 s in four, profiled.
CHUNK_ROWS = 200_000
DIRECT_CHUNK_ROWS = 1_000_000

# Live scoring asks for one grid time per asset (a few after a pause). For so few times,
# summing each window's buckets directly is cheaper than rolling every window along the whole
# lookback (0.55-0.64 s against 0.67-0.75 s for 1,000 assets, profiled); training's dense grid
# rolls. Both give the same features, which the tests check.
DIRECT_MAX_TIMES = 4


def signal_features(
    r15: pl.DataFrame, rday: pl.DataFrame, grid: pl.DataFrame, dispatch: pl.DataFrame
) -> pl.DataFrame:
    """Per tag and window, over the buckets the asset was running: mean, std, min, max, slope,
    last value, and scale-free versions against the asset's own running baseline.
    Returns long rows (asset_id, t, tag, stats...)."""
    few = grid.height <= DIRECT_MAX_TIMES * max(1, grid.get_column("asset_id").n_unique())
    windows, baseline_sums, limit = (
        (_summed_windows, _summed_baseline_sums, DIRECT_CHUNK_ROWS)
        if few
        else (_rolled_windows, _rolled_baseline_sums, CHUNK_ROWS)
    )
    # Keys as categoricals inside: joins and group-bys then hash integer codes, not strings
    # (a fifth off the live path, profiled); the result carries strings again.
    r15, rday, grid, dispatch = (
        _categorical(f, "asset_id", "tag") for f in (r15, rday, grid, dispatch)
    )
    sizes = r15.group_by("asset_id").len().sort("asset_id")
    chunk = (sizes.get_column("len").cum_sum() - 1) // limit
    parts = sizes.with_columns(chunk.alias("_c")).partition_by("_c", include_key=False)
    out = []
    for assets in parts or [sizes]:
        ids = assets.get_column("asset_id")
        mine = pl.col("asset_id").is_in(ids.implode())
        g = grid.filter(mine)
        sums = windows(r15.filter(mine), g, dispatch.filter(mine))
        out.append(_signal_chunk(sums, _baseline(baseline_sums(rday.filter(mine), g))))
    return pl.concat(out).with_columns(pl.col("asset_id", "tag").cast(pl.String))


def _categorical(frame: pl.DataFrame, *names: str) -> pl.DataFrame:
    """`frame` with those of `names` it has as Categorical columns."""
    return frame.with_columns(pl.col(n).cast(pl.Categorical) for n in names if n in frame.columns)


# Per bucket, the terms whose window sums give mean, spread and (weighted) slope: x in hours
# from the series start, y the bucket mean, weight 1 where there is data.
_X = (pl.col("bucket") - pl.col("_lo")).dt.total_seconds() / 3600.0
_W = (pl.col("n") > 0).cast(pl.Float64)
_Y = pl.when(pl.col("n") > 0).then(pl.col("sum") / pl.col("n")).otherwise(0.0)
WINDOW_TERMS = {
    "n": pl.col("n"), "sum": pl.col("sum"), "sumsq": pl.col("sumsq"),
    "w": _W, "wx": _W * _X, "y": _Y, "wxx": _W * _X**2, "xy": _Y * _X,
}  # fmt: skip


def _running_rows(r15: pl.DataFrame, dispatch: pl.DataFrame) -> pl.DataFrame:
    """The rollup rows of buckets the asset ran through entirely (running_buckets)."""
    return r15.join(stopped_buckets(dispatch, r15), on=["asset_id", "bucket"], how="anti")


def _rolled_windows(r15: pl.DataFrame, grid: pl.DataFrame, dispatch: pl.DataFrame) -> pl.DataFrame:
    """Window sums, 1-h extremes and last value at each grid row, rolled along each series."""
    keys = ["asset_id", "tag"]
    over = ["_g"]  # one integer per series: far cheaper to partition by than the string keys
    hi = grid.group_by("asset_id").agg((pl.col("t").max() - GRID).alias("_hi"))
    full = complete_series(r15, keys, "bucket", hi, "15m", "bucket")
    r15 = _running_rows(r15, dispatch)
    # `full` holds each series contiguously in time order, which is all `.over` needs:
    # keeping that order is far cheaper than sorting by the string keys.
    s = full.join(r15, on=[*keys, "bucket"], how="left", maintain_order="left").with_columns(
        pl.col("n").fill_null(0),
        pl.col("sum").fill_null(0.0),
        pl.col("sumsq").fill_null(0.0),
        pl.col("min").fill_null(float("inf")),
        pl.col("max").fill_null(float("-inf")),
        pl.col("last").forward_fill(limit=WINDOWS["24h"]).over(over),
    )
    s = s.select(
        *keys,
        "bucket",
        "last",
        *[
            rolling(e, k, over).alias(f"{c}@{name}")
            for name, k in WINDOWS.items()
            for c, e in WINDOW_TERMS.items()
        ],
        rolling(pl.col("min"), WINDOWS["1h"], over, "min").alias("min_1h"),
        rolling(pl.col("max"), WINDOWS["1h"], over, "max").alias("max_1h"),
    )
    # Only the rows scored from here on: the bucket that ends at each grid time.
    return (
        grid.with_columns((pl.col("t") - GRID).alias("bucket"))
        .join(s, on=["asset_id", "bucket"], how="inner")
        .drop("bucket")
    )


def _summed_windows(r15: pl.DataFrame, grid: pl.DataFrame, dispatch: pl.DataFrame) -> pl.DataFrame:
    """What _rolled_windows gives, summed directly over each grid row's buckets. A series with
    no running bucket in the last day gets no row here (all its statistics would be null)."""
    lo = r15.group_by("asset_id", "tag").agg(pl.col("bucket").min().alias("_lo"))
    r15 = _running_rows(r15, dispatch)
    # `last` is carried forward over at most a day of empty buckets, as the rolled path does.
    reach = (WINDOWS["24h"] + 1) * GRID
    rows = (
        grid.join(r15, on="asset_id", how="inner")
        .filter((pl.col("bucket") < pl.col("t")) & (pl.col("bucket") >= pl.col("t") - reach))
        .join(lo, on=["asset_id", "tag"], how="inner")
    )

    # Masked sums, not filtered ones, and no drop_nulls unless there are nulls: polars then
    # aggregates on its fast path instead of group by group (0.16-0.20 s against 0.08 s here).
    within = {name: pl.col("bucket") >= pl.col("t") - k * GRID for name, k in WINDOWS.items()}
    last = pl.col("last").sort_by("bucket")
    last = last.drop_nulls().last() if rows.get_column("last").has_nulls() else last.last()
    return (
        rows.lazy()
        .group_by("asset_id", "t", "tag")
        .agg(
            last,
            *[
                (e * within[name]).sum().alias(f"{c}@{name}")
                for name in WINDOWS
                for c, e in WINDOW_TERMS.items()
            ],
            pl.when(within["1h"]).then(pl.col("min")).min().alias("min_1h"),
            pl.when(within["1h"]).then(pl.col("max")).max().alias("max_1h"),
        )
        .collect()
    )


def _signal_chunk(s: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    """signal_features for a set of assets, from their window sums `s` (_rolled_windows or
    _summed_windows) and their baselines (_baseline)."""
    exprs = []
    for name in WINDOWS:
        n, s0, sx, sy, sxx, sxy = (
            pl.col(f"{c}@{name}") for c in ("n", "w", "wx", "y", "wxx", "xy")
        )
        mean = pl.col(f"sum@{name}") / n
        var = pl.col(f"sumsq@{name}") / n - mean**2
        den = s0 * sxx - sx**2
        exprs += [
            pl.when(n > 0).then(mean).alias(f"mean_{name}"),
            pl.when(n > 1).then(var.clip(lower_bound=0).sqrt()).alias(f"std_{name}"),
            pl.when((s0 >= 3) & (den > 1e-9))
            .then((s0 * sxy - sx * sy) / den)
            .alias(f"slope_{name}"),
        ]
    exprs += [
        pl.when(pl.col(c).is_infinite()).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("min_1h", "max_1h")
    ]
    s = s.with_columns(exprs)

    out = s.with_columns((pl.col("t") - GRID).dt.truncate("1d").alias("_day")).join(
        base, on=["asset_id", "tag", "_day"], how="left"
    )
    # Levels and slopes are judged against the asset's daily cycle at that time of day;
    # spreads against its plain spread (a cycle is part of what a spread measures).
    floor, rfloor = _spread("_bstd"), _spread("_rstd")
    spans = {name: k * GRID for name, k in WINDOWS.items()}
    out = out.with_columns(
        [
            ((pl.col(f"mean_{w}") - diurnal.window_level(pl.col("t"), span)) / rfloor).alias(
                f"z_{w}"
            )
            for w, span in spans.items()
        ]
        + [
            ((pl.col(f"slope_{w}") - diurnal.window_slope(pl.col("t"), span)) / rfloor).alias(
                f"slope_z_{w}"
            )
            for w, span in spans.items()
        ]
        + [(pl.col(f"std_{w}") / floor).alias(f"std_ratio_{w}") for w in ("1h", "24h")]
        + [((pl.col("max_1h") - pl.col("min_1h")) / floor).alias("range_z_1h")]
    )
    return out.select("asset_id", "t", "tag", *SIGNAL_STATS)


def _spread(std: str) -> pl.Expr:
    """A baseline spread to divide by: the std column, but at least 1 % of the level, so that
    a near-constant tag (belt speed, lube pressure) does not turn noise into huge z-scores."""
    return pl.max_horizontal(pl.col(std), pl.col("_bmean").abs() * 0.01, pl.lit(1e-6))


SUMS = ("n", "sum", "sumsq", *diurnal.TERMS)  # the daily rollup's sums


def _rolled_baseline_sums(rday: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """Each tag's daily SUMS over days D-8..D-2 for every day D of its series up to the last
    grid time's, rolled along the days (training's dense grid)."""
    keys = ["asset_id", "tag"]
    hi = grid.group_by("asset_id").agg(
        ((pl.col("t").max() - GRID).dt.truncate("1d") - timedelta(days=BASELINE_LAG_DAYS)).alias(
            "_hi"
        )
    )
    full = complete_series(rday, keys, "day", hi, "1d", "day")
    return (
        full.join(rday, on=[*keys, "day"], how="left", maintain_order="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Float64) for c in SUMS)
        .select(
            *keys,
            (pl.col("day") + timedelta(days=BASELINE_LAG_DAYS)).alias("_day"),
            *[rolling(pl.col(c), BASELINE_DAYS, ["_g"]) for c in SUMS],
        )
    )


def _summed_baseline_sums(rday: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """What _rolled_baseline_sums gives, for just the days D the grid rows fall in (live
    scoring's few times: one daily-cycle fit per tag instead of one per tag and lookback day)."""
    first = timedelta(days=BASELINE_LAG_DAYS + BASELINE_DAYS - 1)
    last = timedelta(days=BASELINE_LAG_DAYS)
    return (
        grid.select("asset_id", (pl.col("t") - GRID).dt.truncate("1d").alias("_day"))
        .unique()
        .join(rday, on="asset_id", how="inner")
        .filter(pl.col("day").is_between(pl.col("_day") - first, pl.col("_day") - last))
        .group_by("asset_id", "tag", "_day")
        .agg(pl.col(c).cast(pl.Float64).sum() for c in SUMS)
    )


def _baseline(d: pl.DataFrame) -> pl.DataFrame:
    """From each tag's SUMS over days D-8..D-2, keyed by D (the day of t's last bucket): its
    mean and std, and its daily cycle (diurnal.fit)."""
    n = pl.col("n")
    mean = pl.col("sum") / n
    var = pl.col("sumsq") / n - mean**2
    return diurnal.fit(d).select(
        "asset_id",
        "tag",
        "_day",
        pl.when(n > 0).then(mean).alias("_bmean"),
        pl.when(n > 1).then(var.clip(lower_bound=0).sqrt()).alias("_bstd"),
        "_b0",
        "_b1",
        "_b2",
        "_rstd",
    )


_PIVOT_SEP = "\x1f"  # ASCII unit separator: not a character tag names are made of


def widen_signals(long: pl.DataFrame) -> pl.DataFrame:
    """(asset_id, t, tag, stats) -> one row per (asset_id, t): columns sig.<tag>.<stat>, and
    agg.* summaries over the asset's tags (largest and smallest z, how many tags deviate)."""
    if long.is_empty():
        return long.select("asset_id", "t")
    # The pivot names columns <stat><sep><tag>; a separator no tag or statistic holds keeps two
    # (stat, tag) pairs from ever sharing a name, whatever the plant calls its tags.
    wide = long.pivot(
        on="tag", index=["asset_id", "t"], values=list(SIGNAL_STATS), separator=_PIVOT_SEP
    )
    tags = long.get_column("tag").unique().to_list()
    names = {
        f"{stat}{_PIVOT_SEP}{tag}": f"sig.{tag}.{stat}" for stat in SIGNAL_STATS for tag in tags
    }
    wide = wide.rename({c: names[c] for c in wide.columns if c in names})
    wide = wide.with_columns(_excess(wide.columns))
    agg = long.group_by("asset_id", "t").agg(
        [pl.col(stat).max().alias(f"agg.{stat}_max") for stat in AGGREGATES]
        + [pl.col(stat).min().alias(f"agg.{stat}_min") for stat in AGGREGATES]
        + [pl.col(stat).max().alias(f"agg.{stat}_max") for stat in SPREAD_AGGREGATES]
        + [
            (pl.col(stat) > limit).sum().cast(pl.Float64).alias(name)
            for name, (stat, limit) in DEVIATION_COUNTS.items()
        ]
    )
    return wide.join(agg, on=["asset_id", "t"], how="left")


def _excess(columns: list[str]) -> list[pl.Expr]:
    """sig.<drive>.excess_z_<w>: the drive tag's z minus the asset's throughput tag's z."""
    out = []
    for w in ("1h", "6h"):
        load = [f"sig.{tag}.z_{w}" for tag in THROUGHPUT_TAGS if f"sig.{tag}.z_{w}" in columns]
        for tag in DRIVE_TAGS:
            if load and f"sig.{tag}.z_{w}" in columns:
                excess = pl.col(f"sig.{tag}.z_{w}") - pl.coalesce(load)
                out.append(excess.alias(f"sig.{tag}.excess_z_{w}"))
    return out


def build_features(frames: Frames, grid: pl.DataFrame) -> pl.DataFrame:
    """All features for the (asset_id, t) rows of `grid`, one row each, in grid order."""
    grid = grid.select("asset_id", "t").unique(maintain_order=True)
    out = grid
    for part in (
        widen_signals(signal_features(frames.r15, frames.rday, grid, frames.dispatch)),
        alarm_features(frames.alarms, grid),
        dispatch_features(frames.dispatch, grid),
        hse_features(frames.incidents, grid),
        context_features(frames.assets, grid),
    ):
        out = out.join(part, on=["asset_id", "t"], how="left")
    return out
