"""The two baselines a model must beat: static per-tag thresholds and an IsolationForest."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.ensemble import IsolationForest

from models.estimator import feature_columns, to_matrix


class ThresholdBaseline:
    """What a SCADA alarm does: each tag's raw value against limits fitted on training data,
    per asset kind. The score is the largest |value - mean| / std over the asset's tags."""

    name = "threshold"

    def fit(self, train: pl.DataFrame) -> ThresholdBaseline:
        """Mean and std of each tag's last value per asset kind."""
        self.tags = [c for c in train.columns if c.startswith("sig.") and c.endswith(".last")]
        stats = train.group_by("ctx.kind").agg(
            [pl.col(c).mean().alias(f"{c}|mu") for c in self.tags]
            + [pl.col(c).std().alias(f"{c}|sd") for c in self.tags]
        )
        self.stats = {row["ctx.kind"]: row for row in stats.iter_rows(named=True)}
        return self

    def score(self, frame: pl.DataFrame) -> np.ndarray:
        """Largest standardised deviation of any tag (0 when nothing is known)."""
        kinds = frame.get_column("ctx.kind").to_list()
        out = np.zeros(frame.height)
        for tag in self.tags:
            if tag not in frame.columns:
                continue
            x = frame.get_column(tag).cast(pl.Float64).to_numpy()
            mu = np.array([self.stats.get(k, {}).get(f"{tag}|mu") or np.nan for k in kinds])
            sd = np.array([self.stats.get(k, {}).get(f"{tag}|sd") or np.nan for k in kinds])
            z = np.abs(x - mu) / np.where(sd > 0, sd, np.nan)
            out = np.fmax(out, np.nan_to_num(z, nan=0.0))
        return out


class IsolationBaseline:
    """scikit-learn IsolationForest on the model's own features (missing values: medians)."""

    name = "isolation_forest"

    def fit(self, train: pl.DataFrame) -> IsolationBaseline:
        """Fit on the training rows."""
        self.features = feature_columns(train)
        self.categories = {
            c: sorted(v for v in train.get_column(c).unique().to_list() if v is not None)
            for c in ("ctx.kind", "disp.crew")
            if c in self.features
        }
        x = to_matrix(train, self.features, self.categories)
        self.medians = np.nan_to_num(np.nanmedian(x, axis=0), nan=0.0)
        self.forest = IsolationForest(
            n_estimators=200, max_samples=1024, random_state=7, n_jobs=2
        ).fit(self._impute(x))
        return self

    def _impute(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), self.medians, x)

    def score(self, frame: pl.DataFrame) -> np.ndarray:
        """Higher is more anomalous."""
        x = self._impute(to_matrix(frame, self.features, self.categories))
        return -self.forest.score_samples(x)
