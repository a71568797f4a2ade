"""Keeps the 15-minute and daily signal rollups exact, from the buckets ingest marked dirty."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import psycopg
from psycopg.pq import TransactionStatus

from models import diurnal
from precursor.core.db import has_timescaledb

logger = logging.getLogger(__name__)

# A chunk of ingest's marks, oldest buckets first, taken off rollup_dirty as CTE `d`.
_TAKE_DIRTY = """
WITH d AS (
    DELETE FROM rollup_dirty
    WHERE (asset_id, bucket) IN (
        SELECT asset_id, bucket FROM rollup_dirty ORDER BY bucket LIMIT %(limit)s)
    RETURNING asset_id, bucket
)
"""

# Each marked (asset, bucket) is recomputed whole from raw samples: an index range scan on
# (asset_id, ts), so it is exact for late, duplicate or out-of-order data alike.
_REFRESH_15M = (
    _TAKE_DIRTY
    + """, agg AS (
    SELECT s.asset_id, s.tag, d.bucket, count(*)::int AS n, sum(s.value) AS sum,
           sum(s.value * s.value) AS sumsq, min(s.value) AS min, max(s.value) AS max,
           (array_agg(s.value ORDER BY s.ts DESC))[1] AS last, max(s.ts) AS last_ts
    FROM d JOIN signal_samples s
      ON s.asset_id = d.asset_id AND s.ts >= d.bucket AND s.ts < d.bucket + interval '15 minutes'
    -- The chunk's overall time range lets a backlog be read as one range scan and hash join.
    WHERE s.ts >= (SELECT min(bucket) FROM d)
      AND s.ts < (SELECT max(bucket) FROM d) + interval '15 minutes'
      AND s.quality <> 'bad'  -- not usable, says the source: never a feature
    GROUP BY s.asset_id, s.tag, d.bucket
), up AS (
    INSERT INTO signal_rollup_15m AS r
        (asset_id, tag, bucket, n, sum, sumsq, min, max, last, last_ts)
    SELECT * FROM agg
    ON CONFLICT (asset_id, tag, bucket) DO UPDATE SET
        n = EXCLUDED.n, sum = EXCLUDED.sum, sumsq = EXCLUDED.sumsq, min = EXCLUDED.min,
        max = EXCLUDED.max, last = EXCLUDED.last, last_ts = EXCLUDED.last_ts
    RETURNING r.asset_id
)
SELECT (SELECT count(*) FROM d), array_agg(asset_id), array_agg(day)
FROM (SELECT DISTINCT asset_id, date_trunc('day', bucket, 'UTC') AS day FROM d) AS u
"""
)

# A day's baseline counts only 15-min buckets the asset ran through entirely (state running at
# the bucket's start, no state change inside it): a stopped motor's 0 A is not its normal.
# States are re-derived from dispatch_events at every refresh, so late events are honoured.
_REFRESH_1D = """
WITH k AS (
    SELECT DISTINCT asset_id, day
    FROM unnest(%(assets)s::text[], %(days)s::timestamptz[]) AS k(asset_id, day)
), gone AS (
    DELETE FROM signal_rollup_1d r USING k WHERE r.asset_id = k.asset_id AND r.day = k.day
), b AS (
    SELECT k.asset_id, k.day, g.bucket
    FROM k, generate_series(k.day, k.day + interval '1 day' - interval '15 minutes',
                            interval '15 minutes') AS g(bucket)
), running AS (
    SELECT b.* FROM b
    WHERE coalesce((SELECT d.state FROM dispatch_events d
                    WHERE d.asset_id = b.asset_id AND d.ts <= b.bucket
                    ORDER BY d.ts DESC, d.event_id DESC LIMIT 1), 'running') = 'running'
      AND NOT EXISTS (SELECT 1 FROM dispatch_events d
                      WHERE d.asset_id = b.asset_id AND d.ts > b.bucket
                        AND d.ts < b.bucket + interval '15 minutes')
)
INSERT INTO signal_rollup_1d AS r
    (asset_id, tag, day, n, sum, sumsq, min, max, nc, ns, ncc, nss, ncs, sc, ss)
SELECT x.asset_id, x.tag, running.day, sum(x.n), sum(x.sum), sum(x.sumsq), min(x.min), max(x.max),
       sum(x.n * h.c), sum(x.n * h.s), sum(x.n * h.c * h.c), sum(x.n * h.s * h.s),
       sum(x.n * h.c * h.s), sum(x.sum * h.c), sum(x.sum * h.s)
FROM running JOIN signal_rollup_15m x ON x.asset_id = running.asset_id AND x.bucket = running.bucket
-- The daily-cycle terms of models/diurnal.py: the bucket midpoint's time of day as an angle.
CROSS JOIN LATERAL (
    SELECT cos(a) AS c, sin(a) AS s
    FROM (SELECT 2 * pi() * (extract(epoch FROM x.bucket - running.day)::double precision
                             + %(mid)s) / 86400.0 AS a) AS q
) AS h
GROUP BY x.asset_id, x.tag, running.day
ON CONFLICT (asset_id, tag, day) DO UPDATE SET
    n = EXCLUDED.n, sum = EXCLUDED.sum, sumsq = EXCLUDED.sumsq, min = EXCLUDED.min,
    max = EXCLUDED.max, nc = EXCLUDED.nc, ns = EXCLUDED.ns, ncc = EXCLUDED.ncc,
    nss = EXCLUDED.nss, ncs = EXCLUDED.ncs, sc = EXCLUDED.sc, ss = EXCLUDED.ss
"""


# Days marked for a daily re-rollup alone (by ingest, for the days a late state change reaches;
# by migrations 0006 and 0007, for every day), newest first: live scoring reads only the last
# ten days.
_TAKE_DAYS = """
DELETE FROM rollup_dirty_1d
WHERE (asset_id, day) IN (
    SELECT asset_id, day FROM rollup_dirty_1d ORDER BY day DESC LIMIT %(limit)s)
RETURNING asset_id, day
"""


def _refresh_days(conn: psycopg.Connection, assets: list[str], days: list) -> None:
    conn.execute(_REFRESH_1D, {"assets": assets, "days": days, "mid": diurnal.BUCKET_MID_S})


# Maintainers (the scorer, `train`, `backtest`, more scorers) take turns chunk by chunk: a day
# rolled up in one maintainer's transaction cannot see the 15-min rollups another is writing
# in its own, so concurrent chunks of the same day left that day short of buckets. (The turn
# also makes row locks on the marks unnecessary: no other maintainer can be taking them.)
_TAKE_TURN = "SELECT pg_advisory_xact_lock(%(key)s)"
_LOCK_KEY = 0x70726563  # "prec"


def refresh_rollups(
    conn: psycopg.Connection,
    chunk: int = 5000,
    max_chunks: int = 10_000,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Roll up every marked bucket, then every day marked on its own (in chunks, one
    transaction each, one maintainer at a time); returns buckets done. On TimescaleDB, where the
    15-minute rollup is a continuous aggregate, this commits the caller's open transaction.
    `stop` is asked between chunks: a backfill's backlog takes many, and a service told to stop
    should not finish them first (the marks left are taken up by the next round)."""
    go_on = (lambda: True) if stop is None else (lambda: not stop())
    if is_continuous_aggregate(conn):
        done = _refresh_continuous(conn, chunk, max_chunks, go_on)
    else:
        done = _refresh_table(conn, chunk, max_chunks, go_on)
    days_done = _refresh_marked_days(conn, chunk // 10, max_chunks, go_on)  # a day: ~96 buckets
    if done or days_done:
        logger.info("rolled up %d buckets and %d marked days", done, days_done)
    return done


def _refresh_table(
    conn: psycopg.Connection, chunk: int, max_chunks: int, go_on: Callable[[], bool]
) -> int:
    """The 15-minute table and the days its buckets fall in, recomputed chunk by chunk."""
    done = 0
    for _ in range(max_chunks):
        if not go_on():
            break
        with conn.transaction():
            conn.execute(_TAKE_TURN, {"key": _LOCK_KEY})
            taken, assets, days = conn.execute(_REFRESH_15M, {"limit": chunk}).fetchone()
            if assets:
                _refresh_days(conn, assets, days)
        done += taken
        if taken < chunk:
            break
    return done


def _refresh_marked_days(
    conn: psycopg.Connection, day_chunk: int, max_chunks: int, go_on: Callable[[], bool]
) -> int:
    """Days marked on their own, rolled up from the 15-minute rollup; returns days done."""
    days_done = 0
    for _ in range(max_chunks):
        if not go_on():
            break
        with conn.transaction():
            conn.execute(_TAKE_TURN, {"key": _LOCK_KEY})
            marked = conn.execute(_TAKE_DAYS, {"limit": day_chunk}).fetchall()
            if marked:
                _refresh_days(conn, [a for a, _ in marked], [d for _, d in marked])
        days_done += len(marked)
        if len(marked) < day_chunk:
            break
    return days_done


# -- TimescaleDB: the 15-minute rollup is a continuous aggregate (migration 0008) --------------

_IS_CAGG = """
SELECT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
               WHERE view_name = 'signal_rollup_15m')
"""

# Marks move to rollup_pending in one transaction; the aggregate is refreshed outside any (as
# TimescaleDB requires); the days are rolled up and the pending marks dropped in a third. A
# sample arriving meanwhile finds its mark gone and marks its bucket again, for the next round.
_TAKE_MARKS = (
    _TAKE_DIRTY
    + """, kept AS (
    INSERT INTO rollup_pending SELECT * FROM d ON CONFLICT DO NOTHING
)
SELECT count(*) FROM d
"""
)
_PENDING_SPAN = "SELECT min(bucket), max(bucket) + interval '15 minutes' FROM rollup_pending"
_TAKE_PENDING = """
WITH p AS (DELETE FROM rollup_pending RETURNING asset_id, bucket)
SELECT array_agg(asset_id), array_agg(day)
FROM (SELECT DISTINCT asset_id, date_trunc('day', bucket, 'UTC') AS day FROM p) AS u
"""


def is_continuous_aggregate(conn: psycopg.Connection) -> bool:
    """True when signal_rollup_15m is a TimescaleDB continuous aggregate."""
    idle = conn.info.transaction_status == TransactionStatus.IDLE
    try:
        return has_timescaledb(conn) and bool(conn.execute(_IS_CAGG).fetchone()[0])
    finally:
        if idle and not conn.autocommit:
            conn.rollback()  # only read: leave the connection as it was found


def _refresh_continuous(
    conn: psycopg.Connection, chunk: int, max_chunks: int, go_on: Callable[[], bool]
) -> int:
    """Refresh the aggregate over the marked buckets, then roll their days up, chunk by chunk.
    A session advisory lock keeps maintainers in turn across the three steps."""
    conn.commit()  # a refresh cannot run inside a transaction
    autocommit = conn.autocommit
    conn.autocommit = True
    done = 0
    try:
        conn.execute("SELECT pg_advisory_lock(%(key)s)", {"key": _LOCK_KEY})
        try:
            for _ in range(max_chunks):
                if not go_on():
                    break
                with conn.transaction():
                    taken = conn.execute(_TAKE_MARKS, {"limit": chunk}).fetchone()[0]
                lo, hi = conn.execute(_PENDING_SPAN).fetchone()
                if lo is not None:  # also marks a stopped maintainer left pending
                    conn.execute(
                        "CALL refresh_continuous_aggregate('signal_rollup_15m', %s, %s)", (lo, hi)
                    )
                    with conn.transaction():
                        assets, days = conn.execute(_TAKE_PENDING).fetchone()
                        _refresh_days(conn, assets, days)
                done += taken
                if taken < chunk:
                    break
        finally:
            # On a broken connection the lock went with the session; the error that broke it
            # is the one to report.
            with contextlib.suppress(psycopg.OperationalError):
                conn.execute("SELECT pg_advisory_unlock(%(key)s)", {"key": _LOCK_KEY})
    finally:
        conn.autocommit = autocommit
    return done
