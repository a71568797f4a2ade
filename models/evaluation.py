"""Per-incident evaluation of alerts, and the choice of an alert threshold under a budget.

An alert is true when an incident hits its asset while it is open or within the horizon after
it opened; otherwise it is a false alert. An incident is warned when such an alert opened
before it; its lead time is counted from the earliest one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy.stats import binomtest
from sklearn.metrics import average_precision_score

from models.alerting import Alert, AlertMachine
from models.rating import RANK, RiskMatrix, consequence

WEEK_S = 7 * 86400.0


@dataclass(frozen=True)
class Policy:
    """How scores become alerts."""

    matrix: RiskMatrix = field(default_factory=RiskMatrix)
    machine: AlertMachine = field(default_factory=AlertMachine)
    horizon: timedelta = timedelta(hours=24)
    shift_h: float = 12.0  # the plant's shift length, for alerts per shift


def replay_alerts(scored: pl.DataFrame, threshold: float, policy: Policy) -> list[Alert]:
    """Run the alert machine over scored rows (asset_id, t, probability, criticality)."""
    scored = scored.sort("asset_id", "t")
    prob = scored.get_column("probability").to_numpy()
    lik = policy.matrix.likelihood(prob, threshold)
    ratings = policy.matrix.rating(lik, consequence(scored.get_column("criticality").to_numpy()))
    open_rank = RANK[policy.machine.open_rating]
    assets = scored.get_column("asset_id").to_list()
    times = scored.get_column("t").to_list()
    alerts: list[Alert] = []
    current: Alert | None = None
    previous = None
    for i, asset in enumerate(assets):
        if asset != previous:
            if current is not None:
                alerts.append(current)
            current, previous = None, asset
        if current is None and RANK[ratings[i]] < open_rank:
            continue  # the common case, kept cheap
        current, transition = policy.machine.step(current, asset, times[i], ratings[i], prob[i])
        if transition is not None and transition.kind == "closed":
            alerts.append(transition.alert)
    if current is not None:
        alerts.append(current)
    return alerts


def _covers(alert: Alert, ts: datetime, horizon: timedelta) -> bool:
    """The alert warned of an incident at ts: opened before it, and the incident came while it
    was open or within the horizon after it opened."""
    if ts <= alert.opened_at:
        return False
    if alert.closed_at is None:
        return True
    return ts <= max(alert.opened_at + horizon, alert.closed_at)


def _times_by_asset(events: pl.DataFrame) -> dict[str, list[datetime]]:
    out: dict[str, list[datetime]] = {}
    for asset, ts in events.select("asset_id", "ts").iter_rows():
        out.setdefault(asset, []).append(ts)
    return out


def recall_interval(warned: int, total: int) -> list[float] | None:
    """95 % Wilson score interval of a recall of warned / total incidents: a test window holds a
    handful, and 6 of 6 is consistent with a true recall as low as 0.61."""
    if total == 0:
        return None
    ci = binomtest(warned, total).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]


def evaluate(
    alerts: list[Alert],
    incidents: pl.DataFrame,
    start: datetime,
    end: datetime,
    n_assets: int,
    horizon: timedelta,
    rows: pl.DataFrame | None = None,
    maintenance: pl.DataFrame | None = None,
    shift_h: float = 12.0,
) -> dict:
    """Metrics over [start, end]. `incidents`: asset_id, ts[, precursor]; `rows`: label, score;
    `maintenance`: asset_id, ts of planned maintenance, to count the false alerts it followed;
    `shift_h`: the shift length alerts per shift are counted over."""
    horizon_s = horizon.total_seconds()
    window = incidents.filter((pl.col("ts") >= start) & (pl.col("ts") <= end))
    per_incident = incident_leads(alerts, window, horizon)
    has_truth = "precursor" in window.columns
    warned = [r["lead_h"] for r in per_incident if r["warned_1h"]]
    with_precursor = [r for r in per_incident if r["precursor"]]
    precursor_total = len(with_precursor)
    precursor_warned = sum(r["warned_1h"] for r in with_precursor)
    warned_open = sum(r["warned_1h"] and r["open_at_incident"] for r in per_incident)
    available = [r["available_lead_h"] for r in with_precursor if r["available_lead_h"] is not None]
    opened = [a for a in alerts if start <= a.opened_at <= end]
    inc_times = _times_by_asset(incidents)
    false_alerts = [
        a
        for a in opened
        if not any(_covers(a, ts, horizon) for ts in inc_times.get(a.asset_id, []))
    ]
    false = len(false_alerts)
    span_s = max((end - start).total_seconds(), 1.0)
    # How many alerts stand open at a time, on average: what a longer cool-down costs.
    open_s = sum((min(a.closed_at or end, end) - a.opened_at).total_seconds() for a in opened)
    out = {
        "incidents": window.height,
        "warned_1h": len(warned),
        "warned_1h_open_at_incident": warned_open,
        "recall_at_1h": len(warned) / window.height if window.height else None,
        "recall_at_1h_ci95": recall_interval(len(warned), window.height),
        "median_lead_h": float(np.median(warned)) if warned else None,
        "p10_lead_h": float(np.percentile(warned, 10)) if warned else None,
        "alerts": len(opened),
        "false_alerts": false,
        "false_alerts_per_asset_week": false / (n_assets * span_s / WEEK_S),
        "alerts_per_shift": len(opened) / (span_s / (shift_h * 3600.0)),
        "alerts_open_mean": open_s / span_s,
        "horizon_h": horizon_s / 3600,
    }
    if maintenance is not None:
        # A false alert that planned maintenance followed, by the same rule as an incident:
        # perhaps a real defect the crew removed, perhaps a coincidence; reported, still false.
        maint_times = _times_by_asset(maintenance)
        out["false_alerts_before_maintenance"] = sum(
            any(_covers(a, ts, horizon) for ts in maint_times.get(a.asset_id, []))
            for a in false_alerts
        )
    if has_truth:
        out["incidents_with_precursor"] = precursor_total
        out["warned_1h_precursor"] = precursor_warned
        out["recall_at_1h_precursor"] = (
            precursor_warned / precursor_total if precursor_total else None
        )
        out["recall_at_1h_precursor_ci95"] = recall_interval(precursor_warned, precursor_total)
        # The most lead any detector could have had: from the precursor's onset to the incident.
        out["median_available_lead_h"] = float(np.median(available)) if available else None
    if rows is not None and rows.height and rows.get_column("label").sum() > 0:
        out["pr_auc"] = float(
            average_precision_score(
                rows.get_column("label").to_numpy(), rows.get_column("score").to_numpy()
            )
        )
    else:
        out["pr_auc"] = None
    out["per_incident"] = per_incident
    return out


def incident_leads(alerts: list[Alert], window: pl.DataFrame, horizon: timedelta) -> list[dict]:
    """Each incident of `window` (asset_id, ts[, source, ref, precursor, onset]) with the earliest
    alert that warned of it, if any, and its lead in hours: the backtest's table per incident,
    so that a reliability engineer can see which stops were missed and how early the rest came.
    Times are RFC 3339 strings, ready for JSON."""
    by_asset: dict[str, list[Alert]] = {}
    for a in alerts:
        by_asset.setdefault(a.asset_id, []).append(a)
    rows = []
    for row in window.sort("ts", "asset_id").iter_rows(named=True):
        ts = row["ts"]
        covering = [a for a in by_asset.get(row["asset_id"], []) if _covers(a, ts, horizon)]
        first = min(covering, key=lambda a: a.opened_at, default=None)
        lead = None if first is None else (ts - first.opened_at).total_seconds() / 3600
        onset = row.get("onset")
        rows.append(
            {
                "asset_id": row["asset_id"],
                "ts": ts.isoformat(),
                "source": row.get("source"),
                "ref": row.get("ref"),
                "precursor": row.get("precursor"),  # None when no ground truth says
                "precursor_onset": onset.isoformat() if onset is not None else None,
                "available_lead_h": (ts - onset).total_seconds() / 3600 if onset else None,
                "alert_id": first.alert_id if first else None,
                "alert_opened_at": first.opened_at.isoformat() if first else None,
                "lead_h": lead,
                "warned_1h": lead is not None and lead >= 1.0,
                # Or closed before it, after the risk had fallen back for a cool-down: the
                # alert still counts (the incident came within its horizon), but the control
                # room had no open alert when the asset stopped.
                "open_at_incident": first is not None
                and (first.closed_at is None or first.closed_at >= ts),
            }
        )
    return rows


LADDER_STEP = 1.05  # above the top quantile, candidate thresholds 5 % apart


def threshold_candidates(
    probs: np.ndarray, matrix: RiskMatrix, candidates: int, to_silence: bool = False
) -> np.ndarray:
    """Score quantiles from the 90th up; `to_silence` adds a ladder above the top one up to a
    threshold at which no score reaches the lowest likelihood band. The top quantile is not the
    quietest threshold: a band below p* (0.6 p* by default) lets a critical asset alert from
    scores under it, so without the ladder the strictest candidate can still raise alerts.
    (Thresholds for a budget keep to the quantiles: false alerts need not fall steadily as the
    threshold rises, since alerts that merge at a lower one split at a higher one, so a ladder
    could stop the downward search earlier than the quantiles alone.)"""
    qs = np.quantile(probs, np.linspace(0.90, 0.99995, candidates))
    lowest = min(matrix.bands)
    # (With a band at 0 any score alerts: no threshold is silent.)
    if not to_silence or qs[-1] <= 0 or lowest <= 0:
        return np.unique(qs)
    top, silent = qs[-1], probs.max() / lowest
    if silent <= top:
        return np.unique(qs)
    steps = int(np.ceil(np.log(silent / top) / np.log(LADDER_STEP)))
    return np.unique(np.concatenate([qs, top * LADDER_STEP ** np.arange(1, steps + 2)]))


def choose_threshold(
    scored: pl.DataFrame,
    incidents: pl.DataFrame,
    start: datetime,
    end: datetime,
    n_assets: int,
    policy: Policy,
    budget: float,
    candidates: int = 48,
    margin: float = 0.8,
    to_silence: bool = False,
) -> tuple[float, dict]:
    """The lowest threshold whose false alerts per asset-week on this window stay within
    `margin` x `budget`: it spends the budget on recall and lead time, keeping a margin for the
    next window. If no candidate qualifies, the strictest one. `to_silence` starts the search
    from a threshold at which nothing alerts (threshold_candidates), for budgets near zero."""
    probs = scored.get_column("probability").to_numpy()
    qs = threshold_candidates(probs, policy.matrix, candidates, to_silence)
    chosen: tuple[float, dict] | None = None
    for q in qs[::-1]:  # strictest first; false alerts grow as the threshold falls
        if q <= 0:
            continue
        m = evaluate(
            replay_alerts(scored, float(q), policy), incidents, start, end, n_assets, policy.horizon
        )
        if chosen is not None and m["false_alerts_per_asset_week"] > margin * budget:
            break
        chosen = (float(q), m)
    if chosen is None:
        raise ValueError("no positive scores to choose a threshold from")
    return chosen
