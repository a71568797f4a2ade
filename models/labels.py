"""Training labels exactly as SPEC.md defines incidents, and which rows are scored at all."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

MIN_DOWNTIME = timedelta(minutes=30)
HORIZON = timedelta(hours=24)


def incidents(
    dispatch: pl.DataFrame, hse: pl.DataFrame, data_end, min_downtime: timedelta = MIN_DOWNTIME
) -> pl.DataFrame:
    """Every incident: an unplanned `down` whose stop lasts >= min_downtime (a stop still going
    at the end of the data counts once it has lasted that long), or an HSE incident record.
    Columns: asset_id, ts, source (dispatch | hse), ref (event_id | incident_id)."""
    end = pl.lit(data_end).cast(pl.Datetime("us", "UTC"))
    ev = dispatch.sort("asset_id", "ts", "event_id").with_columns(
        pl.col("ts").shift(-1).over("asset_id").alias("_end")
    )
    stops = ev.filter(
        (pl.col("state") == "down")
        & ~pl.col("planned")
        & (pl.col("_end").fill_null(end) - pl.col("ts") >= min_downtime)
    ).select("asset_id", "ts", pl.lit("dispatch").alias("source"), pl.col("event_id").alias("ref"))
    hse_rows = hse.select(
        "asset_id", "ts", pl.lit("hse").alias("source"), pl.col("incident_id").alias("ref")
    )
    return pl.concat([stops, hse_rows]).sort("asset_id", "ts")


def outcome_incidents(outcomes: pl.DataFrame, data_end, horizon: timedelta = HORIZON):
    """Extra training labels from people: an alert marked `true_positive` was a real precursor
    even when no stop followed (the crew may have prevented it), so it counts as an incident
    when the alert closed (or one horizon after it opened, if still open). `false_alarm` and
    `too_late` add nothing: recorded incidents already decide those rows.
    Input columns: asset_id, alert_id, opened_at, closed_at, outcome."""
    end = pl.lit(data_end).cast(pl.Datetime("us", "UTC"))
    return outcomes.filter(pl.col("outcome") == "true_positive").select(
        "asset_id",
        pl.min_horizontal(
            pl.col("closed_at").fill_null(pl.col("opened_at") + horizon),
            pl.col("opened_at") + horizon,
            end,
        ).alias("ts"),
        pl.lit("outcome").alias("source"),
        pl.col("alert_id").alias("ref"),
    )


def label(
    grid: pl.DataFrame, incident_rows: pl.DataFrame, horizon: timedelta = HORIZON
) -> pl.DataFrame:
    """Add `label`: 1 when the asset has an incident in (t, t + horizon]."""
    times = {
        a: np.sort(g.get_column("ts").dt.epoch("us").to_numpy())
        for (a,), g in incident_rows.partition_by("asset_id", as_dict=True).items()
    }
    h = int(horizon.total_seconds() * 1e6)
    out = []
    for (asset,), g in grid.partition_by("asset_id", as_dict=True, maintain_order=True).items():
        t = g.get_column("t").dt.epoch("us").to_numpy()
        inc = times.get(asset, np.empty(0, dtype=np.int64))
        hits = np.searchsorted(inc, t + h, "right") - np.searchsorted(inc, t, "right")
        out.append(g.with_columns(pl.Series("label", (hits > 0).astype(np.int8))))
    return pl.concat(out) if out else grid.with_columns(pl.lit(0, pl.Int8).alias("label"))
