"""`precursor train`: features -> LightGBM -> calibrated, thresholded, logged and registered."""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
from tqdm import tqdm

from models import registry
from models.estimator import PARAMS, TOTAL_ROUNDS, RiskModel, fit
from models.evaluation import Policy
from pipelines import plots
from pipelines.dataset import (
    Dataset,
    Windows,
    dataset_from_frames,
    feature_rows,
    load_dataset,
    scored,
    subsample_negatives,
)
from pipelines.evaluate import (
    baselines,
    beats,
    choose,
    explain_openings,
    model_metrics,
    window_metrics,
)
from precursor.core import db
from precursor.core.errors import PrecursorError
from precursor.core.progress import no_bar
from precursor.core.settings import Settings
from services.predict.policy import policy_from
from services.predict.registry_sync import sync_registry

logger = logging.getLogger(__name__)


def prepare(ds: Dataset, quiet: bool = False):
    """Feature rows of the three windows (training negatives subsampled)."""
    w = ds.windows
    steps = [
        ("train", subsample_negatives(ds.rows(w.start, w.train_end))),
        ("valid", ds.rows(w.valid_start, w.valid_end)),
        ("test", ds.rows(w.test_start, w.test_end)),
    ]
    spans = {"train": (w.start, w.train_end), "valid": (w.valid_start, w.valid_end)}
    for name, rows in steps[:2]:  # (subsampling keeps every positive row)
        if not (rows.get_column("label") == 1).any():
            a, b = spans[name]
            hours = ds.horizon.total_seconds() / 3600
            raise PrecursorError(
                f"no incident within {hours:g} h of any scored time in the {name} window "
                f"({a:%Y-%m-%d} .. {b:%Y-%m-%d}): nothing to learn or calibrate on; "
                "ingest more history (or lower PRECURSOR_MIN_DOWNTIME_MIN)"
            )
    out = {}
    for name, rows in tqdm(steps, desc="features", unit="window", disable=no_bar(quiet)):
        out[name] = feature_rows(ds, rows)
    return out["train"], out["valid"], out["test"]


@dataclass
class Fitted:
    """A model fitted, thresholded and measured, with the feature rows it came from."""

    model: RiskModel
    test: dict  # the model on the test window (window_metrics)
    valid: dict  # and on validation, where its threshold was chosen
    baselines: dict[str, dict]
    x_train: pl.DataFrame
    x_valid: pl.DataFrame
    x_test: pl.DataFrame

    def result(self) -> dict:
        """What `train --json` prints before logging: test metrics, baselines, validation."""
        return {
            **self.test,
            "baselines": self.baselines,
            "valid": self.valid,
            "budget": self.model.info["budget"],
            "window": self.model.info["windows"],
            "horizon_h": self.model.horizon_s / 3600,
        }


def fit_and_evaluate(ds: Dataset, policy: Policy, budget: float, quiet: bool = False) -> Fitted:
    """Fit on the training window, threshold on validation for the alert budget, and measure
    the model and both baselines on the test window (no MLflow, no database)."""
    x_train, x_valid, x_test = prepare(ds, quiet)
    bar = tqdm(total=TOTAL_ROUNDS, desc="lightgbm", unit="tree", disable=no_bar(quiet))
    model = fit(x_train, x_valid, progress=lambda i: bar.update(i - bar.n))
    bar.close()
    valid_scored = scored(ds, x_valid, model.predict(x_valid))
    model.threshold = choose(ds, valid_scored, policy, budget)
    model.horizon_s = int(ds.horizon.total_seconds())
    model.info = {
        "windows": ds.windows.to_dict(),
        "budget": budget,
        "rows": {"train": x_train.height, "valid": x_valid.height, "test": x_test.height},
    }
    valid_m = window_metrics(ds, valid_scored, model.threshold, policy, which="valid")
    test_scored = scored(ds, x_test, model.predict(x_test))
    test_m = window_metrics(ds, test_scored, model.threshold, policy, per_incident=True)
    explain_openings(model, x_test, ds.frames.alarms, test_m["per_incident"])
    base = baselines(ds, x_train, x_valid, x_test, policy, budget, test_scored)
    return Fitted(model, test_m, valid_m, base, x_train, x_valid, x_test)


def run_train(
    settings: Settings,
    *,
    horizon: timedelta,
    budget: float,
    truth: Path | None,
    quiet: bool = False,
) -> dict:
    """Train, evaluate against the baselines, log one MLflow run, register, maybe promote."""
    registry.configure(settings.resolved_mlflow_uri, settings.data_dir.resolve() / "mlartifacts")
    with db.connect(settings) as conn:
        ds = load_dataset(
            conn, horizon, truth, min_downtime=timedelta(minutes=settings.min_downtime_min)
        )
    policy = replace(policy_from(settings), horizon=horizon)

    with mlflow.start_run(run_name="train") as run:
        # The data window first, as an artefact: an artefact store that refuses writes fails
        # the run now, not after minutes of fitting (a fit that fails marks the run FAILED).
        mlflow.log_dict(ds.windows.to_dict(), "data_window.json")
        fitted = fit_and_evaluate(ds, policy, budget, quiet)
        model, x_test, test_m = fitted.model, fitted.x_test, fitted.test
        result = fitted.result()
        mlflow.log_params(
            {
                **{f"lgbm.{k}": v for k, v in PARAMS.items()},
                "best_iteration": model.booster.best_iteration,
                "horizon_h": horizon.total_seconds() / 3600,
                "alert_budget": budget,
                "threshold": model.threshold,
                "features": len(model.features),
                "fast.best_iteration": model.fast.booster.best_iteration,
                "fast.features": len(model.fast.features),
                **{f"window.{k}": v for k, v in ds.windows.to_dict().items()},
                **{f"rows.{k}": v for k, v in model.info["rows"].items()},
            }
        )
        _log_metrics("test", test_m)
        _log_metrics("valid", fitted.valid)
        log_baselines("baseline", fitted.baselines)
        _log_artifacts(model, x_test, ds, {"model": test_m, "baselines": fitted.baselines})
        version = registry.log_risk_model(model, x_test)
        result.update(model_version=version, run_id=run.info.run_id)

    champion = registry.champion_version()
    if champion is None:
        registry.promote(version)
        result["champion"] = {"promoted": True, "previous": None}
    else:
        old = registry.load_version(champion)
        old_m = model_metrics(ds, old, x_test, policy)
        promoted = beats(test_m, old_m, budget)
        if promoted:
            registry.promote(version)
        result["champion"] = {
            "promoted": promoted,
            "previous": champion,
            "previous_on_this_window": old_m,
        }
    with db.connect(settings) as conn:
        sync_registry(conn)
    return result


def fit_frames(frames, valid_share: float = 0.3):
    """A model fitted straight on in-memory frames (no database, no MLflow): the newest
    `valid_share` of the labelled span validates. For benchmarks and tests."""
    from models.features import BASELINE_DAYS, BASELINE_LAG_DAYS

    horizon = timedelta(hours=24)
    lo = frames.r15.get_column("bucket").min() + timedelta(days=BASELINE_DAYS + BASELINE_LAG_DAYS)
    hi = frames.r15.get_column("bucket").max()
    cut = lo + (hi - lo) * (1 - valid_share)
    windows = Windows(lo, cut, cut + horizon, hi, hi, hi)
    ds = dataset_from_frames(frames, windows, hi, horizon, truth={})
    rows = subsample_negatives(ds.rows(lo, cut))
    return fit(feature_rows(ds, rows), feature_rows(ds, ds.rows(cut + horizon, hi)))


def _log_metrics(prefix: str, metrics: dict) -> None:
    mlflow.log_metrics(
        {
            f"{prefix}.{k}": float(v)
            for k, v in metrics.items()
            if isinstance(v, int | float) and v is not None
        }
    )


def log_baselines(prefix: str, base: dict[str, dict]) -> None:
    """Each baseline's metrics, and the model's at that baseline's false-alert rate."""
    for name, m in base.items():
        _log_metrics(f"{prefix}.{name}", m)
        _log_metrics(
            f"{prefix}.{name}.model_at_same_false_alerts", m.get("model_at_same_false_alerts", {})
        )


def _importance_csv(features: list[str], gains: np.ndarray, path: Path) -> None:
    order = np.argsort(-gains)
    path.write_text("feature,gain\n" + "".join(f"{features[i]},{gains[i]:.3f}\n" for i in order))


def _log_artifacts(model, x_test, ds: Dataset, backtest: dict) -> None:
    labels = x_test.get_column("label").to_numpy()
    probs = model.predict(x_test)
    gains = model.booster.feature_importance("gain")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "features.json").write_text(json.dumps(model.features, indent=1))
        _importance_csv(model.features, gains, d / "feature_importance.csv")
        if labels.sum() > 0:
            plots.pr_curve(labels, {"model": probs}, d / "pr_curve.png")
            plots.calibration(labels, probs, d / "calibration.png")
        plots.importance(model.features, gains, d / "feature_importance.png")
        fast_gains = model.fast.booster.feature_importance("gain")
        _importance_csv(model.fast.features, fast_gains, d / "fast_feature_importance.csv")
        # The test window's table: the model (with every incident and its lead) and baselines.
        (d / "backtest.json").write_text(json.dumps(backtest, indent=1, default=str))
        mlflow.log_artifacts(str(d))
