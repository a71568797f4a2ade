"""Feature drift: each feature's training distribution, and the PSI of live values against it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PSI_BINS = 10
# The deciles come from a sample: quantiles of all 266 columns of a 40-asset, 120-day training
# matrix (~400k rows) take seconds, and 50,000 rows pin a decile to about 0.2 percentile points.
REFERENCE_ROWS = 50_000
MIN_ROWS = 20  # fewer live rows than this say nothing about a distribution
FLOOR = 1e-4  # an empty bin on either side would make PSI infinite


def drift_reference(
    features: Sequence[str], categories: dict[str, list[str]], x_train: np.ndarray
) -> dict[str, dict]:
    """Per feature: bin edges (training deciles, or one bin per category), the share of present
    values in each bin, and the share missing. A feature that stops arriving (a tag gone quiet)
    drifts through its missing share."""
    rows = x_train
    if len(rows) > REFERENCE_ROWS:
        pick = np.random.default_rng(0).choice(len(rows), REFERENCE_ROWS, replace=False)
        rows = rows[np.sort(pick)]
    ref = {}
    for j, name in enumerate(features):
        col = rows[:, j]
        present = col[~np.isnan(col)]
        if name in categories:  # codes 0..n-1: a bin each
            edges = np.arange(len(categories[name]) - 1) + 0.5
        elif present.size:
            edges = np.unique(np.quantile(present, np.linspace(0, 1, PSI_BINS + 1))[1:-1])
        else:
            edges = np.empty(0)
        ref[name] = {
            "edges": edges.tolist(),
            "shares": _shares(edges, present).tolist(),
            "missing": 1.0 - present.size / col.size if col.size else 0.0,
        }
    return ref


def psi(reference: dict, values: np.ndarray) -> float | None:
    """Population stability index of `values` against one feature's drift_reference (None when
    there are too few values). References saved before the missing share was kept compare the
    present values only."""
    present = values[~np.isnan(values)]
    edges = np.asarray(reference["edges"])
    expected = np.asarray(reference["shares"], dtype=float)
    if "missing" in reference:
        if values.size < MIN_ROWS:
            return None
        missing = reference["missing"]
        expected = np.append(expected * (1.0 - missing), missing)
        share_missing = 1.0 - present.size / values.size
        actual = np.append(_shares(edges, present) * (1.0 - share_missing), share_missing)
    else:
        if present.size < MIN_ROWS:
            return None
        actual = _shares(edges, present)
    expected = np.clip(expected, FLOOR, None)
    actual = np.clip(actual, FLOOR, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _shares(edges: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Share of `present` in each bin the edges make (zeros when there are no values)."""
    counts = np.bincount(np.searchsorted(edges, present), minlength=edges.size + 1)
    return counts / counts.sum() if counts.sum() else counts.astype(float)
