"""Drift: PSI per feature against the training reference, the missing share included."""

from __future__ import annotations

import numpy as np
import pytest

from models.drift import REFERENCE_ROWS, drift_reference, psi

FEATURES = ["level", "spiky", "kind", "quiet"]
CATEGORIES = {"kind": ["conveyor", "crusher", "pump"]}


def _matrix(rng: np.random.Generator, n: int, *, shift=0.0, kinds=(0.5, 0.3, 0.2), gone=0.05):
    """Columns: a normal level, a mostly-zero count, a category code, a tag that is sometimes
    missing (the `gone` share)."""
    level = rng.normal(10.0 + shift, 2.0, n)
    spiky = np.where(rng.random(n) < 0.8, 0.0, rng.poisson(3, n))
    kind = rng.choice(3, n, p=kinds).astype(float)
    quiet = np.where(rng.random(n) < gone, np.nan, rng.normal(0, 1, n))
    return np.column_stack([level, spiky, kind, quiet]).astype(np.float32)


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    return drift_reference(FEATURES, CATEGORIES, _matrix(np.random.default_rng(1), 80_000))


def _psis(reference, x) -> dict[str, float]:
    return {name: psi(reference[name], x[:, j]) for j, name in enumerate(FEATURES)}


def test_every_feature_has_a_reference_with_its_missing_share(reference) -> None:
    assert list(reference) == FEATURES
    assert reference["kind"]["edges"] == [0.5, 1.5]  # a bin per category
    assert reference["quiet"]["missing"] == pytest.approx(0.05, abs=0.01)
    assert reference["level"]["missing"] == 0.0
    for ref in reference.values():
        assert len(ref["shares"]) == len(ref["edges"]) + 1
        assert sum(ref["shares"]) == pytest.approx(1.0)


def test_the_same_distribution_does_not_drift(reference) -> None:
    values = _psis(reference, _matrix(np.random.default_rng(2), 5000))
    assert all(v < 0.02 for v in values.values()), values


@pytest.mark.parametrize(
    ("change", "drifted"),
    [
        ({"shift": 2.0}, "level"),  # one standard deviation
        ({"kinds": (0.2, 0.3, 0.5)}, "kind"),
        ({"gone": 0.6}, "quiet"),  # a tag that mostly stopped arriving
    ],
)
def test_a_changed_feature_drifts_and_only_it(reference, change, drifted) -> None:
    values = _psis(reference, _matrix(np.random.default_rng(3), 5000, **change))
    assert values[drifted] > 0.25, values  # the usual "significant shift" line
    assert all(v < 0.02 for name, v in values.items() if name != drifted), values


def test_too_few_values_say_nothing_and_old_references_compare_present_values(reference) -> None:
    x = _matrix(np.random.default_rng(4), 10)
    assert psi(reference["level"], x[:, 0]) is None
    old = {k: v for k, v in reference["quiet"].items() if k != "missing"}
    mostly_gone = _matrix(np.random.default_rng(5), 5000, gone=0.6)[:, 3]
    assert psi(old, mostly_gone) < 0.02  # the present values still look like training
    assert psi(reference["quiet"], mostly_gone) > 0.25


def test_a_large_training_matrix_is_sampled_and_a_feature_never_seen_is_all_missing() -> None:
    x = _matrix(np.random.default_rng(6), REFERENCE_ROWS * 2)
    x[:, 3] = np.nan
    ref = drift_reference(FEATURES, CATEGORIES, x)
    assert ref["quiet"] == {"edges": [], "shares": [0.0], "missing": 1.0}
    assert psi(ref["quiet"], np.full(100, np.nan, dtype=np.float32)) == pytest.approx(0.0)
    arriving = np.random.default_rng(7).normal(0, 1, 100).astype(np.float32)
    assert psi(ref["quiet"], arriving) > 0.25
