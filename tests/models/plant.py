"""A small simulated plant as polars frames (no database), and as a seeded database."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from pydantic import SecretStr

from pipelines.simulate.frames import Collect, frames_from
from pipelines.simulate.run import SimConfig, Simulation
from precursor.core.db import open_pool
from precursor.core.registry import upsert_assets
from precursor.core.settings import Settings


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
    from pipelines.train import fit_frames

    sim, sink = small_plant(seed, assets, days)
    frames = frames_from(sink.messages, sim.registry())
    return fit_frames(frames), sim, sink, frames


def register_champion(settings: Settings, model, frames, threshold: float = 0.02) -> str:
    """Log `model` to the settings' MLflow store with a low alert threshold (so some assets
    surely cross it in the last day and alerts open) and make it the champion."""
    from dataclasses import replace

    import mlflow

    from models import registry
    from models.features import build_features

    registry.configure(settings.resolved_mlflow_uri, settings.data_dir / "artifacts")
    x = build_features(
        frames,
        frames.assets.select("asset_id").with_columns(t=frames.r15.get_column("bucket").max()),
    )
    with mlflow.start_run():
        version = registry.log_risk_model(replace(model, threshold=threshold), x)
    registry.promote(version)
    return version
