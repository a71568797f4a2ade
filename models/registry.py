"""The MLflow model registry: log the risk model as a pyfunc, register it, move `champion`."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
import pandas as pd
import polars as pl
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from models.estimator import RiskModel

logger = logging.getLogger(__name__)

MODEL_NAME = "precursor-risk"
CHAMPION = "champion"
EXPERIMENT = "precursor"
# What the registry answers for a model or an alias that does not exist (yet).
_ABSENT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow wrapper: a pandas frame of features in, calibrated probabilities out."""

    def load_context(self, context) -> None:
        """Load the saved RiskModel."""
        self.model = RiskModel.load(Path(context.artifacts["model"]))

    # The hint is the frame type MLflow skips schema inference for: the model is logged with its
    # own signature (log_risk_model), and an unhinted predict makes MLflow warn at every load.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        """Probabilities for each row."""
        return self.model.predict(pl.from_pandas(model_input))


def use_store(tracking_uri: str) -> None:
    """Point MLflow at the store for reading only (the API: no experiment is created)."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def is_server(tracking_uri: str) -> bool:
    """True for a tracking server (http/https), which stores artefacts where it is configured
    to; False for a local store (a sqlite file, a directory)."""
    return urlsplit(tracking_uri).scheme in ("http", "https")


def configure(tracking_uri: str, artifact_dir: Path) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id.
    `artifact_dir` is the artefact root for a local store only."""
    use_store(tracking_uri)
    client = MlflowClient()
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        if is_server(tracking_uri) and found.artifact_location.startswith("file:"):
            logger.warning(
                "MLflow experiment %r keeps its artefacts at %s, a path on whichever machine "
                "logs them; other machines cannot load its models unless that path is shared",
                EXPERIMENT,
                found.artifact_location,
            )
        mlflow.set_experiment(EXPERIMENT)
        return found.experiment_id
    if is_server(tracking_uri):
        # The server's own artefact root (e.g. `--serve-artifacts`): a path here would be one
        # on this machine, which a scorer elsewhere could not read.
        experiment_id = client.create_experiment(EXPERIMENT)
    else:
        artifact_dir.mkdir(parents=True, exist_ok=True)
        # An explicit artefact root: MLflow would otherwise write ./mlruns wherever it runs.
        experiment_id = client.create_experiment(
            EXPERIMENT, artifact_location=artifact_dir.as_uri()
        )
    mlflow.set_experiment(EXPERIMENT)
    return experiment_id


def log_risk_model(model: RiskModel, sample: pl.DataFrame) -> str:
    """Log the model in the active run with its signature and register it; returns the version."""
    example = sample.select([c for c in model.features if c in sample.columns]).head(50)
    pdf = example.to_pandas()
    signature = infer_signature(pdf, model.predict(example))
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "risk-model")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskPyfunc(),
            artifacts={"model": str(Path(tmp) / "risk-model")},
            signature=signature,
            input_example=pdf.head(3),
            registered_model_name=MODEL_NAME,
            pip_requirements=["lightgbm", "scikit-learn", "polars", "numpy", "pandas"],
        )
    return str(info.registered_model_version)


def load_version(version: str) -> RiskModel:
    """A registered version as a RiskModel."""
    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}")
    return pyfunc.unwrap_python_model().model


def _model_versions(client: MlflowClient) -> list:
    """The registered ModelVersions, oldest first (none when the model is not registered)."""
    try:
        found = client.search_model_versions(f"name = '{MODEL_NAME}'")
    except mlflow.exceptions.MlflowException as exc:
        if exc.error_code in _ABSENT:
            return []
        raise  # a registry that cannot answer is not an empty one
    return sorted(found, key=lambda mv: int(mv.version))


def registered_versions() -> list[str]:
    """The registered versions' numbers, oldest first."""
    return [str(mv.version) for mv in _model_versions(MlflowClient())]


def champion_version() -> str | None:
    """The version the `champion` alias points at; None when there is none. A registry that
    cannot answer raises MlflowException: that is no absence of a champion."""
    try:
        return str(MlflowClient().get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    except mlflow.exceptions.MlflowException as exc:
        if exc.error_code in _ABSENT:
            return None
        raise


def promote(version: str) -> None:
    """Move the `champion` alias to `version`."""
    MlflowClient().set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    logger.info("champion is now %s version %s", MODEL_NAME, version)


def versions() -> list[dict]:
    """Registered versions, newest first, with their run's metrics and alert threshold."""
    client = MlflowClient()
    champ = champion_version()
    out = []
    for mv in reversed(_model_versions(client)):
        data = client.get_run(mv.run_id).data if mv.run_id else None
        threshold = data.params.get("threshold") if data is not None else None
        out.append(
            {
                "version": str(mv.version),
                "champion": str(mv.version) == champ,
                "created_at": mv.creation_timestamp,
                "run_id": mv.run_id,
                "metrics": data.metrics if data is not None else {},
                "threshold": float(threshold) if threshold is not None else None,
            }
        )
    return out
