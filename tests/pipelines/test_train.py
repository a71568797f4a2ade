"""`train` and `backtest` through a real database, and the in-memory cross-plant evaluation:
all three give the same test-window figures for one plant, and the champion alias only moves
for a better model."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from pipelines.backtest import run_backtest
from pipelines.bench.quality import PLANT_KEYS, evaluate_plant
from pipelines.evaluate import KEYS
from pipelines.simulate.run import SimConfig, Simulation, write_jsonl
from pipelines.train import run_train
from tests.models.plant import seed_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# A small plant with incidents in all three windows (two with a precursor in the test one).
SEED, ASSETS, DAYS = 6, 10, 40


def _same(a: dict, b: dict, keys) -> None:
    for k in keys:
        if isinstance(a[k], float):
            assert b[k] == pytest.approx(a[k], rel=1e-9, abs=1e-12), k
        else:
            assert b[k] == a[k], k


def test_train_backtest_and_the_in_memory_evaluation_agree(settings, tmp_path) -> None:
    sim = Simulation(SimConfig(seed=SEED, assets=ASSETS, days=DAYS, interval_s=300))
    seed_database(settings.database_url.get_secret_value(), sim)
    truth = tmp_path / "ground_truth.jsonl"
    write_jsonl(truth, sim.ground_truth())
    horizon = timedelta(hours=settings.horizon_h)

    trained = run_train(
        settings, horizon=horizon, budget=settings.alert_budget, truth=truth, quiet=True
    )
    assert trained["model_version"] == "1" and trained["champion"]["promoted"] is True
    assert trained["incidents_with_precursor"] == 2
    # The registry's copy in the database carries the threshold, for the API's alert level.
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        stored = conn.execute("SELECT threshold FROM model_versions WHERE champion").fetchone()
    assert stored == (pytest.approx(trained["threshold"], rel=1e-9),) and trained["threshold"] > 0
    assert set(trained["baselines"]) == {"threshold", "isolation_forest"}

    backtested = run_backtest(settings, version=None, truth=truth, quiet=True)
    assert backtested["model_version"] == "1"
    _same(trained, backtested, KEYS)
    # Both list every test incident with its alert and lead, and agree on each one.
    table = backtested["per_incident"]
    assert len(table) == backtested["incidents"] == len(trained["per_incident"])
    assert sum(r["warned_1h"] for r in table) == round(backtested["recall_at_1h"] * len(table))
    assert sum(bool(r["precursor"]) for r in table) == backtested["incidents_with_precursor"]
    for mine, theirs in zip(trained["per_incident"], table, strict=True):
        _same(mine, theirs, mine.keys())
    # Each alert's opening is explained as the scorer explained it: up to three signals, the
    # strongest first; an incident no alert warned of has no explanation.
    assert any(r["alert_id"] for r in table)
    for r in table:
        if r["alert_id"] is None:
            assert r["alert_signals"] is None and r["open_at_incident"] is False
            continue
        told = [c["contribution"] for c in r["alert_signals"]]
        assert 1 <= len(told) <= 3 and told == sorted(told, reverse=True) and min(told) > 0

    plant = evaluate_plant(SEED, ASSETS, DAYS, 300, settings, quiet=True)
    _same(trained, plant, PLANT_KEYS)
    start = datetime.fromisoformat(plant["test_window"][0])
    assert start.strftime("%Y-%m-%dT%H:%M") in trained["window"]["test_start"]
    for name, base in plant["baselines"].items():
        _same(trained["baselines"][name], base, ("recall_at_1h", "false_alerts_per_asset_week"))

    # The same data trains the same model: not better, so the alias stays on version 1.
    again = run_train(
        settings, horizon=horizon, budget=settings.alert_budget, truth=truth, quiet=True
    )
    assert again["model_version"] == "2"
    assert again["champion"] == {
        "promoted": False,
        "previous": "1",
        "previous_on_this_window": again["champion"]["previous_on_this_window"],
    }
    _same(again["champion"]["previous_on_this_window"], again, KEYS)


def test_train_stops_before_fitting_when_the_artefact_store_refuses(
    settings, tmp_path, monkeypatch
) -> None:
    """An artefact store that refuses writes (a server without write access to its volume) is
    found before the fit, not after minutes of it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    import pipelines.train

    sim = Simulation(SimConfig(seed=SEED, assets=ASSETS, days=DAYS, interval_s=300))
    seed_database(settings.database_url.get_secret_value(), sim)

    def refuse(*args: object, **kwargs: object) -> None:
        raise MlflowException("artifact store refuses writes")

    def fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("fitted before the artefact store was tried")

    monkeypatch.setattr(mlflow, "log_dict", refuse)
    monkeypatch.setattr(pipelines.train, "fit_and_evaluate", fit)
    with pytest.raises(MlflowException, match="refuses"):
        run_train(settings, horizon=timedelta(hours=24), budget=0.5, truth=None, quiet=True)
