"""`precursor bench quality`: the per-incident backtest on several simulated plants, in memory.

One plant's test window holds a handful of incidents, so whether a quality bar is met there
says little about the next plant. This renders plants of other seeds in memory, puts each
through what `train` does (same split, features, fit, threshold on validation, test-window
metrics and baselines; no database, broker or MLflow, which change none of the figures), and
reports each plant's figures against the bar and how many plants meet each point.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import timedelta

from tqdm import tqdm

from models.features import Frames
from pipelines.dataset import dataset_from_frames, span_windows, truth_from
from pipelines.simulate.frames import Collect, frames_from
from pipelines.simulate.run import SimConfig, Simulation
from pipelines.simulate.signals import precursor_evidence
from pipelines.train import fit_and_evaluate
from precursor.core.errors import PrecursorError
from precursor.core.progress import no_bar
from precursor.core.settings import Settings
from services.predict.policy import policy_from

# The quality bar of the prediction issue, on the per-incident figures.
BAR = {"recall_at_1h_precursor_min": 0.8, "median_lead_h_min": 6.0}
PLANT_KEYS = (
    "incidents",
    "incidents_with_precursor",
    "recall_at_1h_precursor",
    "recall_at_1h_precursor_ci95",
    "recall_at_1h",
    "recall_at_1h_ci95",
    "warned_1h",
    "warned_1h_open_at_incident",
    "median_lead_h",
    "p10_lead_h",
    "median_available_lead_h",
    "false_alerts_per_asset_week",
    "alerts_per_shift",
    "alerts_open_mean",
    "pr_auc",
)
SPREAD_KEYS = (
    "recall_at_1h_precursor",
    "median_lead_h",
    "median_available_lead_h",
    "false_alerts_per_asset_week",
)
BASELINE_KEYS = ("recall_at_1h", "recall_at_1h_precursor", "false_alerts_per_asset_week")


def beats_baseline(baseline: dict) -> bool:
    """The model, at its lowest threshold with no more false alerts on test than the
    baseline, warned more of the precursor incidents and no fewer of all incidents."""
    matched = baseline["model_at_same_false_alerts"]
    return (
        matched["within"]
        and (matched["recall_at_1h_precursor"] or 0.0) > (baseline["recall_at_1h_precursor"] or 0.0)
        and (matched["recall_at_1h"] or 0.0) >= (baseline["recall_at_1h"] or 0.0)
    )


def meets(m: dict, budget: float) -> dict[str, bool | None]:
    """Each point of the quality bar for one plant's test-window figures; None where the
    window had no incident with a precursor to judge recall and lead time by."""
    points: dict[str, bool | None] = {
        "recall_at_1h_precursor": (m["recall_at_1h_precursor"] or 0.0)
        >= BAR["recall_at_1h_precursor_min"],
        "median_lead_h": (m["median_lead_h"] or 0.0) >= BAR["median_lead_h_min"],
        "false_alerts": m["false_alerts_per_asset_week"] <= budget,
        "beats_baselines": all(beats_baseline(b) for b in m["baselines"].values()),
    }
    if not m["incidents_with_precursor"]:
        points.update(recall_at_1h_precursor=None, median_lead_h=None, beats_baselines=None)
    return points


def render_plant(seed: int, assets: int, days: float, interval: int) -> tuple[Frames, list[dict]]:
    """A simulated plant in memory: the frames `train` would load, and its ground-truth
    records (pipelines.dataset.truth_from makes the precursor onsets of them)."""
    sim = Simulation(SimConfig(seed=seed, assets=assets, days=days, interval_s=interval))
    sink = Collect()
    sim.emit(sink)
    frames = frames_from(sink.messages, sim.registry())
    del sink  # the raw messages are no longer needed; the frames hold the rollups
    return frames, sim.ground_truth()


def explained_openings(per_incident: list[dict], records: list[dict]) -> dict:
    """Of the incidents with a precursor that an alert warned of >= 1 h ahead, how many alerts
    named, among their top contributions when they opened, a signal the ground truth's
    mechanism moves (pipelines.simulate.signals.precursor_evidence): whether the first thing an
    operator is told points at what is really going wrong. `first`: how many named one first;
    `not_first`: the others, with what they named, to look at."""
    mechanism = {
        rec.get("event_id") or rec.get("incident_id"): rec.get("mechanism")
        for rec in records
        if rec.get("type") == "incident"
    }
    named = first = warned = 0
    not_first = []
    for row in per_incident:
        mech = mechanism.get(row["ref"])
        if not (row["precursor"] and row["warned_1h"] and mech):
            continue
        warned += 1
        told = [c["signal"] for c in row.get("alert_signals") or []]
        evidence = precursor_evidence(mech)
        named += bool(set(told) & evidence)
        if told and told[0] in evidence:
            first += 1
        else:
            not_first.append({"ref": row["ref"], "mechanism": mech, "named": told})
    return {"named": named, "first": first, "warned": warned, "not_first": not_first}


def evaluate_plant(
    seed: int, assets: int, days: float, interval: int, settings: Settings, quiet: bool
) -> dict:
    """Render one plant, train on it as `train` does, and return its test-window figures."""
    frames, records = render_plant(seed, assets, days, interval)
    horizon = timedelta(hours=settings.horizon_h)
    buckets = frames.r15.get_column("bucket")
    lo, hi = buckets.min(), buckets.max()
    ds = dataset_from_frames(
        frames,
        span_windows(lo, hi, horizon),
        hi,
        horizon,
        truth_from(records),
        timedelta(minutes=settings.min_downtime_min),
    )
    policy = replace(policy_from(settings), horizon=horizon)
    fitted = fit_and_evaluate(ds, policy, settings.alert_budget, quiet=quiet)
    m = fitted.result()
    w = ds.windows
    return {
        "seed": seed,
        "test_window": [w.test_start.isoformat(), w.test_end.isoformat()],
        **{k: m[k] for k in PLANT_KEYS},
        "explained_at_opening": explained_openings(m["per_incident"], records),
        "baselines": {
            name: {k: b[k] for k in BASELINE_KEYS}
            | {"model_at_same_false_alerts": b["model_at_same_false_alerts"]}
            for name, b in m["baselines"].items()
        },
        "meets": meets(m, settings.alert_budget),
    }


def summarise(plants: list[dict]) -> dict:
    """How many plants meet each point, and the spread of the headline figures."""

    def spread(key: str) -> dict | None:
        values = [p[key] for p in plants if p[key] is not None]
        if not values:
            return None
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    points = plants[0]["meets"].keys() if plants else ()
    return {
        "plants": len(plants),
        "meet": {k: sum(p["meets"][k] is True for p in plants) for k in points},
        "meet_all": sum(all(v is True for v in p["meets"].values()) for p in plants),
        "explained_at_opening": {
            k: sum(p["explained_at_opening"][k] for p in plants)
            for k in ("named", "first", "warned")
        },
        "warned_1h": sum(p["warned_1h"] for p in plants),
        "warned_1h_open_at_incident": sum(p["warned_1h_open_at_incident"] for p in plants),
        **{k: spread(k) for k in SPREAD_KEYS},
    }


def run_bench_quality(
    settings: Settings,
    seeds: list[int],
    assets: int = 40,
    days: float = 120,
    interval: int = 300,
    quiet: bool = False,
) -> dict:
    """Evaluate each seed's plant in turn (one at a time: a 120-day plant takes a few GB)."""
    plants, skipped = [], []
    for seed in tqdm(seeds, desc="plants", unit="plant", disable=no_bar(quiet)):
        try:
            plants.append(evaluate_plant(seed, assets, days, interval, settings, quiet=True))
        except PrecursorError as exc:  # e.g. a window without incidents: judge the others
            skipped.append({"seed": seed, "error": str(exc)})
    return {
        "benchmark": "quality",
        "assets": assets,
        "days": days,
        "interval_s": interval,
        "budget": settings.alert_budget,
        "horizon_h": settings.horizon_h,
        "bar": BAR | {"false_alerts_per_asset_week_max": settings.alert_budget},
        "plants": plants,
        "skipped": skipped,
        "summary": summarise(plants),
    }
