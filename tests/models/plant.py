"""A small simulated plant as polars frames (no database), and as a seeded database."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import psycopg
from pydantic import SecretStr

from models.features import Frames
from pipelines.simulate.run import SimConfig, Simulation
from pipelines.simulate.sinks import STREAMS
from precursor.core.db import open_pool
from precursor.core.registry import upsert_assets
from precursor.core.settings import Settings


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
    """Signal snapshots -> (asset_id, ts, tag, value)."""
    rows = [
        (m["asset_id"], m["ts"], tag, v)
        for m in messages
        for tag, v in m["signals"].items()
        if v is not None
    ]
    return pl.DataFrame(rows, schema=["asset_id", "ts", "tag", "value"], orient="row").with_columns(
        _ts("ts")
    )


def rollups(samples: pl.DataFrame, dispatch: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 15-min and (running-only) daily rollups computed from raw samples (the reference)."""
    from models.features import running_buckets

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
        .with_columns(pl.col("bucket").dt.truncate("1d").alias("day"))
        .group_by("asset_id", "tag", "day")
        .agg(pl.col("n").sum(), pl.col("sum").sum(), pl.col("sumsq").sum())
    )
    return r15, rday


def frames_from(messages: dict[str, list[dict]], registry: list[dict]) -> Frames:
    """Frames as load_frames returns them, built straight from the messages."""
    alarms = pl.DataFrame(messages["alarms"]).select("asset_id", _ts("ts"), "kind", "state")
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


def small_plant(seed: int = 7, assets: int = 6, days: float = 14) -> tuple[Simulation, Collect]:
    """Render a small plant into memory."""
    sim = Simulation(
        SimConfig(
            seed=seed,
            assets=assets,
            days=days,
            interval_s=300,
            start=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    sink = Collect()
    sim.emit(sink)
    return sim, sink


def seed_database(url: str, sim: Simulation) -> None:
    """Write a simulation into a migrated database through ingest's writers."""
    from pipelines.simulate.sinks import DatabaseSink

    settings = Settings(database_url=SecretStr(url))
    with open_pool(settings, max_size=2) as pool:
        with pool.connection() as conn:
            upsert_assets(conn, sim.registry())
        sink = DatabaseSink(pool)
        sim.emit(sink)
        sink.close()


def connect(url: str) -> psycopg.Connection:
    """A plain connection."""
    return psycopg.connect(url)


def train_small_model(seed: int = 11, assets: int = 16, days: float = 45):
    """A model trained in memory on a small simulated plant (for behaviour tests)."""
    from datetime import timedelta

    from models.estimator import fit
    from models.features import build_features, scoring_grid
    from models.labels import incidents, label
    from pipelines.dataset import subsample_negatives

    sim, sink = small_plant(seed, assets, days)
    frames = frames_from(sink.messages, sim.registry())
    lo = frames.r15.get_column("bucket").min() + timedelta(days=9)
    hi = frames.r15.get_column("bucket").max()
    ids = frames.assets.get_column("asset_id").to_list()
    grid = label(
        scoring_grid(ids, lo, hi - timedelta(hours=24), frames.dispatch),
        incidents(frames.dispatch, frames.incidents, hi),
    )
    cut = lo + (hi - lo) * 0.7
    train = subsample_negatives(grid.filter(pl.col("t") < cut))
    valid = grid.filter(pl.col("t") >= cut + timedelta(hours=24))

    def rows(g: pl.DataFrame) -> pl.DataFrame:
        return build_features(frames, g.select("asset_id", "t")).join(
            g.select("asset_id", "t", "label"), on=["asset_id", "t"]
        )

    model = fit(rows(train), rows(valid))
    return model, sim, sink, frames
