"""`precursor bench history`: how much history a first model needs, judged on the days after it.

A site's first model is trained on whatever history it has (the demo's on its 60-day backfill)
and then faces days it never saw. For each seed this renders one plant in memory, trains on the
last N days before a cut-off exactly as `train` does (split, fit, threshold on its own
validation window), and replays the alert machine over the live days after the cut-off, with
the same per-incident measures as the backtest. Every N is judged on the same live days.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import timedelta

from tqdm import tqdm

from models.evaluation import WEEK_S, evaluate, replay_alerts
from pipelines.bench.quality import render_plant
from pipelines.dataset import (
    Windows,
    align,
    dataset_from_frames,
    feature_rows,
    scored,
    span_windows,
    truth_from,
)
from pipelines.train import fit_and_evaluate
from precursor.core.errors import PrecursorError
from precursor.core.progress import no_bar
from precursor.core.settings import Settings
from services.predict.policy import policy_from

OWN_KEYS = ("incidents_with_precursor", "recall_at_1h_precursor", "median_lead_h")
LIVE_KEYS = (
    "incidents",
    "warned_1h",
    "incidents_with_precursor",
    "warned_1h_precursor",
    "recall_at_1h_precursor",
    "recall_at_1h",
    "median_lead_h",
    "median_available_lead_h",
    "alerts",
    "false_alerts",
    "false_alerts_per_asset_week",
)


def evaluate_histories(
    seed: int,
    assets: int,
    histories: list[float],
    live_days: float,
    interval: int,
    settings: Settings,
) -> dict:
    """One plant: a first model per history length, each judged on the same live days."""
    frames, records = render_plant(seed, assets, max(histories) + live_days, interval)
    truth = truth_from(records)
    horizon = timedelta(hours=settings.horizon_h)
    min_downtime = timedelta(minutes=settings.min_downtime_min)
    policy = replace(policy_from(settings), horizon=horizon)
    buckets = frames.r15.get_column("bucket")
    lo, hi = buckets.min(), buckets.max()
    cut = align(lo + timedelta(days=max(histories)))
    live_end = hi - horizon  # the last horizon has no outcome yet, as in training
    live = dataset_from_frames(
        frames, Windows(cut, cut, cut, cut, cut, live_end), hi, horizon, truth, min_downtime
    )
    x_live = feature_rows(live, live.rows(cut, live_end))
    asset_weeks = live.n_assets * (live_end - cut).total_seconds() / WEEK_S
    runs = []
    for days in histories:
        # Labels come only from incidents before the cut, and features at t only from data
        # before t, so nothing after the cut reaches the model.
        ds = dataset_from_frames(
            frames,
            span_windows(cut - timedelta(days=days), cut, horizon),
            cut,
            horizon,
            truth,
            min_downtime,
        )
        try:
            fitted = fit_and_evaluate(ds, policy, settings.alert_budget, quiet=True)
        except PrecursorError as exc:  # e.g. no incident in its validation window
            runs.append({"history_days": days, "error": str(exc)})
            continue
        model = fitted.model
        rows = scored(live, x_live, model.predict(x_live))
        m = evaluate(
            replay_alerts(rows, model.threshold, policy),
            live.incidents,
            cut,
            live_end,
            live.n_assets,
            horizon,
            rows=rows,
            shift_h=policy.shift_h,
        )
        runs.append(
            {
                "history_days": days,
                "trained_on": [ds.windows.start.isoformat(), ds.windows.test_end.isoformat()],
                "threshold": model.threshold,
                "own_test": {k: fitted.test[k] for k in OWN_KEYS},
                "live": {k: m[k] for k in LIVE_KEYS} | {"asset_weeks": asset_weeks},
            }
        )
    return {"seed": seed, "live_window": [cut.isoformat(), live_end.isoformat()], "runs": runs}


_COUNTS = (
    "incidents",
    "warned_1h",
    "incidents_with_precursor",
    "warned_1h_precursor",
    "alerts",
    "false_alerts",
)


def summarise_histories(plants: list[dict], histories: list[float]) -> list[dict]:
    """Per history length, the live figures pooled over plants: incidents warned of, alerts,
    false alerts per asset-week; and the spread of the plants' median leads."""
    out = []
    for days in histories:
        live = [
            r["live"]
            for p in plants
            for r in p["runs"]
            if r["history_days"] == days and "live" in r
        ]
        # Counts add up over plants; the rate is pooled over all their asset-weeks.
        total = {k: sum(m[k] for m in live) for k in _COUNTS}
        weeks = sum(m["asset_weeks"] for m in live)
        leads = [m["median_lead_h"] for m in live if m["median_lead_h"] is not None]
        out.append(
            {
                "history_days": days,
                "plants": len(live),
                **total,
                "false_alerts_per_asset_week": total["false_alerts"] / weeks if weeks else None,
                "median_lead_h": statistics.median(leads) if leads else None,
            }
        )
    return out


def run_bench_history(
    settings: Settings,
    seeds: list[int],
    histories: list[float],
    live_days: float = 7.0,
    assets: int = 40,
    interval: int = 300,
    quiet: bool = False,
) -> dict:
    """Each seed's plant in turn (one at a time: a 127-day plant takes a few GB)."""
    plants = [
        evaluate_histories(seed, assets, histories, live_days, interval, settings)
        for seed in tqdm(seeds, desc="plants", unit="plant", disable=no_bar(quiet))
    ]
    return {
        "benchmark": "history",
        "assets": assets,
        "histories_days": histories,
        "live_days": live_days,
        "interval_s": interval,
        "budget": settings.alert_budget,
        "horizon_h": settings.horizon_h,
        "plants": plants,
        "summary": summarise_histories(plants, histories),
    }
