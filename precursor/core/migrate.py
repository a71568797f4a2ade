"""Schema migrations: numbered SQL files from `infra.migrations`, each applied once and recorded."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from precursor.core.db import has_timescaledb
from precursor.core.errors import MigrationError
from precursor.core.settings import Settings

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works; it serialises concurrent `migrate` runs against one database.
_LOCK_KEY = 0x7072_6563


@dataclass(frozen=True)
class Migration:
    """One SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """Content hash, so an edited, already applied file is noticed."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """The migration files shipped with the package, in order."""
    found = []
    for entry in resources.files("infra.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return found


def require_utf8(conn: psycopg.Connection) -> None:
    """Refuse a database whose encoding is not UTF8. In a SQL_ASCII one (initdb's default where
    no locale is set) psycopg returns text as bytes, and every read of names, tags and JSON
    would go wrong; the first symptom would be a second `migrate` calling each applied file
    edited."""
    encoding = conn.execute("SHOW server_encoding").fetchone()[0]
    if encoding != "UTF8":
        name = conn.info.dbname
        raise MigrationError(
            f"database {name} has encoding {encoding}; Precursor needs UTF8 (CREATE DATABASE "
            f"{name} ENCODING 'UTF8' TEMPLATE template0, or initdb --encoding=UTF8)"
        )


def migrate(conn: psycopg.Connection, settings: Settings | None = None) -> list[str]:
    """Apply pending migrations in one transaction each; return the names applied."""
    require_utf8(conn)
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            v: (n, c)
            for v, n, c in conn.execute("SELECT version, name, checksum FROM schema_migrations")
        }
        for mig in available():
            if mig.version in done:
                if done[mig.version][1] != mig.checksum:
                    raise MigrationError(
                        f"migration {mig.version:04d}_{mig.name} was edited after being applied"
                    )
                continue
            try:
                with conn.transaction():
                    conn.execute(mig.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) "
                        "VALUES (%s, %s, %s)",
                        (mig.version, mig.name, mig.checksum),
                    )
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {mig.version:04d}_{mig.name} failed: {exc}"
                ) from exc
            applied_now.append(f"{mig.version:04d}_{mig.name}")
            logger.info("applied migration %04d_%s", mig.version, mig.name)
        if settings is not None and has_timescaledb(conn):
            _apply_timescale_policies(conn, settings)
    return applied_now


def _apply_timescale_policies(conn: psycopg.Connection, settings: Settings) -> None:
    """Retention and compression ages follow the current settings on every run; retention 0
    removes the policy (TimescaleDB drops chunks older than now() minus the age, so a replay of
    years-old data would otherwise lose its raw samples within a day)."""
    conn.execute("SELECT remove_retention_policy('signal_samples', if_exists => true)")
    if settings.retention_days:
        conn.execute(
            "SELECT add_retention_policy('signal_samples', make_interval(days => %s))",
            (settings.retention_days,),
        )
    conn.execute("SELECT remove_compression_policy('signal_samples', if_exists => true)")
    conn.execute(
        "SELECT add_compression_policy('signal_samples', make_interval(days => %s))",
        (settings.compress_after_days,),
    )
