"""A simulated plant's messages as the frames feature building reads (no database): for tests
and benchmarks that need realistic inputs without ingesting them."""

from __future__ import annotations

import polars as pl

from models import diurnal
from models.features import Frames, running_buckets
from pipelines.simulate.sinks import STREAMS


class Collect:
    """A sink that keeps messages in memory."""

    def __init__(self) -> None:
        self.messages: dict[str, list[dict]] = {s: [] for s in STREAMS}
        self.counts = dict.fromkeys(STREAMS, 0)

    def send(self, stream: str, key: str, message: dict) -> None:
        self.messages[stream].append(message)
        self.counts[stream] += 1

    def close(self) -> None:
        pass


def _ts(col: str) -> pl.Expr:
    return pl.col(col).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")


def samples_frame(messages: list[dict]) -> pl.DataFrame:
    """Signal snapshots -> (asset_id, ts, tag, value), without those of 'bad' quality, which
    the rollups leave out."""
    rows = [
        (m["asset_id"], m["ts"], tag, v)
        for m in messages
        if m.get("quality", "good") != "bad"
        for tag, v in m["signals"].items()
        if v is not None
    ]
    return pl.DataFrame(rows, schema=["asset_id", "ts", "tag", "value"], orient="row").with_columns(
        _ts("ts")
    )


def rollups(samples: pl.DataFrame, dispatch: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 15-min and (running-only) daily rollups computed from raw samples (the reference
    the database's rollup maintainer is tested against)."""
    r15 = (
        samples.sort("ts")
        .with_columns(pl.col("ts").dt.truncate("15m").alias("bucket"))
        .group_by("asset_id", "tag", "bucket")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("value").sum().alias("sum"),
            (pl.col("value") ** 2).sum().alias("sumsq"),
            pl.col("value").min().alias("min"),
            pl.col("value").max().alias("max"),
            pl.col("value").last().alias("last"),
        )
    )
    keys = r15.select("asset_id", "bucket").unique()
    keys = keys.with_columns(running_buckets(dispatch, keys).alias("_ran"))
    rday = (
        r15.join(keys, on=["asset_id", "bucket"])
        .filter(pl.col("_ran"))
        .with_columns(
            pl.col("bucket").dt.truncate("1d").alias("day"),
            *diurnal.bucket_terms(pl.col("bucket"), pl.col("n"), pl.col("sum")),
        )
        .group_by("asset_id", "tag", "day")
        .agg(pl.col("n", "sum", "sumsq", *diurnal.TERMS).sum())
    )
    return r15, rday


def frames_from(messages: dict[str, list[dict]], registry: list[dict]) -> Frames:
    """Frames as load_frames returns them, built straight from the messages."""
    alarms = pl.DataFrame(messages["alarms"]).select(
        "asset_id", _ts("ts"), "tag", "kind", pl.col("priority").cast(pl.Int64), "state"
    )
    dispatch = (
        pl.DataFrame(messages["dispatch"], infer_schema_length=None)
        .select("asset_id", _ts("ts"), "event_id", "state", "planned", "crew", "reason_code")
        .sort("asset_id", "ts", "event_id")
    )
    r15, rday = rollups(samples_frame(messages["signals"]), dispatch)
    inc_schema = {
        "asset_id": pl.String,
        "ts": pl.String,
        "incident_id": pl.String,
        "kind": pl.String,
        "severity": pl.Int64,
    }
    incidents = pl.DataFrame(
        [{k: m[k] for k in inc_schema} for m in messages["incidents"]], schema=inc_schema
    ).with_columns(_ts("ts"))
    assets = pl.DataFrame(registry).select("asset_id", "kind", "site", "area", "criticality")
    return Frames(r15, rday, alarms, dispatch, incidents, assets)
