"""`precursor bench score`: features + model + explanations for N assets at one grid time.

Preparing the plant and the model costs far more memory than scoring, so it happens here and
the scoring step is timed in a fresh process (pipelines.bench.score_step) whose own peak RSS
is what the figure reports: what a scorer process needs, not what training needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from models.features import DAILY_LOOKBACK, SIGNAL_LOOKBACK, Frames
from pipelines.bench.score_step import BASE_ASSETS, FRAME_NAMES
from pipelines.simulate.frames import Collect, frames_from
from pipelines.simulate.run import SimConfig, Simulation
from pipelines.train import fit_frames


def live_frames(frames: Frames, t: datetime) -> Frames:
    """What live scoring reads at t: the last day of 15-min rollups and alarms, the daily
    rollups of the baseline days, the event history."""
    r15_from = t - SIGNAL_LOOKBACK
    return Frames(
        frames.r15.filter(pl.col("bucket") >= r15_from),
        frames.rday.filter(pl.col("day") >= t - DAILY_LOOKBACK),
        frames.alarms.filter(pl.col("ts") >= r15_from),
        frames.dispatch,
        frames.incidents,
        frames.assets,
    )


def prepare(directory: Path) -> datetime:
    """Simulate 40 assets x 30 days, train a model on them, and write the model and the live
    frames at the last bucket to `directory`. Returns that scoring time."""
    sim = Simulation(
        SimConfig(
            seed=3,
            assets=BASE_ASSETS,
            days=30,
            interval_s=300,
            start=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    sink = Collect()
    sim.emit(sink)
    frames = frames_from(sink.messages, sim.registry())
    fit_frames(frames).save(directory / "model")
    t = frames.r15.get_column("bucket").max()
    live = live_frames(frames, t)
    for name in FRAME_NAMES:
        getattr(live, name).write_parquet(directory / f"{name}.parquet")
    return t


def run_bench_score(assets: int = 1000) -> dict:
    """Train a small model, then time one live scoring step for `assets` assets in a fresh
    process."""
    with tempfile.TemporaryDirectory(prefix="precursor-bench-score-") as tmp:
        directory = Path(tmp)
        t = prepare(directory)
        step = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipelines.bench.score_step",
                str(directory),
                t.isoformat(),
                str(assets),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if step.returncode != 0:
            raise RuntimeError(f"the scoring step failed: {step.stderr.strip()[-2000:]}")
        return json.loads(step.stdout.strip().splitlines()[-1])
