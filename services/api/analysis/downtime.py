"""Downtime queries: stops with durations and the Pareto by reason, asset, crew or shift."""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from models.shifts import ShiftPattern
from services.api.params import Window

ParetoBy = Literal["reason_code", "asset_id", "crew", "shift"]


def shift_sql(shifts: ShiftPattern) -> sql.Composable:
    """The shift a stop started in, by the plant's local clock (PostgreSQL's time zone data,
    so daylight saving moves with the calendar)."""
    local = sql.SQL("(started_at AT TIME ZONE {})::time").format(sql.Literal(shifts.timezone))
    cases = [
        sql.SQL("WHEN {} >= {}::time THEN {}").format(
            local, sql.Literal(start.isoformat()), sql.Literal(name)
        )
        for name, start in reversed(shifts.starts)
    ]
    # before the day's first start it is still the last shift of the day before
    return sql.SQL("CASE {} ELSE {} END").format(
        sql.SQL(" ").join(cases), sql.Literal(shifts.starts[-1][0])
    )


STOP_COLUMNS = sql.SQL(
    "event_id, asset_id, started_at, ended_at, duration_s, planned, state, reason_code, "
    "reason, crew, {shift} AS shift"
)

STOPS_SQL = sql.SQL(
    """
SELECT {columns}
FROM downtime
WHERE (%(asset)s::text IS NULL OR asset_id = %(asset)s)
  AND (%(start)s::timestamptz IS NULL OR started_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR started_at < %(end)s)
  AND (%(planned)s::boolean IS NULL OR planned = %(planned)s)
ORDER BY started_at DESC, event_id DESC LIMIT %(limit)s
"""
)


def list_stops(
    conn: psycopg.Connection,
    window: Window,
    asset_id: str | None,
    planned: bool | None,
    limit: int,
    shifts: ShiftPattern,
) -> list[dict]:
    """Stops that started in the window, newest first."""
    columns = STOP_COLUMNS.format(shift=shift_sql(shifts))
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            STOPS_SQL.format(columns=columns),
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


def get_stop(conn: psycopg.Connection, event_id: str, shifts: ShiftPattern) -> dict | None:
    """One stop by its dispatch event id."""
    columns = STOP_COLUMNS.format(shift=shift_sql(shifts))
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            sql.SQL("SELECT {} FROM downtime WHERE event_id = %s").format(columns),
            (event_id,),
        )
        .fetchone()
    )


def pareto(
    conn: psycopg.Connection,
    window: Window,
    by: ParetoBy,
    planned: bool | None,
    shifts: ShiftPattern,
) -> dict:
    """Hours and counts per category, largest first, with each share and the running share.
    A stop still going counts up to the window's end (or now, or the newest event)."""
    key = shift_sql(shifts) if by == "shift" else sql.Identifier(by)
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
