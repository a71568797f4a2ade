"""Event features at scoring times: alarm activations (and the tags that raised them),
dispatch history, HSE incidents, and what the asset is and the hour; each from events before t."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from models.grid import GRID, WINDOWS, complete_series, rolling

# The clock features are fixed in UTC, not taken from PRECURSOR_SHIFTS: a trained model's inputs
# must not change meaning when a setting does, and the hour lets it learn any plant's daily rhythm.
NIGHT_UTC_HOURS = (6, 17)  # ctx.night_shift is 1 outside 06:00-17:59 UTC
CAP_HOURS = 720.0  # "hours since" features saturate at 30 days
MIN_DOWNTIME_S = 1800
ALARM_KINDS = ("HI", "HIHI", "LO", "LOLO", "TRIP", "DEV", "FAULT")
ALARM_PRIORITIES = (1, 2, 3, 4)  # the spec's alarm priority, 1 highest; features alarm.P1 .. P4


def alarm_features(alarms: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """Alarm activations per kind, per priority and in all in the last 1 h / 6 h / 24 h."""
    groups = {k: pl.col("kind") == k for k in ALARM_KINDS}
    groups |= {f"P{p}": pl.col("priority") == p for p in ALARM_PRIORITIES}
    names = (*groups, "all")
    cols = [f"alarm.{k}.{w}" for k in names for w in WINDOWS]
    active = alarms.filter(pl.col("state") == "active")
    if active.is_empty():
        return grid.select("asset_id", "t").with_columns([pl.lit(0.0).alias(c) for c in cols])
    counts = (
        active.with_columns(pl.col("ts").dt.truncate("15m").alias("bucket"))
        .group_by("asset_id", "bucket")
        .agg(
            [is_k.sum().cast(pl.Float64).alias(k) for k, is_k in groups.items()]
            + [pl.len().cast(pl.Float64).alias("all")]
        )
    )
    hi = grid.group_by("asset_id").agg((pl.col("t").max() - GRID).alias("_hi"))
    full = complete_series(counts, ["asset_id"], "bucket", hi, "15m", "bucket")
    s = full.join(counts, on=["asset_id", "bucket"], how="left").sort("asset_id", "bucket")
    s = s.with_columns(pl.col(k).fill_null(0.0) for k in names)
    s = s.with_columns(
        [
            rolling(pl.col(k), n, ["asset_id"]).alias(f"alarm.{k}.{w}")
            for k in names
            for w, n in WINDOWS.items()
        ]
    )
    out = grid.select("asset_id", "t").with_columns((pl.col("t") - GRID).alias("bucket"))
    out = out.join(s.select("asset_id", "bucket", *cols), on=["asset_id", "bucket"], how="left")
    return out.drop("bucket").with_columns(pl.col(c).fill_null(0.0) for c in cols)


ALARM_SOURCE = "alarmsrc"  # alarmsrc.<group>.<window>.<tag>: not features (see alarm_sources)


def alarm_sources(alarms: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """For each of `rows` (asset_id, t), in their order: the activations each tag raised of
    each alarm feature's group (kind, priority, all) and window, as alarm_features counts them,
    one column `alarmsrc.<group>.<window>.<tag>` per combination that occurs. Not model
    features: an explanation hands an alarm count to the tags that raised it
    (models.explain.credit_parts). Only for the few rows explained, so no wide frame of
    mostly zeros is built for every row of a training run."""
    keys = rows.select("asset_id", "t").with_row_index("_row")
    active = alarms.filter(pl.col("state") == "active")
    if active.is_empty() or keys.is_empty() or "tag" not in active.columns:
        return keys.select([])
    longest = max(WINDOWS.values())
    # A count at t sums the 15-min buckets t - n*GRID .. t - GRID (alarm_features).
    hits = keys.join(
        active.select(
            "asset_id", "tag", "kind", "priority", pl.col("ts").dt.truncate("15m").alias("b")
        ),
        on="asset_id",
        how="inner",
    ).filter(
        pl.col("tag").is_not_null(),
        pl.col("b") < pl.col("t"),
        pl.col("b") >= pl.col("t") - GRID * longest,
    )
    groups = (pl.col("kind"), pl.format("P{}", pl.col("priority")), pl.lit("all"))
    parts = [
        hits.filter(pl.col("b") >= pl.col("t") - GRID * n).select(
            "_row", pl.format(f"{ALARM_SOURCE}.{{}}.{w}.{{}}", group, "tag").alias("column")
        )
        for w, n in WINDOWS.items()
        for group in groups
    ]
    counted = (
        pl.concat(parts)
        .drop_nulls("column")  # an alarm without a kind or priority counts only in all
        .group_by("_row", "column")
        .agg(pl.len().cast(pl.Float64).alias("n"))
    )
    if counted.is_empty():
        return keys.select([])
    wide = counted.pivot(on="column", index="_row", values="n", sort_columns=True)
    out = keys.select("_row").join(wide, on="_row", how="left").sort("_row").drop("_row")
    return out.fill_null(0.0)


DAY, WEEK = timedelta(days=1), timedelta(days=7)
MIN_DOWN = timedelta(seconds=MIN_DOWNTIME_S)


def _last_event(
    rows: pl.DataFrame, events: pl.DataFrame, at: str, event_at: str, at_same_time: bool = True
) -> pl.DataFrame:
    """Each row (both frames sorted by asset and time) with its asset's latest event at or
    before its time `at`, or strictly before it unless `at_same_time`; nulls where none."""
    return rows.join_asof(
        events,
        left_on=at,
        right_on=event_at,
        by="asset_id",
        strategy="backward",
        allow_exact_matches=at_same_time,
        check_sortedness=False,
    )


def _count_before(events: pl.DataFrame, grid: pl.DataFrame, at: pl.Expr, name: str) -> pl.DataFrame:
    """For each grid row: how many of the asset's events (asset_id, _at) have _at < at."""
    ev = events.sort("asset_id", "_at").with_columns(
        (pl.int_range(pl.len()).over("asset_id") + 1).alias("_n")
    )
    g = grid.with_columns(at.alias("_q")).sort("asset_id", "_q")
    out = _last_event(g, ev.select("asset_id", "_at", "_n"), "_q", "_at", at_same_time=False)
    return out.select("asset_id", "t", pl.col("_n").fill_null(0).cast(pl.Float64).alias(name))


def _count_in_window(
    events: pl.DataFrame, grid: pl.DataFrame, window: timedelta, name: str
) -> pl.DataFrame:
    """For each grid row: the asset's events (asset_id, _at) with t - window <= _at < t."""
    now = _count_before(events, grid, pl.col("t"), "_a")
    then = _count_before(events, grid, pl.col("t") - window, "_b")
    return now.join(then, on=["asset_id", "t"]).select(
        "asset_id", "t", (pl.col("_a") - pl.col("_b")).alias(name)
    )


def dispatch_features(dispatch: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """Stops, downtime, time since maintenance / failure, run hours, crew: events before t.
    A stop counts as short once it has ended within 30 min, as a failure once it has lasted
    30 min, so nothing about a stop is known before it could be."""
    g = grid.select("asset_id", "t").sort("asset_id", "t")
    ev = dispatch.sort("asset_id", "ts", "event_id").with_columns(
        pl.col("ts").shift(-1).over("asset_id").alias("_end")
    )
    unplanned = ev.filter((pl.col("state") == "down") & ~pl.col("planned"))
    out = g
    starts = unplanned.select("asset_id", pl.col("ts").alias("_at"))
    short = unplanned.filter(
        pl.col("_end").is_not_null() & (pl.col("_end") - pl.col("ts") < MIN_DOWN)
    ).select("asset_id", pl.col("_end").alias("_at"))
    for name, events, w in (
        ("disp.unplanned_stops_24h", starts, DAY),
        ("disp.unplanned_stops_7d", starts, WEEK),
        ("disp.short_stops_24h", short, DAY),
        ("disp.short_stops_7d", short, WEEK),
    ):
        out = out.join(_count_in_window(events, g, w, name), on=["asset_id", "t"])
    # Downtime before x: completed intervals' sum plus the part of the one containing x.
    down = ev.filter(pl.col("state") == "down").with_columns(
        (pl.col("_end") - pl.col("ts")).dt.total_seconds().fill_null(1e12).alias("_dur")
    )
    down = down.with_columns(
        (pl.col("_dur").cum_sum().over("asset_id") - pl.col("_dur")).alias("_cum")
    )

    def downtime(at: pl.Expr, name: str) -> pl.DataFrame:
        q = g.with_columns(at.alias("_q")).sort("asset_id", "_q")
        j = _last_event(
            q, down.select("asset_id", pl.col("ts").alias("_s"), "_dur", "_cum"), "_q", "_s"
        )
        val = (
            pl.when(pl.col("_s").is_null())
            .then(0.0)
            .otherwise(
                pl.col("_cum")
                + pl.min_horizontal(
                    (pl.col("_q") - pl.col("_s")).dt.total_seconds(), pl.col("_dur")
                )
            )
        )
        return j.select("asset_id", "t", val.alias(name))

    dm = downtime(pl.col("t"), "_a").join(downtime(pl.col("t") - DAY, "_b"), on=["asset_id", "t"])
    out = out.join(
        dm.select("asset_id", "t", ((pl.col("_a") - pl.col("_b")) / 60).alias("disp.down_min_24h")),
        on=["asset_id", "t"],
    )

    def since(events: pl.DataFrame, exact: bool, name: str) -> pl.DataFrame:
        j = _last_event(g, events.sort("asset_id", "_at"), "t", "_at", at_same_time=exact)
        h = ((pl.col("t") - pl.col("_start")).dt.total_seconds() / 3600).clip(upper_bound=CAP_HOURS)
        return j.select("asset_id", "t", h.fill_null(CAP_HOURS).alias(name))

    maint = ev.filter(pl.col("state") == "maintenance").select(
        "asset_id", pl.col("ts").alias("_at"), pl.col("ts").alias("_start")
    )
    fail = unplanned.filter(
        pl.col("_end").is_null() | (pl.col("_end") - pl.col("ts") >= MIN_DOWN)
    ).select("asset_id", (pl.col("ts") + MIN_DOWN).alias("_at"), pl.col("ts").alias("_start"))
    out = out.join(since(maint, False, "disp.h_since_maintenance"), on=["asset_id", "t"])
    out = out.join(since(fail, True, "disp.h_since_failure"), on=["asset_id", "t"])
    crews = ev.select("asset_id", pl.col("ts").alias("_at"), "state", "crew")
    last = _last_event(g, crews, "t", "_at", at_same_time=False)
    run = (
        pl.when(pl.col("state") == "running")
        .then(((pl.col("t") - pl.col("_at")).dt.total_seconds() / 3600).clip(upper_bound=CAP_HOURS))
        .otherwise(0.0)
    )
    out = out.join(
        last.select(
            "asset_id",
            "t",
            run.alias("disp.run_h"),
            pl.col("crew").cast(pl.String).alias("disp.crew"),
        ),
        on=["asset_id", "t"],
    )
    return out


def hse_features(incidents: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """HSE incidents of the asset in the last 7 and 30 days, and the worst severity in 30."""
    g = grid.select("asset_id", "t").sort("asset_id", "t")
    ev = incidents.select("asset_id", pl.col("ts").alias("_at"), "severity")
    out = g
    for name, w in (("hse.count_7d", timedelta(days=7)), ("hse.count_30d", timedelta(days=30))):
        out = out.join(_count_in_window(ev, g, w, name), on=["asset_id", "t"])
    # worst severity in the last 30 days: a range join, small because incidents are few
    pairs = g.join(ev, on="asset_id", how="inner").filter(
        (pl.col("_at") < pl.col("t")) & (pl.col("_at") >= pl.col("t") - timedelta(days=30))
    )
    worst = pairs.group_by("asset_id", "t").agg(
        pl.col("severity").max().cast(pl.Float64).alias("hse.max_severity_30d")
    )
    return out.join(worst, on=["asset_id", "t"], how="left").with_columns(
        pl.col("hse.max_severity_30d").fill_null(0.0)
    )


def context_features(assets: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """Hour and night flag (UTC), asset kind and criticality."""
    return (
        grid.select("asset_id", "t")
        .join(
            assets.select(
                "asset_id",
                pl.col("kind").alias("ctx.kind"),
                pl.col("criticality").cast(pl.Float64).alias("ctx.criticality"),
            ),
            on="asset_id",
            how="left",
        )
        .with_columns(
            pl.col("t").dt.hour().cast(pl.Float64).alias("ctx.hour"),
            (~pl.col("t").dt.hour().is_between(*NIGHT_UTC_HOURS))
            .cast(pl.Float64)
            .alias("ctx.night_shift"),
        )
    )
