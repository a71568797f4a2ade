"""Downtime queries: stops with durations and the Pareto by reason, asset, crew or shift."""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from models.shifts import DAY_SHIFT_HOURS
from services.api.params import Window

ParetoBy = Literal["reason_code", "asset_id", "crew", "shift"]

SHIFT_SQL = (
    "CASE WHEN extract(hour FROM started_at AT TIME ZONE 'UTC') BETWEEN {} AND {} "
    "THEN 'day' ELSE 'night' END"
).format(*DAY_SHIFT_HOURS)

STOPS_SQL = f"""
SELECT event_id, asset_id, started_at, ended_at, duration_s, planned, state, reason_code,
       reason, crew, {SHIFT_SQL} AS shift
FROM downtime
WHERE (%(asset)s::text IS NULL OR asset_id = %(asset)s)
  AND (%(start)s::timestamptz IS NULL OR started_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR started_at < %(end)s)
  AND (%(planned)s::boolean IS NULL OR planned = %(planned)s)
"""


def list_stops(
    conn: psycopg.Connection,
    window: Window,
    asset_id: str | None,
    planned: bool | None,
    limit: int,
) -> list[dict]:
    """Stops that started in the window, newest first."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            STOPS_SQL + " ORDER BY started_at DESC, event_id DESC LIMIT %(limit)s",
            {
                "asset": asset_id,
                "start": window.start,
                "end": window.end,
                "planned": planned,
                "limit": limit,
            },
        )
        .fetchall()
    )


def get_stop(conn: psycopg.Connection, event_id: str) -> dict | None:
    """One stop by its dispatch event id."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT event_id, asset_id, started_at, ended_at, duration_s, planned, state, "
            f"reason_code, reason, crew, {SHIFT_SQL} AS shift FROM downtime WHERE event_id = %s",
            (event_id,),
        )
        .fetchone()
    )


def pareto(conn: psycopg.Connection, window: Window, by: ParetoBy, planned: bool | None) -> dict:
    """Hours and counts per category, largest first, with each share and the running share.
    A stop still going counts up to the window's end (or now, or the newest event)."""
    key = sql.SQL(SHIFT_SQL) if by == "shift" else sql.Identifier(by)
    query = sql.SQL(
        """
        WITH bounds AS (
            SELECT coalesce(%(end)s::timestamptz,
                            greatest(now(), (SELECT max(ts) FROM dispatch_events))) AS stop_at
        )
        SELECT {key} AS key,
               sum(extract(epoch FROM least(coalesce(ended_at, b.stop_at), b.stop_at)
                   - started_at)) / 3600.0 AS hours,
               count(*) AS count
        FROM downtime, bounds b
        WHERE (%(start)s::timestamptz IS NULL OR started_at >= %(start)s)
          AND started_at < b.stop_at
          AND (%(planned)s::boolean IS NULL OR planned = %(planned)s)
        GROUP BY 1
        ORDER BY hours DESC, count DESC, key NULLS LAST
        """
    ).format(key=key)
    rows = conn.execute(
        query, {"start": window.start, "end": window.end, "planned": planned}
    ).fetchall()
    total = sum(float(r[1]) for r in rows)
    out, running = [], 0.0
    for key_value, hours, n in rows:
        hours = float(hours)
        running += hours
        out.append(
            {
                "key": key_value,
                "hours": round(hours, 4),
                "count": int(n),
                "share": round(hours / total, 6) if total else 0.0,
                "cumulative_share": round(running / total, 6) if total else 0.0,
            }
        )
    return {"by": by, "total_hours": round(total, 4), "rows": out}
