"""Scores a window with the model and both baselines, at the same alert budget, per incident."""

from __future__ import annotations

import polars as pl

from models.baselines import IsolationBaseline, ThresholdBaseline
from models.estimator import RiskModel
from models.evaluation import Policy, choose_threshold, evaluate, replay_alerts
from pipelines.dataset import Dataset, scored

KEYS = (
    "incidents",
    "warned_1h",
    "warned_1h_open_at_incident",
    "recall_at_1h",
    "recall_at_1h_ci95",
    "recall_at_1h_precursor",
    "recall_at_1h_precursor_ci95",
    "median_lead_h",
    "p10_lead_h",
    "false_alerts_per_asset_week",
    "alerts_per_shift",
    "alerts_open_mean",
    "pr_auc",
    "alerts",
    "false_alerts",
    "false_alerts_before_maintenance",
    "incidents_with_precursor",
    "median_available_lead_h",
)


def window_metrics(
    ds: Dataset,
    scored_rows: pl.DataFrame,
    threshold: float,
    policy: Policy,
    which: str = "test",
    per_incident: bool = False,
) -> dict:
    """Replay the alert machine over a window's scores and measure it per incident (with
    `per_incident`, also the table of every incident, its alert and its lead)."""
    w = ds.windows
    a, b = (w.test_start, w.test_end) if which == "test" else (w.valid_start, w.valid_end)
    alerts = replay_alerts(scored_rows, threshold, policy)
    m = evaluate(
        alerts,
        ds.incidents,
        a,
        b,
        ds.n_assets,
        ds.horizon,
        rows=scored_rows,
        maintenance=ds.planned_maintenance(),
        shift_h=policy.shift_h,
    )
    out = {k: m.get(k) for k in KEYS} | {"threshold": threshold}
    if per_incident:
        out["per_incident"] = m["per_incident"]
    return out


def choose(ds: Dataset, valid_scored: pl.DataFrame, policy: Policy, budget: float) -> float:
    """The threshold meeting the alert budget on the validation window."""
    w = ds.windows
    threshold, _ = choose_threshold(
        valid_scored, ds.incidents, w.valid_start, w.valid_end, ds.n_assets, policy, budget
    )
    return threshold


def baselines(
    ds: Dataset,
    x_train: pl.DataFrame,
    x_valid: pl.DataFrame,
    x_test: pl.DataFrame,
    policy: Policy,
    budget: float,
    model_scored: pl.DataFrame | None = None,
) -> dict[str, dict]:
    """Both baselines, fitted on training rows, thresholded on validation, measured on test;
    with the model's test scores, also the model at each baseline's false-alert rate."""
    out = {}
    for baseline in (ThresholdBaseline(), IsolationBaseline()):
        baseline.fit(x_train)
        threshold = choose(ds, scored(ds, x_valid, baseline.score(x_valid)), policy, budget)
        m = window_metrics(ds, scored(ds, x_test, baseline.score(x_test)), threshold, policy)
        if model_scored is not None:
            m["model_at_same_false_alerts"] = at_false_alerts(
                ds, model_scored, policy, m["false_alerts_per_asset_week"]
            )
        out[baseline.name] = m
    return out


MATCHED_KEYS = (
    "recall_at_1h",
    "recall_at_1h_precursor",
    "median_lead_h",
    "false_alerts_per_asset_week",
)
# Enough candidates to land near a baseline's rate; the search stops at the first one above it.
MATCH_CANDIDATES = 160


def at_false_alerts(ds: Dataset, scored_rows: pl.DataFrame, policy: Policy, ceiling: float) -> dict:
    """The model on the test window at the lowest threshold whose false alerts per asset-week
    there are no more than `ceiling`: recall compared at equal false alerts, since two detectors
    thresholded for one budget on validation land at different rates on test. This threshold is
    a comparison only; the model's own was chosen on validation. The candidates reach up to a
    threshold at which the model raises no alert at all (models.evaluation.threshold_candidates),
    so `within` is false only when the rating bands let no threshold get that quiet."""
    w = ds.windows
    threshold, _ = choose_threshold(
        scored_rows,
        ds.incidents,
        w.test_start,
        w.test_end,
        ds.n_assets,
        policy,
        ceiling,
        candidates=MATCH_CANDIDATES,
        margin=1.0,
        to_silence=True,
    )
    m = window_metrics(ds, scored_rows, threshold, policy)
    return {k: m[k] for k in MATCHED_KEYS} | {
        "threshold": threshold,
        "within": m["false_alerts_per_asset_week"] <= ceiling + 1e-12,
    }


def model_metrics(ds: Dataset, model: RiskModel, x_test: pl.DataFrame, policy: Policy) -> dict:
    """The model on the test window, at its own stored threshold."""
    return window_metrics(ds, scored(ds, x_test, model.predict(x_test)), model.threshold, policy)


OPENING_SIGNALS = 3  # how many of an alert's top contributions the per-incident table names


def explain_openings(
    model: RiskModel, x: pl.DataFrame, alarms: pl.DataFrame, per_incident: list[dict]
) -> None:
    """Give each incident row with an alert the model's top contributions at the grid time that
    alert opened (`alert_signals`: the first three of the five the scorer stores with it, alarm
    counts credited to their tags from `alarms` as the scorer does): what the operator was
    first told, to check against what the incident turned out to be. Rows without an alert get
    None."""
    wanted = {(r["asset_id"], r["alert_opened_at"]) for r in per_incident if r["alert_id"]}
    at: dict[tuple[str, str], list[dict]] = {}
    if wanted:
        keys = pl.DataFrame(
            list(wanted), schema={"asset_id": pl.String, "opened": pl.String}, orient="row"
        ).with_columns(pl.col("opened").str.to_datetime(time_zone="UTC").alias("t"))
        rows = x.join(keys, on=["asset_id", "t"], how="inner")
        explained = model.contributions(rows, top=OPENING_SIGNALS, alarms=alarms)
        at = dict(zip(rows.select("asset_id", "opened").iter_rows(), explained, strict=True))
    for r in per_incident:  # rows without an alert have no opening (None, None): None
        r["alert_signals"] = at.get((r["asset_id"], r["alert_opened_at"]))


def beats(new: dict, old: dict, budget: float) -> bool:
    """Better recall at no more than the budget (PR-AUC breaks ties)."""
    if new["false_alerts_per_asset_week"] > budget:
        return False
    if old["false_alerts_per_asset_week"] > budget:
        return True
    new_r, old_r = new["recall_at_1h"] or 0.0, old["recall_at_1h"] or 0.0
    if new_r != old_r:
        return new_r > old_r
    return (new["pr_auc"] or 0.0) > (old["pr_auc"] or 0.0)
