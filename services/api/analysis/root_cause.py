"""Root cause of one stop: signals ranked by deviation from the asset's own baseline, the
alarms and dispatch events before it, the alert that warned of it, and similar past stops; the
same deviations explain an alert's opening."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import dict_row

BASELINE = timedelta(days=7)  # the trailing baseline before the lookback window
# Candidates compared (bounds the query): the most recent stops of each reason in turn. The 50
# most recent stops of the kind were a fleet's last two or three days of queues and breaks, so
# a stop never met its own cause's past stops.
SIMILAR_CANDIDATES = 60
SIMILAR_PER_REASON = 10
SIMILAR_TOP = 5
Z_CLIP = 10.0  # one wild tag must not decide similarity alone

SIGNALS_SQL = """
SELECT tag,
       count(*) FILTER (WHERE ts >= %(w)s)::int AS samples,
       avg(value) FILTER (WHERE ts >= %(w)s) AS window_mean,
       regr_slope(value, extract(epoch FROM ts) / 3600.0) FILTER (WHERE ts >= %(w)s) AS slope_h,
       avg(value) FILTER (WHERE ts < %(w)s) AS baseline_mean,
       stddev_samp(value) FILTER (WHERE ts < %(w)s) AS baseline_std
FROM signal_samples
WHERE asset_id = %(asset)s AND ts >= %(b)s AND ts < %(t0)s AND quality <> 'bad'
GROUP BY tag
"""

SIMILAR_SQL = """
WITH ranked AS (
    SELECT d.event_id, d.asset_id, d.started_at, d.duration_s, d.reason_code,
           row_number() OVER (PARTITION BY d.reason_code ORDER BY d.started_at DESC) AS nth
    FROM downtime d JOIN assets a ON a.asset_id = d.asset_id
    WHERE a.kind IS NOT DISTINCT FROM %(kind)s AND d.state = 'down' AND NOT d.planned
      AND d.started_at < %(t0)s AND d.event_id <> %(id)s
), stops AS (
    SELECT event_id, asset_id, started_at, duration_s, reason_code FROM ranked
    WHERE nth <= %(per_reason)s
    ORDER BY nth, started_at DESC  -- each reason's newest first, then each one's second, ...
    LIMIT %(n)s
)
SELECT s.event_id, s.asset_id, s.started_at, s.duration_s, s.reason_code, x.tag,
       avg(x.value) FILTER (WHERE x.ts >= s.started_at - %(lb)s) AS window_mean,
       regr_slope(x.value, extract(epoch FROM x.ts) / 3600.0)
           FILTER (WHERE x.ts >= s.started_at - %(lb)s) AS slope_h,
       avg(x.value) FILTER (WHERE x.ts < s.started_at - %(lb)s) AS baseline_mean,
       stddev_samp(x.value) FILTER (WHERE x.ts < s.started_at - %(lb)s) AS baseline_std
FROM stops s
JOIN signal_samples x ON x.asset_id = s.asset_id
 AND x.ts >= s.started_at - %(lb)s - %(base)s AND x.ts < s.started_at AND x.quality <> 'bad'
GROUP BY s.event_id, s.asset_id, s.started_at, s.duration_s, s.reason_code, x.tag
"""


def deviation(row: dict, lookback_h: float) -> tuple[float | None, float | None]:
    """(level z, slope z): the window mean against the baseline, and the drift across the
    window in baseline standard deviations."""
    std = row.get("baseline_std")
    if not std or std <= 0 or row.get("window_mean") is None or row.get("baseline_mean") is None:
        return None, None
    level = (row["window_mean"] - row["baseline_mean"]) / std
    slope = None if row.get("slope_h") is None else row["slope_h"] * lookback_h / std
    return level, slope


def _score(level: float | None, slope: float | None) -> float:
    return max(abs(level or 0.0), abs(slope or 0.0))


def _clip(v: float | None) -> float:
    return max(-Z_CLIP, min(Z_CLIP, v or 0.0))


def _signature(rows: list[dict], lookback_h: float) -> dict[str, tuple[float, float]]:
    out = {}
    for r in rows:
        level, slope = deviation(r, lookback_h)
        if level is not None:
            out[r["tag"]] = (_clip(level), _clip(slope))
    return out


def _distance(a: dict[str, tuple[float, float]], b: dict[str, tuple[float, float]]) -> float:
    common = sorted(set(a) & set(b))
    if not common:
        return math.inf
    sq = sum((a[t][0] - b[t][0]) ** 2 + (a[t][1] - b[t][1]) ** 2 for t in common)
    return math.sqrt(sq / len(common))


def deviations(
    conn: psycopg.Connection, asset: str, t0: datetime, lookback: timedelta
) -> tuple[list[dict], list[dict]]:
    """Every tag of the asset over the lookback before t0 against its 7-day baseline before
    that, most deviating first; and the raw rows (for a stop's similarity signature)."""
    w = t0 - lookback
    lookback_h = lookback.total_seconds() / 3600
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(SIGNALS_SQL, {"asset": asset, "w": w, "b": w - BASELINE, "t0": t0})
        .fetchall()
    )
    signals = []
    for r in rows:
        level, slope = deviation(r, lookback_h)
        signals.append(
            {
                "tag": r["tag"],
                "score": round(_score(level, slope), 4),
                "level_z": None if level is None else round(level, 4),
                "slope_z": None if slope is None else round(slope, 4),
                "window_mean": r["window_mean"],
                "baseline_mean": r["baseline_mean"],
                "baseline_std": r["baseline_std"],
                "samples": r["samples"],
            }
        )
    signals.sort(key=lambda s: (-s["score"], s["tag"]))
    return signals, rows


def root_cause(conn: psycopg.Connection, stop: dict, lookback: timedelta) -> dict:
    """Everything the reliability engineer looks at first, for one stop."""
    t0, asset = stop["started_at"], stop["asset_id"]
    w = t0 - lookback
    lookback_h = lookback.total_seconds() / 3600
    cur = conn.cursor(row_factory=dict_row)
    signals, rows = deviations(conn, asset, t0, lookback)
    alarms = cur.execute(
        "SELECT ts, tag, kind, priority, state, code FROM alarms WHERE asset_id = %s "
        "AND ts >= %s AND ts < %s ORDER BY ts LIMIT 500",
        (asset, w, t0),
    ).fetchall()
    dispatch = cur.execute(
        "SELECT event_id, ts, state, planned, reason_code, reason, crew FROM dispatch_events "
        "WHERE asset_id = %s AND ts >= %s AND ts <= %s ORDER BY ts, event_id LIMIT 500",
        (asset, w, t0),
    ).fetchall()
    alert = cur.execute(
        "SELECT alert_id, opened_at, closed_at, status, peak_rating, probability, "
        "contributions FROM alerts WHERE asset_id = %s AND opened_at < %s "
        "AND (closed_at IS NULL OR closed_at >= %s) ORDER BY opened_at DESC LIMIT 1",
        (asset, t0, w),
    ).fetchone()
    rca = cur.execute(
        "SELECT revision, updated_by, updated_at FROM rca_records WHERE event_id = %s",
        (stop["event_id"],),
    ).fetchone()
    if alert is not None:
        alert["lead_h"] = round((t0 - alert["opened_at"]).total_seconds() / 3600, 3)
    return {
        "stop": stop,
        "lookback_h": lookback_h,
        "signals": signals,
        "alarms": alarms,
        "dispatch": dispatch,
        "preceding_alert": alert,
        "similar": similar_stops(conn, stop, lookback, _signature(rows, lookback_h)),
        "rca": rca,
    }


def similar_stops(
    conn: psycopg.Connection, stop: dict, lookback: timedelta, signature: dict
) -> list[dict]:
    """The past unplanned stops of the same kind of asset nearest in deviation signature, among
    the most recent of every reason."""
    kind = conn.execute(
        "SELECT kind FROM assets WHERE asset_id = %s", (stop["asset_id"],)
    ).fetchone()
    if not signature:
        return []
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            SIMILAR_SQL,
            {
                "kind": kind[0] if kind else None,
                "t0": stop["started_at"],
                "id": stop["event_id"],
                "n": SIMILAR_CANDIDATES,
                "per_reason": SIMILAR_PER_REASON,
                "lb": lookback,
                "base": BASELINE,
            },
        )
        .fetchall()
    )
    by_stop: dict[str, list[dict]] = {}
    for r in rows:
        by_stop.setdefault(r["event_id"], []).append(r)
    lookback_h = lookback.total_seconds() / 3600
    scored = []
    for event_id, group in by_stop.items():
        d = _distance(signature, _signature(group, lookback_h))
        if math.isfinite(d):
            head = group[0]
            scored.append(
                {
                    "event_id": event_id,
                    "asset_id": head["asset_id"],
                    "started_at": head["started_at"],
                    "duration_s": head["duration_s"],
                    "reason_code": head["reason_code"],
                    "distance": round(d, 4),
                }
            )
    scored.sort(key=lambda s: (s["distance"], s["event_id"]))
    return scored[:SIMILAR_TOP]
