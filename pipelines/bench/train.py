"""`precursor bench train`: how long training takes on the default plant, apart from loading it."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg

from pipelines.bench.environment import bench_environment
from pipelines.simulate.run import SimConfig, Simulation, write_jsonl
from pipelines.simulate.sinks import DatabaseSink
from pipelines.train import run_train
from precursor.core.db import open_pool
from precursor.core.registry import upsert_assets
from precursor.core.settings import Settings
from services.predict.rollups import refresh_rollups


def run_bench_train(
    settings: Settings, assets: int = 40, days: float = 120, interval: int = 300
) -> dict:
    """Seed a throw-away database with the plant, roll it up, then time `train`."""
    with bench_environment(settings) as env:
        s = env.settings.model_copy(update={"mlflow_tracking_uri": None})
        sim = Simulation(SimConfig(seed=7, assets=assets, days=days, interval_s=interval))
        truth = env.workdir / "ground_truth.jsonl"
        write_jsonl(truth, sim.ground_truth())
        t0 = time.perf_counter()
        with open_pool(s, max_size=2) as pool:
            with pool.connection() as conn:
                upsert_assets(conn, sim.registry())
            sink = DatabaseSink(pool, batch_rows=50_000)
            sim.emit(sink)
            sink.close()
        t1 = time.perf_counter()
        with psycopg.connect(s.database_url.get_secret_value()) as conn:
            refresh_rollups(conn)
        t2 = time.perf_counter()
        result = run_train(
            s, horizon=timedelta(hours=s.horizon_h), budget=s.alert_budget, truth=truth, quiet=True
        )
        t3 = time.perf_counter()
    return {
        "benchmark": "train",
        "assets": assets,
        "days": days,
        "interval_s": interval,
        "seed_s": round(t1 - t0, 1),
        "rollups_s": round(t2 - t1, 1),
        "train_s": round(t3 - t2, 1),
        "test_recall_at_1h": result["recall_at_1h"],
        "goal": {"train_s_max": 120},
    }
