"""Batch writers per table: COPY straight in (fast) or via staging + ON CONFLICT (dedupe)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from precursor.core import contracts
from precursor.core.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

# How long a batch waits for a database connection before the loop backs off and rewinds.
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TableSpec:
    """How one stream's rows land in one table."""

    stream: str
    table: str
    columns: tuple[str, ...]
    pg_types: tuple[str, ...]
    conflict: tuple[str, ...] | None  # None: rely on the table's unique constraint
    asset_index: int
    to_rows: Callable[[contracts._Message], list[tuple]]
    # COPY straight into the uniquely indexed table first; only a batch that hits a
    # duplicate (a redelivery) pays for the staging path. Worth it for the hot stream only.
    copy_first: bool = False
    # Mark the touched 15-min buckets for the rollup maintainer (samples, dispatch events).
    marks_rollups: bool = False
    ts_index: int = 0
    # State changes (dispatch events): also mark the later days their state reaches.
    changes_states: bool = False


SPECS: dict[str, TableSpec] = {
    "signals": TableSpec(
        "signals", "signal_samples",
        ("ts", "asset_id", "tag", "value", "quality"),
        ("timestamptz", "text", "text", "float8", "text"),
        ("asset_id", "tag", "ts"), 1, contracts.signal_rows, copy_first=True,
        marks_rollups=True,
    ),
    "alarms": TableSpec(
        "alarms", "alarms",
        ("ts", "asset_id", "tag", "kind", "priority", "state", "code"),
        ("timestamptz", "text", "text", "text", "int2", "text", "text"),
        None, 1, lambda m: [contracts.alarm_row(m)],
    ),
    "dispatch": TableSpec(
        "dispatch", "dispatch_events",
        ("event_id", "ts", "asset_id", "state", "planned", "reason_code", "reason", "crew",
         "operator"),
        ("text", "timestamptz", "text", "text", "bool", "text", "text", "text", "text"),
        ("event_id",), 2, lambda m: [contracts.dispatch_row(m)],
        marks_rollups=True, ts_index=1, changes_states=True,
    ),
    "incidents": TableSpec(
        "incidents", "incidents",
        ("incident_id", "ts", "asset_id", "kind", "severity", "description", "source"),
        ("text", "timestamptz", "text", "text", "int2", "text", "text"),
        ("incident_id",), 2, lambda m: [contracts.incident_row(m)],
    ),
}  # fmt: skip


@dataclass
class WriteResult:
    """What one batch write did."""

    inserted: int
    duplicates: int


ROLLUP_SECONDS = 900


def mark_dirty(
    conn: psycopg.Connection, rows: Sequence[tuple], ts_index: int = 0, asset_index: int = 1
) -> None:
    """Record which (asset, 15-min bucket) pairs these rows touch: samples change a bucket, a
    dispatch event changes which buckets of its day count as running."""
    touched = {(row[asset_index], int(row[ts_index].timestamp()) // ROLLUP_SECONDS) for row in rows}
    assets = [a for a, _ in touched]
    buckets = [datetime.fromtimestamp(b * ROLLUP_SECONDS, UTC) for _, b in touched]
    conn.execute(
        "INSERT INTO rollup_dirty (asset_id, bucket) "
        "SELECT * FROM unnest(%s::text[], %s::timestamptz[]) ON CONFLICT DO NOTHING",
        (assets, buckets),
    )


# A state lasts until the asset's next event, so an event decides which buckets count as
# running on every day up to that next event's day (or the asset's newest daily rollup).
# Events often arrive after the samples (delay codes are entered after the fact; the dispatch
# consumer can lag the signal one): the days after the event's own were then rolled up with the
# state that was known before it. Those days are marked for the maintainer to redo.
_MARK_DAYS_AFTER = """
INSERT INTO rollup_dirty_1d (asset_id, day)
SELECT DISTINCT e.asset_id, g.day
FROM unnest(%s::text[], %s::timestamptz[]) AS e(asset_id, ts)
CROSS JOIN LATERAL (
    SELECT coalesce(
        (SELECT min(d.ts) FROM dispatch_events d WHERE d.asset_id = e.asset_id AND d.ts > e.ts),
        (SELECT max(r.day) FROM signal_rollup_1d r WHERE r.asset_id = e.asset_id)) AS until
) AS n
CROSS JOIN LATERAL generate_series(
    date_trunc('day', e.ts, 'UTC') + interval '24 hours',
    date_trunc('day', n.until, 'UTC'), interval '24 hours') AS g(day)
ON CONFLICT DO NOTHING
"""


def mark_days_after(
    conn: psycopg.Connection, rows: Sequence[tuple], ts_index: int, asset_index: int
) -> None:
    """Mark for a daily re-rollup the days after each state change's own, up to the asset's
    next state change (its own day is marked through its 15-min bucket)."""
    conn.execute(_MARK_DAYS_AFTER, ([r[asset_index] for r in rows], [r[ts_index] for r in rows]))


class RowsRejected(Exception):
    """The database refused the batch for a reason other than connectivity (bad data)."""


class TableWriter:
    """Writes batches of one stream's rows in a single transaction each."""

    def __init__(self, pool: ConnectionPool, spec: TableSpec):
        self.pool = pool
        self.spec = spec
        self._known_assets: set[str] = set()
        cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
        stage = sql.Identifier(f"stage_{spec.table}")
        target = sql.Identifier(spec.table)
        conflict = (
            sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Identifier, spec.conflict)))
            if spec.conflict
            else sql.SQL("")
        )
        self._create_stage = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        ).format(stage, target)
        self._copy_stage = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, cols)
        self._copy_target = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, cols)
        self._merge = sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT {} DO NOTHING"
        ).format(target, cols, cols, stage, conflict)

    def write(self, rows: Sequence[tuple]) -> WriteResult:
        """Store rows exactly once; DatabaseUnavailable when the server cannot be reached,
        RowsRejected when it refuses the data."""
        if not rows:
            return WriteResult(0, 0)
        try:
            with self.pool.connection(timeout=CONNECT_TIMEOUT_S) as conn:
                with conn.transaction():
                    new_assets = self._register_assets(conn, rows)
                    inserted = self._insert(conn, rows)
                    if self.spec.marks_rollups:
                        mark_dirty(conn, rows, self.spec.ts_index, self.spec.asset_index)
                    if self.spec.changes_states:
                        mark_days_after(conn, rows, self.spec.ts_index, self.spec.asset_index)
                self._known_assets.update(new_assets)
                return WriteResult(inserted, len(rows) - inserted)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise DatabaseUnavailable(str(exc).strip().splitlines()[0] if str(exc) else "") from exc
        except psycopg.Error as exc:
            raise RowsRejected(f"{type(exc).__name__}: {exc}".strip()) from exc

    def ping(self) -> bool:
        """True when the database answers right now."""
        try:
            with self.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except (psycopg.Error, PoolTimeout):
            return False

    def _insert(self, conn: psycopg.Connection, rows: Sequence[tuple]) -> int:
        if self.spec.copy_first:
            try:
                with conn.transaction():  # a savepoint: a duplicate undoes only this COPY
                    self._copy(conn, self._copy_target, rows)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                logger.debug("%s: batch holds stored rows, deduplicating", self.spec.table)
        conn.execute(self._create_stage)
        self._copy(conn, self._copy_stage, rows)
        return conn.execute(self._merge).rowcount

    def _copy(
        self, conn: psycopg.Connection, statement: sql.Composable, rows: Sequence[tuple]
    ) -> None:
        with conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(list(self.spec.pg_types))
            for row in rows:
                copy.write_row(row)

    def _register_assets(self, conn: psycopg.Connection, rows: Sequence[tuple]) -> set[str]:
        idx = self.spec.asset_index
        seen = {row[idx] for row in rows} - self._known_assets
        if seen:
            conn.execute(
                "INSERT INTO assets (asset_id, name) SELECT a, a FROM unnest(%s::text[]) AS a "
                "ON CONFLICT (asset_id) DO NOTHING",
                (sorted(seen),),
            )
        return seen
