"""`precursor bench score`: features + model + explanations for N assets at one grid time."""

from __future__ import annotations

import resource
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from models.estimator import fit
from models.features import Frames, build_features, scoring_grid
from models.labels import incidents, label
from pipelines.dataset import subsample_negatives
from pipelines.simulate.run import SimConfig, Simulation


class _Collect:
    def __init__(self) -> None:
        self.messages: dict[str, list[dict]] = {
            s: [] for s in ("signals", "alarms", "dispatch", "incidents")
        }
        self.counts: dict[str, int] = {}

    def send(self, stream: str, key: str, message: dict) -> None:
        self.messages[stream].append(message)

    def close(self) -> None:
        pass


def _frames(sim: Simulation, sink: _Collect) -> Frames:
    """Rollup frames straight from simulated messages (what load_frames would return)."""
    from models.features import running_buckets

    ts = pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
    samples = pl.DataFrame(
        [
            (m["asset_id"], m["ts"], k, v)
            for m in sink.messages["signals"]
            for k, v in m["signals"].items()
        ],
        schema=["asset_id", "ts", "tag", "value"],
        orient="row",
    ).with_columns(ts)
    dispatch = (
        pl.DataFrame(sink.messages["dispatch"], infer_schema_length=None)
        .select("asset_id", ts, "event_id", "state", "planned", "crew", "reason_code")
        .sort("asset_id", "ts", "event_id")
    )
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
    alarms = (
        pl.DataFrame(sink.messages["alarms"]).select("asset_id", ts, "kind", "state")
        if sink.messages["alarms"]
        else pl.DataFrame(
            schema={
                "asset_id": pl.String,
                "ts": pl.Datetime("us", "UTC"),
                "kind": pl.String,
                "state": pl.String,
            }
        )
    )
    inc = pl.DataFrame(
        schema={
            "asset_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "incident_id": pl.String,
            "kind": pl.String,
            "severity": pl.Int64,
        }
    )
    if sink.messages["incidents"]:
        inc = pl.DataFrame(
            [
                {k: m[k] for k in ("asset_id", "ts", "incident_id", "kind", "severity")}
                for m in sink.messages["incidents"]
            ]
        ).with_columns(ts)
    assets = pl.DataFrame(sim.registry()).select("asset_id", "kind", "site", "area", "criticality")
    return Frames(r15, rday, alarms, dispatch, inc, assets)


def _replicate(frames: Frames, copies: int) -> Frames:
    """The same plant `copies` times over, under new asset ids (what 1,000 assets cost)."""

    def rep(df: pl.DataFrame) -> pl.DataFrame:
        return pl.concat(
            [
                df.with_columns((pl.col("asset_id") + f"#{i}").alias("asset_id"))
                for i in range(copies)
            ]
        )

    return Frames(
        *(
            rep(getattr(frames, f))
            for f in ("r15", "rday", "alarms", "dispatch", "incidents", "assets")
        )
    )


def run_bench_score(assets: int = 1000) -> dict:
    """Train a small model, then time one live scoring step for `assets` assets."""
    base = 40
    sim = Simulation(
        SimConfig(
            seed=3, assets=base, days=30, interval_s=300, start=datetime(2026, 1, 1, tzinfo=UTC)
        )
    )
    sink = _Collect()
    sim.emit(sink)
    frames = _frames(sim, sink)
    lo = frames.r15.get_column("bucket").min() + timedelta(days=9)
    hi = frames.r15.get_column("bucket").max()
    ids = frames.assets.get_column("asset_id").to_list()
    grid = label(
        scoring_grid(ids, lo, hi - timedelta(hours=24), frames.dispatch),
        incidents(frames.dispatch, frames.incidents, hi),
    )
    cut = lo + (hi - lo) * 0.7
    rows = subsample_negatives(grid)
    feats = build_features(frames, rows.select("asset_id", "t")).join(
        rows.select("asset_id", "t", "label"), on=["asset_id", "t"]
    )
    model = fit(feats.filter(pl.col("t") < cut), feats.filter(pl.col("t") >= cut))
    # What live scoring reads at t: the last day of 15-min rollups, nine days of daily ones.
    t = hi
    live = Frames(
        frames.r15.filter(pl.col("bucket") >= t - timedelta(hours=24, minutes=15)),
        frames.rday.filter(pl.col("day") >= t - timedelta(days=10)),
        frames.alarms.filter(pl.col("ts") >= t - timedelta(hours=24, minutes=15)),
        frames.dispatch,
        frames.incidents,
        frames.assets,
    )
    copies = max(1, -(-assets // base))
    big = _replicate(live, copies)
    started = time.perf_counter()
    g = scoring_grid(big.assets.get_column("asset_id").to_list()[:assets], t, t, big.dispatch)
    x = build_features(big, g)
    t_features = time.perf_counter()
    prob = model.predict(x)
    t_predict = time.perf_counter()
    near = x.filter(pl.Series(prob >= 0.5 * model.threshold if model.threshold < 1 else prob > 0))
    model.contributions(near.head(max(1, assets // 10)))
    done = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "benchmark": "score",
        "assets": assets,
        "scored_rows": x.height,
        "features": len(model.features),
        "features_s": round(t_features - started, 3),
        "predict_s": round(t_predict - t_features, 3),
        "explain_s": round(done - t_predict, 3),
        "explained_rows": min(near.height, max(1, assets // 10)),
        "total_s": round(done - started, 3),
        "peak_rss_mb": round(rss_mb, 1),
        "goal": {"total_s_max": 1.0, "peak_rss_mb_max": 1024},
    }
