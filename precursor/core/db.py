"""Database access: one psycopg pool per process, opened explicitly so bad URLs fail fast."""

from __future__ import annotations

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from precursor.core.errors import ConfigurationError, DatabaseUnavailable
from precursor.core.settings import Settings


def database_url(settings: Settings) -> str:
    """The configured URL, or a one-line error when none is set."""
    if settings.database_url is None:
        raise ConfigurationError("no database configured: set PRECURSOR_DATABASE_URL or run `up`")
    return settings.database_url.get_secret_value()


def open_pool(
    settings: Settings,
    *,
    min_size: int = 1,
    max_size: int = 4,
    timeout: float = 10.0,
    wait: bool = True,
) -> ConnectionPool:
    """Open a pool and wait for its first connection; raise DatabaseUnavailable if it cannot.
    With wait=False the pool keeps connecting in the background instead (a server that must
    stay up while the database is away), and checkouts give up after `timeout` seconds."""
    pool = ConnectionPool(
        database_url(settings),
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": False},
        # A restarted server leaves dead connections in the pool: check each on checkout.
        check=ConnectionPool.check_connection,
        name="precursor",
        timeout=timeout,
    )
    if not wait:
        pool.open(wait=False)
        return pool
    try:
        pool.open(wait=True, timeout=timeout)
    except PoolTimeout:
        pool.close()
        raise DatabaseUnavailable(f"database not reachable within {timeout:.0f}s") from None
    return pool


def connect(
    settings: Settings, *, autocommit: bool = False, timeout: int = 10
) -> psycopg.Connection:
    """One connection outside any pool (CLI commands, migrations)."""
    try:
        return psycopg.connect(
            database_url(settings), autocommit=autocommit, connect_timeout=timeout
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"cannot connect to the database: {first}") from None


def has_timescaledb(conn: psycopg.Connection) -> bool:
    """True when the timescaledb extension is installed in this database."""
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None
