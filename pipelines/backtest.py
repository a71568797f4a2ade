"""`precursor backtest`: walk-forward replay of the live scorer over a model's test window."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import mlflow

from models import registry
from pipelines.dataset import Windows, load_dataset, scored
from pipelines.evaluate import baselines, explain_openings, window_metrics
from pipelines.train import _log_metrics, log_baselines, prepare
from precursor.core import db
from precursor.core.errors import PrecursorError
from precursor.core.settings import Settings
from services.predict.policy import policy_from


def run_backtest(
    settings: Settings, *, version: str | None, truth: Path | None, quiet: bool = False
) -> dict:
    """Score every 15-min step of the test window with features as the live scorer builds them
    (batch and live features are tested equal), run the alert machine, measure per incident."""
    registry.configure(settings.resolved_mlflow_uri, settings.data_dir.resolve() / "mlartifacts")
    if version is None:
        version = registry.champion_version()
        if version is None:
            raise PrecursorError("no champion model yet: run `precursor train` first")
    elif version not in (known := registry.registered_versions()):  # the champion always is
        raise PrecursorError(
            f"precursor-risk version {version} is not registered "
            f"(registered: {', '.join(known) or 'none'})"
        )
    model = registry.load_version(version)
    horizon = timedelta(seconds=model.horizon_s)
    windows = Windows.from_dict(model.info["windows"])
    with db.connect(settings) as conn:
        ds = load_dataset(
            conn,
            horizon,
            truth,
            windows=windows,
            min_downtime=timedelta(minutes=settings.min_downtime_min),
        )
    x_train, x_valid, x_test = prepare(ds, quiet)
    policy = replace(policy_from(settings), horizon=horizon)
    test_scored = scored(ds, x_test, model.predict(x_test))
    result = window_metrics(ds, test_scored, model.threshold, policy, per_incident=True)
    explain_openings(model, x_test, ds.frames.alarms, result["per_incident"])
    budget = model.info.get("budget", 0.5)
    result["baselines"] = baselines(
        ds, x_train, x_valid, x_test, policy, budget, model_scored=test_scored
    )
    result.update(
        model_version=version,
        budget=budget,
        window=windows.to_dict(),
        horizon_h=horizon.total_seconds() / 3600,
    )
    with mlflow.start_run(run_name=f"backtest v{version}"):
        mlflow.log_params({"model_version": version, "alert_budget": budget})
        _log_metrics("backtest", {k: v for k, v in result.items() if k != "baselines"})
        log_baselines("backtest.baseline", result["baselines"])
        mlflow.log_dict(result, "backtest.json")
    return result
