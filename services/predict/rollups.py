"""Keeps the 15-minute and daily signal rollups exact, from the buckets ingest marked dirty."""

from __future__ import annotations

import logging

import psycopg

logger = logging.getLogger(__name__)

# Each marked (asset, bucket) is recomputed whole from raw samples: an index range scan on
# (asset_id, ts), so it is exact for late, duplicate or out-of-order data alike.
_REFRESH_15M = """
WITH d AS (
    DELETE FROM rollup_dirty
    WHERE (asset_id, bucket) IN (
        SELECT asset_id, bucket FROM rollup_dirty ORDER BY bucket LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED)
    RETURNING asset_id, bucket
), agg AS (
    SELECT s.asset_id, s.tag, d.bucket, count(*)::int AS n, sum(s.value) AS sum,
           sum(s.value * s.value) AS sumsq, min(s.value) AS min, max(s.value) AS max,
           (array_agg(s.value ORDER BY s.ts DESC))[1] AS last, max(s.ts) AS last_ts
    FROM d JOIN signal_samples s
      ON s.asset_id = d.asset_id AND s.ts >= d.bucket AND s.ts < d.bucket + interval '15 minutes'
    GROUP BY s.asset_id, s.tag, d.bucket
), up AS (
    INSERT INTO signal_rollup_15m AS r
        (asset_id, tag, bucket, n, sum, sumsq, min, max, last, last_ts)
    SELECT * FROM agg
    ON CONFLICT (asset_id, tag, bucket) DO UPDATE SET
        n = EXCLUDED.n, sum = EXCLUDED.sum, sumsq = EXCLUDED.sumsq, min = EXCLUDED.min,
        max = EXCLUDED.max, last = EXCLUDED.last, last_ts = EXCLUDED.last_ts
    RETURNING r.asset_id, r.tag, date_trunc('day', r.bucket, 'UTC') AS day
)
SELECT (SELECT count(*) FROM d), array_agg(asset_id), array_agg(tag), array_agg(day)
FROM (SELECT DISTINCT asset_id, tag, day FROM up) AS u
"""

_REFRESH_1D = """
INSERT INTO signal_rollup_1d AS r (asset_id, tag, day, n, sum, sumsq, min, max)
SELECT k.asset_id, k.tag, k.day, sum(x.n), sum(x.sum), sum(x.sumsq), min(x.min), max(x.max)
FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) AS k(asset_id, tag, day)
JOIN signal_rollup_15m x
  ON x.asset_id = k.asset_id AND x.tag = k.tag
 AND x.bucket >= k.day AND x.bucket < k.day + interval '1 day'
GROUP BY k.asset_id, k.tag, k.day
ON CONFLICT (asset_id, tag, day) DO UPDATE SET
    n = EXCLUDED.n, sum = EXCLUDED.sum, sumsq = EXCLUDED.sumsq, min = EXCLUDED.min,
    max = EXCLUDED.max
"""


def refresh_rollups(conn: psycopg.Connection, chunk: int = 5000, max_chunks: int = 10_000) -> int:
    """Roll up every marked bucket (in chunks, one transaction each); returns buckets done."""
    done = 0
    for _ in range(max_chunks):
        with conn.transaction():
            taken, assets, tags, days = conn.execute(_REFRESH_15M, {"limit": chunk}).fetchone()
            if assets:
                conn.execute(_REFRESH_1D, (assets, tags, days))
        done += taken
        if taken < chunk:
            break
    if done:
        logger.info("rolled up %d buckets", done)
    return done
