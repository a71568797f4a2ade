"""`bench history` on a small plant: every first model is judged on the same unseen live days."""

from __future__ import annotations

import argparse
from datetime import datetime

import pytest

from pipelines.bench.history import run_bench_history
from pipelines.simulate.run import SimConfig, Simulation
from precursor.cli.commands.args import days_list
from precursor.core.settings import Settings


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_first_models_are_judged_on_the_same_live_days_they_never_saw() -> None:
    result = run_bench_history(Settings(), [7], [30.0, 40.0], live_days=5.0, assets=12, quiet=True)
    (plant,) = result["plants"]
    cut, live_end = (_ts(t) for t in plant["live_window"])
    assert [r["history_days"] for r in plant["runs"]] == [30.0, 40.0]
    for run in plant["runs"]:
        assert "error" not in run, run
        start, trained_end = (_ts(t) for t in run["trained_on"])
        assert trained_end <= cut  # nothing after the cut-off was trained or thresholded on
        assert (cut - start).days < run["history_days"]  # and only the last N days
    # The live incidents are the ground truth's, counted here independently of the labels.
    sim = Simulation(SimConfig(seed=7, assets=12, days=45.0, interval_s=300))
    truth = [
        r for r in sim.ground_truth() if r["type"] == "incident" and cut <= _ts(r["ts"]) <= live_end
    ]
    with_precursor = [r for r in truth if r["precursor_onset"] is not None]
    assert truth, "the live days of this plant should hold incidents"
    for run in plant["runs"]:
        live = run["live"]
        assert live["incidents"] == len(truth)
        assert live["incidents_with_precursor"] == len(with_precursor)
        assert 0 <= live["warned_1h"] <= live["incidents"]
        assert 0 <= live["false_alerts"] <= live["alerts"]
    pooled = {s["history_days"]: s for s in result["summary"]}
    for run in plant["runs"]:
        s, live = pooled[run["history_days"]], run["live"]
        assert s["plants"] == 1 and s["alerts"] == live["alerts"]
        assert s["false_alerts_per_asset_week"] == pytest.approx(
            live["false_alerts_per_asset_week"]
        )


@pytest.mark.parametrize(
    ("text", "days"), [("60,90,120", [60.0, 90.0, 120.0]), ("60, 60,30.5", [60.0, 30.5])]
)
def test_day_lists(text: str, days: list[float]) -> None:
    assert days_list(text) == days


@pytest.mark.parametrize("text", ["0", "60,-1", "sixty", "60,,90", "inf"])
def test_bad_day_lists_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="comma-separated"):
        days_list(text)
