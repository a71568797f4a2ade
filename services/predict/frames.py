"""Loads what feature building needs from the database into polars frames (COPY, not rows)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import polars as pl
import psycopg
from psycopg import sql

from models import diurnal
from models.features import DAILY_LOOKBACK, SIGNAL_LOOKBACK, Frames

# Event history live scoring reads: the longest feature lookback (30 days) plus a margin.
EVENT_LOOKBACK = timedelta(days=31)


def read_frame(
    conn: psycopg.Connection,
    query: str,
    params: dict,
    times: tuple[str, ...],
    schema: dict[str, pl.DataType],
) -> pl.DataFrame:
    """Run `query` (named %(params)s) through COPY ... TO STDOUT CSV into a typed frame.
    Columns in `times` must be selected as epoch microseconds and come back as UTC datetimes."""
    composed = sql.SQL(query).format(**{k: sql.Literal(v) for k, v in params.items()})
    buf = io.BytesIO()
    copy_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT CSV, HEADER)").format(composed)
    with conn.cursor() as cur, cur.copy(copy_sql) as cp:
        for chunk in cp:
            buf.write(chunk)
    buf.seek(0)
    df = (
        pl.read_csv(buf, schema_overrides=schema)
        if buf.getbuffer().nbytes
        else pl.DataFrame(schema={**schema})
    )
    if df.is_empty():
        df = pl.DataFrame(schema=schema)
    return df.with_columns(
        pl.from_epoch(pl.col(c).cast(pl.Int64), "us").dt.replace_time_zone("UTC") for c in times
    )


def _us(col: str, alias: str | None = None) -> str:
    return f"(extract(epoch from {col}) * 1000000)::bigint AS {alias or col}"


def load_frames(
    conn: psycopg.Connection, start: datetime, end: datetime, only: list[str] | None = None
) -> Frames:
    """Everything needed for features at grid times in [start, end]; with `only`, just those
    assets' rows (a scale-out scorer's share: features are per asset, so nothing else changes)."""
    # Appended to every WHERE as one array literal: the server sends a share's rows only, so the
    # COPY, the CSV parse and the frames all shrink with the share.
    mine = "" if only is None else " AND asset_id = ANY({only}::text[])"
    r15_from = start - SIGNAL_LOOKBACK
    day_from = (start - DAILY_LOOKBACK).replace(hour=0, minute=0, second=0, microsecond=0)
    ev_from = start - EVENT_LOOKBACK
    p = {
        "r15_from": r15_from,
        "end": end,
        "day_from": day_from,
        "ev_from": ev_from,
        "alarm_from": r15_from,
        "only": list(only or []),
    }
    f64, i64, s = pl.Float64, pl.Int64, pl.String
    r15 = read_frame(
        conn,
        f"SELECT asset_id, tag, {_us('bucket')}, n, sum, sumsq, min, max, last "
        "FROM signal_rollup_15m WHERE bucket >= {r15_from} AND bucket < {end}" + mine,
        p,
        ("bucket",),
        {
            "asset_id": s,
            "tag": s,
            "bucket": i64,
            "n": i64,
            "sum": f64,
            "sumsq": f64,
            "min": f64,
            "max": f64,
            "last": f64,
        },
    )
    rday = read_frame(
        conn,
        f"SELECT asset_id, tag, {_us('day')}, n, sum, sumsq, {', '.join(diurnal.TERMS)} "
        "FROM signal_rollup_1d WHERE day >= {day_from} AND day < {end}" + mine,
        p,
        ("day",),
        {
            "asset_id": s,
            "tag": s,
            "day": i64,
            "n": i64,
            "sum": f64,
            "sumsq": f64,
            **dict.fromkeys(diurnal.TERMS, f64),
        },
    )
    alarms = read_frame(
        conn,
        f"SELECT asset_id, {_us('ts')}, tag, kind, priority::int AS priority, state FROM alarms "
        "WHERE ts >= {alarm_from} AND ts < {end}" + mine,
        p,
        ("ts",),
        {"asset_id": s, "ts": i64, "tag": s, "kind": s, "priority": i64, "state": s},
    )
    # The events of the lookback, plus each asset's last event before it (its state then).
    dispatch = read_frame(
        conn,
        f"SELECT asset_id, {_us('ts')}, event_id, state, planned::int AS planned, crew, "
        "reason_code FROM dispatch_events WHERE ts >= {ev_from} AND ts <= {end}" + mine + " "
        f"UNION ALL SELECT * FROM (SELECT DISTINCT ON (asset_id) asset_id, {_us('ts')}, "
        "event_id, state, planned::int AS planned, crew, reason_code FROM dispatch_events "
        "WHERE ts < {ev_from}" + mine + " "
        "ORDER BY asset_id, ts DESC, event_id DESC) AS before",
        p,
        ("ts",),
        {
            "asset_id": s,
            "ts": i64,
            "event_id": s,
            "state": s,
            "planned": pl.Int8,
            "crew": s,
            "reason_code": s,
        },
    )
    incidents = read_frame(
        conn,
        f"SELECT asset_id, {_us('ts')}, incident_id, kind, severity FROM incidents "
        "WHERE ts >= {ev_from} AND ts < {end}" + mine,
        p,
        ("ts",),
        {"asset_id": s, "ts": i64, "incident_id": s, "kind": s, "severity": i64},
    )
    assets = read_frame(
        conn,
        "SELECT asset_id, kind, site, area, criticality FROM assets WHERE TRUE" + mine,
        p,
        (),
        {"asset_id": s, "kind": s, "site": s, "area": s, "criticality": i64},
    )
    dispatch = dispatch.with_columns(pl.col("planned").cast(pl.Boolean))
    return Frames(r15, rday, alarms, dispatch.sort("asset_id", "ts", "event_id"), incidents, assets)


def data_span(conn: psycopg.Connection) -> tuple[datetime | None, datetime | None]:
    """First and last 15-min rollup bucket (the time range features can be built for)."""
    lo, hi = conn.execute("SELECT min(bucket), max(bucket) FROM signal_rollup_15m").fetchone()
    if lo is None:
        return None, None
    return lo.astimezone(UTC), hi.astimezone(UTC)
