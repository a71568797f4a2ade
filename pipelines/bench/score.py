"""`precursor bench score`: features + model + explanations for N assets at one grid time."""

from __future__ import annotations

import resource
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from models.features import Frames, build_features, scoring_grid
from pipelines.simulate.frames import Collect, frames_from
from pipelines.simulate.run import SimConfig, Simulation
from pipelines.train import fit_frames


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
    sink = Collect()
    sim.emit(sink)
    frames = frames_from(sink.messages, sim.registry())
    model = fit_frames(frames)
    hi = frames.r15.get_column("bucket").max()
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
