"""Migrations: applied once, the contract's columns and natural keys exist."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from precursor.core.errors import MigrationError
from precursor.core.migrate import available, migrate
from tests.conftest import drop_database

CONTRACT = {
    "assets": {"asset_id", "name", "kind", "site", "area", "criticality", "attributes"},
    "signal_samples": {"ts", "asset_id", "tag", "value", "quality"},
    "alarms": {"ts", "asset_id", "tag", "kind", "priority", "state", "code"},
    "dispatch_events": {"event_id", "ts", "asset_id", "state", "planned", "reason_code", "reason",
                        "crew", "operator"},
    "downtime": {"event_id", "asset_id", "started_at", "ended_at", "duration_s", "planned",
                 "reason_code", "crew"},
    "incidents": {"incident_id", "ts", "asset_id", "kind", "severity", "description", "source"},
}  # fmt: skip


def test_migrate_twice_applies_each_file_once(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert migrate(conn) == []  # the fixture already migrated
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [m.version for m in available()]


def test_migrate_refuses_a_database_that_is_not_utf8(pg_server) -> None:
    name = f"ascii_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.url_for("postgres"), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' TEMPLATE template0 "
            "LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    url = pg_server.url_for(name)
    try:
        with psycopg.connect(url) as conn, pytest.raises(MigrationError, match="needs UTF8"):
            migrate(conn)
        with psycopg.connect(url) as conn:  # nothing was created
            assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None
    finally:
        drop_database(pg_server, url)


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_schema_has_the_contract_columns(database_url: str, table: str) -> None:
    with psycopg.connect(database_url) as conn:
        cols = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,),
            )
        }
    assert CONTRACT[table] <= cols


def test_natural_keys_refuse_duplicates(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = ("2026-03-01T06:00:00Z", "A", None, "HI", 2, "active", None)
        insert = "INSERT INTO alarms (ts, asset_id, tag, kind, priority, state, code) " \
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)"  # fmt: skip
        conn.execute(insert, row)
        # A missing tag is still the same alarm (NULLS NOT DISTINCT).
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, row)
        conn.rollback()
        sample = "INSERT INTO signal_samples (ts, asset_id, tag, value) VALUES (%s, %s, %s, %s)"
        conn.execute(sample, ("2026-03-01T06:00:00Z", "A", "v", 1.0))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(sample, ("2026-03-01T08:00:00+02:00", "A", "v", 2.0))
