"""The risk model: LightGBM with early stopping, Platt calibration, explained per signal (explain).

Two detectors: the main one sees every feature; a fast one sees only the last hours' evidence
(features.is_fast). Risk is the larger of their probabilities, recalibrated: the main detector
weighs slow context well but learns to wait for it, and the fast one is what warns early.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from models.drift import drift_reference
from models.event_features import alarm_sources
from models.explain import kind_tags, signal_contributions
from models.features import CATEGORICAL, MODEL_STATS, is_fast

PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 80,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "max_bin": 127,
    "num_threads": 2,
    "seed": 7,
    "verbose": -1,
}
ROUNDS = 800
# The fast detector's cap: it is explained on most alert rows, and explaining costs in proportion
# to trees; with a third of the features its validation loss can creep down for hundreds of
# rounds (799 on one of eight plants, 55-99 on the others) for no gain in ranking.
FAST_ROUNDS = 300
EARLY_STOP = 60


def feature_columns(frame: pl.DataFrame) -> list[str]:
    """The model's input columns of a feature frame, in a stable order: everything but keys and
    labels, and of the per-tag statistics only the scale-free ones (MODEL_STATS)."""
    skip = {"asset_id", "t", "label"}

    def wanted(c: str) -> bool:
        if c in skip:
            return False
        return not c.startswith("sig.") or c.rsplit(".", 1)[1] in MODEL_STATS

    return sorted(c for c in frame.columns if wanted(c))


class PlattCalibrator:
    """Logistic regression on the booster's log-odds, fitted on held-back data: strictly
    monotone, so thresholds keep the ranking's full resolution (isotonic steps would not)."""

    def fit(self, raw: np.ndarray, labels: np.ndarray) -> PlattCalibrator:
        """Fit on validation scores and labels."""
        self.lr = LogisticRegression(C=1e6).fit(_logit(raw)[:, None], labels)
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities."""
        return self.lr.predict_proba(_logit(raw)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


@dataclass
class RiskModel:
    """Everything needed to score a feature frame the same way everywhere."""

    booster: lgb.Booster
    calibrator: PlattCalibrator
    features: list[str]
    categories: dict[str, list[str]]
    threshold: float = 0.5
    horizon_s: int = 86400
    reference: dict[str, dict] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    fast: RiskModel | None = None  # the fast detector, when this is the main one
    combined: PlattCalibrator | None = None  # calibrates max(main, fast) probabilities
    # The tags each asset kind has in training (kind_tags): what a kind lacks is not a signal.
    kind_tags: dict[str, list[str]] = field(default_factory=dict)

    # -- scoring -------------------------------------------------------------------------------

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """This model's input matrix for a feature frame."""
        return to_matrix(frame, self.features, self.categories)

    def raw(self, frame: pl.DataFrame) -> np.ndarray:
        """Uncalibrated booster output (a probability of the subsampled training set)."""
        return self.booster.predict(self.matrix(frame), num_iteration=self.booster.best_iteration)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Calibrated probability of an incident within the horizon."""
        if frame.height == 0:
            return np.empty(0)
        own = self._own(frame)
        if self.fast is None:
            return own
        assert self.combined is not None  # fit() and load() set both
        return np.clip(self.combined.predict(np.maximum(own, self.fast._own(frame))), 0.0, 1.0)

    def _own(self, frame: pl.DataFrame) -> np.ndarray:
        """This detector's calibrated probability, without the fast detector."""
        return np.clip(self.calibrator.predict(self.raw(frame)), 0.0, 1.0)

    def contributions(
        self, frame: pl.DataFrame, top: int = 5, alarms: pl.DataFrame | None = None
    ) -> list[list[dict]]:
        """Top signals/event families per row by summed SHAP value (log-odds), largest first,
        from the detector whose probability decided the row's risk. Given the alarms the
        features were built from (Frames.alarms), alarm counts are credited to the tags that
        raised them."""
        if frame.height == 0:
            return []
        if alarms is not None:
            frame = frame.hstack(alarm_sources(alarms, frame).get_columns())
        if self.fast is None:
            return self._explain(frame, top)
        fast_won = self.fast._own(frame) > self._own(frame)
        out: list[list[dict]] = [[] for _ in range(frame.height)]
        for detector, rows in ((self, ~fast_won), (self.fast, fast_won)):
            idx = np.flatnonzero(rows)
            if idx.size:
                for i, row in zip(idx, detector._explain(frame[idx], top), strict=True):
                    out[i] = row
        return out

    def _explain(self, frame: pl.DataFrame, top: int) -> list[list[dict]]:
        """contributions() of this detector alone."""
        shap = self.booster.predict(
            self.matrix(frame), num_iteration=self.booster.best_iteration, pred_contrib=True
        )[:, :-1]
        names, summed = signal_contributions(frame, self.features, shap, self.kind_tags)
        out = []
        for row in summed:
            order = np.argsort(-row)[:top]
            # Rounded first, so that a contribution too small to show is not shown as 0.
            shown = [(names[j], round(float(row[j]), 4)) for j in order]
            out.append([{"signal": s, "contribution": c} for s, c in shown if c > 0])
        return out

    # -- persistence ---------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """booster.txt, calibrator.pkl, meta.json; the fast detector in fast/, the calibration of
        the two together in combined.pkl."""
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / "booster.txt"))
        with open(directory / "calibrator.pkl", "wb") as fh:
            pickle.dump(self.calibrator, fh)
        if self.fast is not None:
            self.fast.save(directory / "fast")
            with open(directory / "combined.pkl", "wb") as fh:
                pickle.dump(self.combined, fh)
        meta = {
            "features": self.features,
            "categories": self.categories,
            "threshold": self.threshold,
            "horizon_s": self.horizon_s,
            "reference": self.reference,
            "info": self.info,
            "best_iteration": self.booster.best_iteration,
            "kind_tags": self.kind_tags,
        }
        (directory / "meta.json").write_text(json.dumps(meta, indent=1, default=str))

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        """Inverse of save."""
        meta = json.loads((Path(directory) / "meta.json").read_text())
        booster = lgb.Booster(model_file=str(Path(directory) / "booster.txt"))
        booster.best_iteration = meta.get("best_iteration", 0)
        with open(Path(directory) / "calibrator.pkl", "rb") as fh:
            calibrator = pickle.load(fh)
        fast, combined = None, None
        if (Path(directory) / "combined.pkl").exists():  # models saved before have one detector
            fast = cls.load(Path(directory) / "fast")
            with open(Path(directory) / "combined.pkl", "rb") as fh:
                combined = pickle.load(fh)
        return cls(
            booster,
            calibrator,
            meta["features"],
            meta["categories"],
            meta["threshold"],
            meta["horizon_s"],
            meta["reference"],
            meta["info"],
            fast,
            combined,
            meta.get("kind_tags", {}),  # models saved before name whatever the booster used
        )


def monotone(feature: str) -> int:
    """+1 where more must never mean less risk: the largest deviation over an asset's tags, how
    many tags deviate, how many alarms fired, how far a drive runs beyond its load. Domain
    knowledge where incidents are few."""
    if ".excess_z_" in feature:
        return 1
    if feature.startswith("agg.") and (feature.endswith("_max") or ".tags_" in feature):
        return 1
    return 1 if feature.startswith("alarm.") else 0


def to_matrix(
    frame: pl.DataFrame, features: list[str], categories: dict[str, list[str]]
) -> np.ndarray:
    """Float32 matrix in `features` order: missing columns NaN, categories as vocabulary codes."""
    cols = []
    for name in features:
        if name not in frame.columns:
            cols.append(np.full(frame.height, np.nan, dtype=np.float32))
        elif name in categories:
            vocab = {v: i for i, v in enumerate(categories[name])}
            codes = [
                vocab.get(v, np.nan) if v is not None else np.nan
                for v in frame.get_column(name).to_list()
            ]
            cols.append(np.array(codes, dtype=np.float32))
        else:
            cols.append(frame.get_column(name).cast(pl.Float32).to_numpy().astype(np.float32))
    if not cols:
        return np.empty((frame.height, 0), dtype=np.float32)
    matrix = np.column_stack(cols)
    matrix[~np.isfinite(matrix)] = np.nan
    return matrix


TOTAL_ROUNDS = ROUNDS + FAST_ROUNDS  # the most trees fit() grows: a progress bar's total


def fit(
    train: pl.DataFrame,
    valid: pl.DataFrame,
    *,
    weight: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> RiskModel:
    """Train both detectors on `train`, stop early and calibrate on `valid` (both carry
    `label`); `progress` gets the number of trees grown so far."""
    features = feature_columns(train)
    categories = {
        c: sorted(v for v in train.get_column(c).unique().to_list() if v is not None)
        for c in CATEGORICAL
        if c in features
    }
    x_train = to_matrix(train, features, categories)
    x_valid = to_matrix(valid, features, categories)
    y_train = train.get_column("label").to_numpy()
    y_valid = valid.get_column("label").to_numpy()
    model, p_main = _fit_detector(
        features, categories, (x_train, y_train), (x_valid, y_valid), ROUNDS, weight, progress
    )
    model.reference = drift_reference(features, categories, x_train)
    grown = model.booster.current_iteration()
    fast = [f for f in features if is_fast(f)]
    cols = [features.index(f) for f in fast]  # the same columns, not re-read from the frames
    model.fast, p_fast = _fit_detector(
        fast,
        {c: v for c, v in categories.items() if c in fast},
        (x_train[:, cols], y_train),
        (x_valid[:, cols], y_valid),
        FAST_ROUNDS,
        weight,
        None if progress is None else lambda i: progress(grown + i),
    )
    model.combined = PlattCalibrator().fit(np.maximum(p_main, p_fast), y_valid)
    model.kind_tags = kind_tags(train, features)
    model.fast.kind_tags = model.kind_tags
    return model


def _fit_detector(
    features: list[str],
    categories: dict[str, list[str]],
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    rounds: int,
    weight: np.ndarray | None,
    progress: Callable[[int], None] | None,
) -> tuple[RiskModel, np.ndarray]:
    """One booster on `features` from (matrix, labels) pairs, early-stopped and Platt-calibrated
    on `valid`; also its calibrated validation probabilities (RiskModel._own on them)."""
    (x_train, y_train), (x_valid, y_valid) = train, valid
    cat_idx = [features.index(c) for c in categories]
    params = {
        **PARAMS,
        "monotone_constraints": [monotone(f) for f in features],
        "monotone_constraints_method": "advanced",
    }
    dtrain = lgb.Dataset(
        x_train,
        y_train,
        weight=weight,
        feature_name=features,
        categorical_feature=cat_idx,
        free_raw_data=False,
    )
    dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain)
    callbacks = [lgb.early_stopping(EARLY_STOP, verbose=False)]
    if progress is not None:
        callbacks.append(lambda env: progress(env.iteration + 1))
    booster = lgb.train(
        {**params, "metric": "binary_logloss"},
        dtrain,
        rounds,
        valid_sets=[dvalid],
        callbacks=callbacks,
    )
    raw_valid = booster.predict(x_valid, num_iteration=booster.best_iteration)
    calibrator = PlattCalibrator().fit(raw_valid, y_valid)
    p_valid = np.clip(calibrator.predict(raw_valid), 0.0, 1.0)
    return RiskModel(booster, calibrator, features, categories), p_valid
