"""One timed live scoring step in a process of its own: `python -m pipelines.bench.score_step`.

Arguments DIR T N. No training or MLflow imports: the process is what a scorer needs. Reads
the model and live frames `pipelines.bench.score` prepared, replicates the plant to N
assets, and prints one JSON line: feature, predict and explain times and this process's peak
RSS.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from models.estimator import RiskModel
from models.features import Frames, build_features
from models.grid import scoring_grid
from precursor.core.runtime.processes import peak_rss_mb

FRAME_NAMES = ("r15", "rday", "alarms", "dispatch", "incidents", "assets")
BASE_ASSETS = 40


def replicate(frames: Frames, copies: int) -> Frames:
    """The same plant `copies` times over, under new asset ids (what 1,000 assets cost)."""

    def rep(df: pl.DataFrame) -> pl.DataFrame:
        return pl.concat(
            [
                df.with_columns((pl.col("asset_id") + f"#{i}").alias("asset_id"))
                for i in range(copies)
            ]
        )

    return Frames(*(rep(getattr(frames, f)) for f in FRAME_NAMES))


def step(model: RiskModel, frames: Frames, ids: list[str], t: datetime) -> dict:
    """One scoring step, timed: features, probability, explanations."""
    started = time.perf_counter()
    grid = scoring_grid(ids, t, t, frames.dispatch)
    x = build_features(frames, grid)
    t_features = time.perf_counter()
    prob = model.predict(x)
    t_predict = time.perf_counter()
    # The scorer explains rows near or above the alert line; a tenth of the plant, the riskiest,
    # is more than it ever explains at once, so the figure is an upper bound.
    explained = x[np.argsort(-prob)[: max(1, len(ids) // 10)].tolist()]
    model.contributions(explained, alarms=frames.alarms)
    done = time.perf_counter()
    return {
        "scored_rows": x.height,
        "features_s": round(t_features - started, 3),
        "predict_s": round(t_predict - t_features, 3),
        "explain_s": round(done - t_predict, 3),
        "explained_rows": explained.height,
        "total_s": round(done - started, 3),
    }


def measure(directory: Path, t: datetime, assets: int) -> dict:
    """Time a first and a second scoring step for `assets` assets at t (a running scorer is
    always in its second or later step) and report this process's peak RSS."""
    model = RiskModel.load(directory / "model")
    base = Frames(*(pl.read_parquet(directory / f"{name}.parquet") for name in FRAME_NAMES))
    big = replicate(base, max(1, -(-assets // BASE_ASSETS)))
    ids = big.assets.get_column("asset_id").to_list()[:assets]
    first = step(model, big, ids, t)
    steady = step(model, big, ids, t)
    return {
        "benchmark": "score",
        "assets": assets,
        "features": len(model.features),
        **steady,
        "first_step_total_s": first["total_s"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "goal": {"total_s_max": 1.0, "peak_rss_mb_max": 1024},
    }


if __name__ == "__main__":
    print(
        json.dumps(
            measure(Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), int(sys.argv[3]))
        )
    )
