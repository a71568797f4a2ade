"""Explanations: an across-tags extreme is credited to the tag that holds it, row by row."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.estimator import credit_extremes, signal_of

FEATURES = ["agg.z_6h_max", "agg.z_6h_min", "agg.tags_z6h_above_2", "sig.current.z_6h"]


def _explain(frame: pl.DataFrame, shap: np.ndarray) -> list[dict[str, float]]:
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(FEATURES):
        groups.setdefault(signal_of(name), []).append(i)
    names = list(groups)
    summed = np.column_stack([shap[:, idx].sum(axis=1) for idx in groups.values()])
    names, summed = credit_extremes(frame, FEATURES, shap, names, summed)
    return [dict(zip(names, row.tolist(), strict=True)) for row in summed]


def test_extremes_go_to_their_tag_and_sums_are_kept() -> None:
    frame = pl.DataFrame(
        {
            "sig.current.z_6h": [4.0, -1.0, None],
            "sig.temp.z_6h": [1.0, 3.0, None],
            "sig.vibration.z_6h": [None, -2.5, None],  # a tag this asset kind lacks: null
        }
    )
    shap = np.array(
        [
            [0.8, 0.1, 0.3, 0.2],  # current holds the max, temp the min
            [0.5, -0.2, 0.0, 0.1],  # temp the max, vibration the min
            [0.4, 0.4, 0.1, 0.0],  # no tag known: the extremes stay shared
        ]
    )
    rows = _explain(frame, shap)
    assert rows[0] == pytest.approx(  # the count of deviating tags stays shared
        {"signals:all": 0.3, "current": 1.0, "temp": 0.1, "vibration": 0.0}
    )
    assert rows[1] == pytest.approx(
        {"signals:all": 0.0, "current": 0.1, "temp": 0.5, "vibration": -0.2}
    )
    assert rows[2] == pytest.approx({"signals:all": 0.9, "current": 0.0, "temp": 0.0,
                                     "vibration": 0.0})  # fmt: skip
    for row, contributions in zip(rows, shap, strict=True):
        assert sum(row.values()) == pytest.approx(contributions.sum())
