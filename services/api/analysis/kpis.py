"""Proactive indicators over a window: alerts and acknowledgements, register coverage,
MTBF / MTTR per asset, downtime hours."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from services.api.params import Window

ALERTS_SQL = """
SELECT count(*)::int AS raised,
       count(acknowledged_at)::int AS acknowledged,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM acknowledged_at - opened_at) / 60.0
       ) FILTER (WHERE acknowledged_at IS NOT NULL) AS median_ack_min
FROM alerts
WHERE (%(start)s::timestamptz IS NULL OR opened_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR opened_at < %(end)s)
"""

REGISTER_SQL = """
SELECT count(*)::int AS entries,
       count(*) FILTER (WHERE jsonb_array_length(measures) > 0)::int AS with_measures
FROM risk_register
WHERE (%(start)s::timestamptz IS NULL OR created_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR created_at < %(end)s)
"""

# State intervals clipped to the window; the newest state lasts until the window's end (or
# the newest event when the window is open-ended). A failure is an unplanned stop as long as
# the spec's incident (min_downtime, judged on the whole stop, not the part inside the window);
# shorter ones are counted as short stops, as the model's features count them.
RELIABILITY_SQL = """
WITH bounds AS (
    SELECT coalesce(%(start)s::timestamptz, '-infinity'::timestamptz) AS lo,
           coalesce(%(end)s::timestamptz, (SELECT max(ts) FROM dispatch_events)) AS hi
),
iv AS (
    SELECT asset_id, state, planned, ts AS s,
           lead(ts) OVER (PARTITION BY asset_id ORDER BY ts, event_id) AS e
    FROM dispatch_events
),
clipped AS (
    SELECT asset_id, state, planned, greatest(s, b.lo) AS s, least(coalesce(e, b.hi), b.hi) AS e,
           s >= b.lo AS started_inside,
           state = 'down' AND NOT planned
               AND coalesce(e, b.hi) - s >= make_interval(secs => %(min_down)s::float8 * 60)
               AS failure
    FROM iv, bounds b
    WHERE s < b.hi AND coalesce(e, b.hi) > b.lo
)
SELECT asset_id,
       count(*) FILTER (WHERE failure AND started_inside)::int AS failures,
       count(*) FILTER (
           WHERE state = 'down' AND NOT planned AND NOT failure AND started_inside
       )::int AS short_stops,
       coalesce(sum(extract(epoch FROM e - s)) FILTER (WHERE failure AND started_inside), 0)
           / 3600.0 AS failure_hours,
       coalesce(sum(extract(epoch FROM e - s)) FILTER (WHERE state = 'running'), 0) / 3600.0
           AS running_hours,
       coalesce(sum(extract(epoch FROM e - s)) FILTER (WHERE state IN ('down', 'maintenance')),
                0) / 3600.0 AS downtime_hours,
       coalesce(sum(extract(epoch FROM e - s)) FILTER (WHERE state = 'down' AND NOT planned),
                0) / 3600.0 AS unplanned_hours
FROM clipped
WHERE e > s
GROUP BY asset_id
ORDER BY asset_id
"""


def kpis(conn: psycopg.Connection, window: Window, min_downtime_min: float = 30.0) -> dict:
    """All indicators for the window (open sides mean all data); a failure is an unplanned stop
    of at least `min_downtime_min`."""
    params = {"start": window.start, "end": window.end, "min_down": min_downtime_min}
    cur = conn.cursor(row_factory=dict_row)
    alerts = cur.execute(ALERTS_SQL, params).fetchone()
    register = cur.execute(REGISTER_SQL, params).fetchone()
    incidents = conn.execute(
        "SELECT count(*)::int FROM incidents WHERE (%(start)s::timestamptz IS NULL OR "
        "ts >= %(start)s) AND (%(end)s::timestamptz IS NULL OR ts < %(end)s)",
        params,
    ).fetchone()[0]
    assets, unplanned = [], 0.0
    for r in cur.execute(RELIABILITY_SQL, params).fetchall():
        unplanned += float(r["unplanned_hours"])
        failures = r["failures"]
        assets.append(
            {
                "asset_id": r["asset_id"],
                "failures": failures,
                "short_stops": r["short_stops"],
                "running_hours": round(float(r["running_hours"]), 3),
                "downtime_hours": round(float(r["downtime_hours"]), 3),
                "mtbf_h": round(float(r["running_hours"]) / failures, 3) if failures else None,
                "mttr_h": round(float(r["failure_hours"]) / failures, 3) if failures else None,
            }
        )
    median = alerts["median_ack_min"]
    return {
        "start": window.start,
        "end": window.end,
        "alerts_raised": alerts["raised"],
        "alerts_acknowledged": alerts["acknowledged"],
        "median_time_to_ack_min": None if median is None else round(float(median), 2),
        "register_entries": register["entries"],
        "register_with_measures_share": (
            round(register["with_measures"] / register["entries"], 4)
            if register["entries"]
            else None
        ),
        "downtime_hours": round(sum(a["downtime_hours"] for a in assets), 3),
        "unplanned_downtime_hours": round(unplanned, 3),
        "incidents": incidents,
        "assets": assets,
    }
