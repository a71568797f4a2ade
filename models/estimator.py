"""The risk model: LightGBM with early stopping, Platt calibration, per-signal explanations.

Two detectors: the main one sees every feature; a fast one sees only the last hours' evidence
(features.is_fast). Risk is the larger of their probabilities, recalibrated: the main detector
weighs slow context well but learns to wait for it, and the fast one is what warns early.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from models.drift import drift_reference
from models.event_features import ALARM_KINDS, ALARM_SOURCE, alarm_sources
from models.features import CATEGORICAL, DEVIATION_COUNTS, MODEL_STATS, is_fast

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


def signal_of(feature: str) -> str:
    """The signal or event family a feature explains: sig.vibration_mm_s.z_6h -> vibration_mm_s."""
    parts = feature.split(".")
    if parts[0] == "sig":  # sig.<tag>.<stat>: a tag's name may hold dots (FIC-101.PV)
        return feature[len("sig.") : feature.rindex(".")]
    if parts[0] == "alarm":
        return f"alarms:{parts[1]}"
    if parts[0] == ALARM_SOURCE:  # alarmsrc.<group>.<window>.<tag>: the tag that raised them
        return feature.split(".", 3)[3]
    if parts[0] == "disp":
        return f"dispatch:{parts[1]}"
    if parts[0] == "hse":
        return "hse_incidents"
    if parts[0] == "agg":
        # across the asset's tags; handed to the tags they stand for row by row (credit_parts)
        return "signals:all"
    return f"context:{parts[1]}"


_EXTREME = re.compile(r"agg\.(.+)_(max|min)")  # agg.z_6h_max: the largest z_6h of any tag
_ALARMS_ALL = re.compile(r"alarm\.all\.(.+)")  # alarm.all.1h: activations of every kind in 1 h


def _tags(columns: Iterable[str]) -> set[str]:
    """The tags that sig.<tag>.<stat> columns are about."""
    return {signal_of(c) for c in columns if c.startswith("sig.")}


def _shares(features: list[str], present: set[str]) -> list[tuple[int, str, float, list[str]]]:
    """The features that sum up others an explanation can hand on: (feature index, rule,
    threshold, the columns it sums up); rule is 'max' or 'min' for an extreme across tags,
    'above' for a count of deviating tags, 'sum' for an alarm count: to the tags that raised
    the alarms when the frame carries them (event_features.alarm_sources), else, for the alarms of
    every kind, to each kind."""
    tags = sorted(_tags(present))
    sources: dict[str, list[str]] = {}  # alarm.HI.1h -> alarmsrc.HI.1h.<tag> of every tag
    for c in sorted(present):
        if c.startswith(f"{ALARM_SOURCE}."):
            group, window = c.split(".", 3)[1:3]
            sources.setdefault(f"alarm.{group}.{window}", []).append(c)
    out = []
    for i, feature in enumerate(features):
        if (match := _EXTREME.fullmatch(feature)) is not None:
            stat = match.group(1)
            rule, limit, columns = match.group(2), 0.0, [f"sig.{t}.{stat}" for t in tags]
        elif feature in DEVIATION_COUNTS:
            stat, limit = DEVIATION_COUNTS[feature]
            rule, columns = "above", [f"sig.{t}.{stat}" for t in tags]
        elif feature in sources:
            rule, limit, columns = "sum", 0.0, sources[feature]
        elif (match := _ALARMS_ALL.fullmatch(feature)) is not None:
            rule, limit = "sum", 0.0
            columns = [f"alarm.{kind}.{match.group(1)}" for kind in ALARM_KINDS]
        else:
            continue
        columns = [c for c in columns if c in present]
        if columns:
            out.append((i, rule, limit, columns))
    return out


def _weights(values: np.ndarray, rule: str, limit: float) -> np.ndarray:
    """Each row's share of a summing-up feature per part: all of it to the tag holding an
    extreme, equal parts to the tags a count counts, to each tag or alarm kind its part of an
    alarm count; rows with no such part get none."""
    if rule == "above":
        parts = (np.nan_to_num(values, nan=-np.inf) > limit).astype(float)
    elif rule == "sum":
        parts = np.nan_to_num(values, nan=0.0)
    else:  # max / min: all of it to the extreme
        return _extreme_weights(values, rule)
    total = parts.sum(axis=1, keepdims=True)
    return np.divide(parts, total, out=np.zeros_like(parts), where=total > 0)


def _extreme_weights(values: np.ndarray, rule: str) -> np.ndarray:
    """One-hot on the tag holding each row's max or min; rows with no known tag get none."""
    weights = np.zeros_like(values)
    rows = np.arange(len(values))
    known = ~np.isnan(values).all(axis=1)
    fill = -np.inf if rule == "max" else np.inf
    filled = np.where(np.isnan(values), fill, values)
    pick = filled.argmax(axis=1) if rule == "max" else filled.argmin(axis=1)
    weights[rows[known], pick[known]] = 1.0
    return weights


def signal_contributions(
    frame: pl.DataFrame,
    features: list[str],
    shap: np.ndarray,
    kind_tags: dict[str, list[str]] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Per-feature SHAP contributions summed per signal (signal_of), then what a summing-up
    feature stands for credited to its parts (credit_parts), then, given each kind's tags
    (kind_tags), what a tag the row's kind does not have contributed to the kind
    (credit_foreign_tags): the names and one column each."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(features):
        groups.setdefault(signal_of(name), []).append(i)
    names = list(groups)
    summed = np.column_stack([shap[:, idx].sum(axis=1) for idx in groups.values()])
    names, summed = credit_parts(frame, features, shap, names, summed)
    if kind_tags:
        names, summed = credit_foreign_tags(frame, features, kind_tags, names, summed)
    return names, summed


KIND = "ctx.kind"


def kind_tags(frame: pl.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """The tags each asset kind has: those with a model feature known on any of its rows."""
    if KIND not in frame.columns:
        return {}
    first: dict[str, str] = {}  # tag -> one of its features
    for name in features:
        if name.startswith("sig."):
            first.setdefault(signal_of(name), name)
    if not first:
        return {}
    seen = frame.group_by(KIND).agg(
        pl.col(column).is_not_null().any().alias(tag) for tag, column in first.items()
    )
    out = {}
    for row in seen.iter_rows(named=True):
        if (kind := row.pop(KIND)) is not None:
            out[kind] = sorted(tag for tag, known in row.items() if known)
    return out


def credit_foreign_tags(
    frame: pl.DataFrame,
    features: list[str],
    kinds: dict[str, list[str]],
    names: list[str],
    summed: np.ndarray,
) -> tuple[list[str], np.ndarray]:
    """Move what a tag contributed on a row whose kind does not have it to 'context:kind': the
    booster reads a conveyor's missing crusher tags as 'this is a conveyor', which is the kind
    speaking, not a signal an operator could look at. Kinds unseen in training keep theirs."""
    if KIND not in frame.columns:
        return names, summed
    tags = _tags(features)
    tag_cols = [j for j, name in enumerate(names) if name in tags]
    if not tag_cols:
        return names, summed
    row_kinds = np.array(frame.get_column(KIND).to_list(), dtype=object)
    foreign = np.zeros((len(summed), len(tag_cols)), dtype=bool)  # row lacks that tag
    for kind, has in kinds.items():
        foreign[row_kinds == kind] = [names[j] not in has for j in tag_cols]
    to = signal_of(KIND)
    if to in names:
        names, summed = list(names), summed.copy()
    else:
        names, summed = [*names, to], np.column_stack([summed, np.zeros(len(summed))])
    cols = summed[:, tag_cols]
    summed[:, names.index(to)] += np.where(foreign, cols, 0.0).sum(axis=1)
    summed[:, tag_cols] = np.where(foreign, 0.0, cols)
    return names, summed


def credit_parts(
    frame: pl.DataFrame, features: list[str], shap: np.ndarray, names: list[str], summed: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Move each row's contribution of a feature that sums up others to what it sums up in that
    row, so that an explanation names something an operator can look at: an extreme across tags
    (agg.<stat>_max / _min) to the tag holding it, a count of deviating tags (agg.tags_*) in
    equal parts to the tags it counts (both off 'signals:all'), an alarm count (alarm.<group>.
    <window>) to the tags that raised its alarms by their share when the frame carries
    event_features.alarm_sources, else, for the count of every kind, to each kind by its share (off
    'alarms:<group>'). Sums are kept; what no part accounts for (no tag known, none deviating,
    no alarm) stays where it was."""
    shares = _shares(features, set(frame.columns))
    if not shares:
        return names, summed
    needed = sorted({c for *_, columns in shares for c in columns})
    matrix = frame.select(needed).cast(pl.Float64).to_numpy()  # one read for all of them
    where = {c: j for j, c in enumerate(needed)}
    credit: dict[str, np.ndarray] = {}
    for i, rule, limit, columns in shares:
        weights = _weights(matrix[:, [where[c] for c in columns]], rule, limit)
        source = signal_of(features[i])
        credit.setdefault(source, np.zeros(len(summed)))
        credit[source] -= shap[:, i] * weights.sum(axis=1)
        for k, column in enumerate(columns):
            if weights[:, k].any():
                part = signal_of(column)
                credit.setdefault(part, np.zeros(len(summed)))
                credit[part] += shap[:, i] * weights[:, k]
    names, summed = list(names), summed.copy()
    for name, amount in credit.items():
        if name in names:
            summed[:, names.index(name)] += amount
        else:
            names.append(name)
            summed = np.column_stack([summed, amount])
    return names, summed


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
