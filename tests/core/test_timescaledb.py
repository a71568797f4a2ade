"""The migrations on a real TimescaleDB build (PGlite 0.3.14 + TimescaleDB 2.23, WASM, via node).

PGlite crashes on COPY and pipelined inserts, so it only applies the migrations and answers read
queries here; those answers must equal plain PostgreSQL's. Skips where node/npm are missing."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from precursor.core.migrate import available, migrate
from precursor.core.runtime.processes import free_port, stop_process, wait_until
from precursor.core.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

HERE = Path(__file__).parent / "pglite"
CACHE = Path(tempfile.gettempdir()) / "precursor-pglite-0.3.14-tsdb.1"


def _install() -> Path:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node/npm not available: TimescaleDB DDL check skipped")
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs may install at once
        for name in ("package.json", "serve.mjs"):
            shutil.copy(HERE / name, CACHE / name)
        if not (CACHE / "node_modules" / "@unni-craftsman" / "pglite").exists():
            result = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--silent"],
                cwd=CACHE, capture_output=True, text=True, timeout=420,
            )  # fmt: skip
            if result.returncode != 0:
                pytest.skip(f"npm install of PGlite failed: {result.stderr.strip()[-300:]}")
    return CACHE


@pytest.fixture(scope="module")
def timescale_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A TimescaleDB-enabled PGlite server on a free port for this module."""
    workdir = _install()
    port = free_port()
    log = tmp_path_factory.mktemp("pglite") / "pglite.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["node", "serve.mjs", str(port)], cwd=workdir, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        if not wait_until(lambda: "ready" in log.read_text() or proc.poll() is not None, 120):
            pytest.fail("PGlite did not start within 120 s")
        if proc.poll() is not None:
            pytest.fail(f"PGlite exited: {log.read_text()[-500:]}")
        yield f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres?sslmode=disable"
    finally:
        stop_process(proc, timeout=10)


DISPATCH = [
    ("e3", "2026-03-01T08:30:00Z", "HT-1", "maintenance", True),
    ("e1", "2026-03-01T06:00:00Z", "HT-1", "down", False),
    ("e2", "2026-03-01T07:00:00Z", "HT-1", "running", False),
    ("e4", "2026-03-01T06:15:00Z", "HT-2", "down", False),
]
SAMPLES = [(f"2026-03-01T06:0{i}:00Z", "CV-1", tag, float(i) * k)
           for i in range(5) for k, tag in enumerate(("vib", "temp"), 1)]  # fmt: skip
READS = [
    "SELECT event_id, asset_id, started_at, ended_at, duration_s, planned FROM downtime "
    "ORDER BY event_id",
    "SELECT asset_id, tag, count(*), min(value), max(value), avg(value) FROM signal_samples "
    "GROUP BY asset_id, tag ORDER BY tag",
    "SELECT asset_id, tag, ts, value FROM signal_samples WHERE ts > '2026-03-01T06:01:30Z' "
    "ORDER BY tag, ts",
]


def _load(conn: psycopg.Connection) -> None:
    # Plain one-row statements: PGlite cannot take COPY or pipelined batches.
    for row in DISPATCH:
        conn.execute("INSERT INTO dispatch_events (event_id, ts, asset_id, state, planned) "
                     "VALUES (%s, %s, %s, %s, %s)", row)  # fmt: skip
    for row in SAMPLES:
        conn.execute("INSERT INTO signal_samples (ts, asset_id, tag, value) "
                     "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", row)  # fmt: skip


def test_migrations_on_timescaledb_make_hypertables_and_policies(timescale_url: str) -> None:
    settings = Settings(database_url=timescale_url, retention_days=400, compress_after_days=3)
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        applied = migrate(conn, settings)
        assert applied == [f"{m.version:04d}_{m.name}" for m in available()]
        assert migrate(conn, settings) == []
        hypertables = dict(conn.execute(
            "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
        ).fetchall())  # fmt: skip
        jobs = {
            name: config
            for name, config in conn.execute(
                "SELECT proc_name, config FROM timescaledb_information.jobs "
                "WHERE hypertable_name = 'signal_samples'"
            )
        }
        _load(conn)
    assert hypertables == {"signal_samples": True, "alarms": False}
    assert jobs["policy_retention"]["drop_after"] == "400 days"
    assert jobs["policy_compression"]["compress_after"] == "3 days"


def test_timescaledb_and_plain_postgres_answer_reads_alike(
    timescale_url: str, database_url: str
) -> None:
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        migrate(conn)  # no-op when the test above ran first
        if conn.execute("SELECT count(*) FROM dispatch_events").fetchone()[0] == 0:
            _load(conn)
        on_timescale = [conn.execute(q).fetchall() for q in READS]
    with psycopg.connect(database_url, autocommit=True) as conn:
        _load(conn)
        on_postgres = [conn.execute(q).fetchall() for q in READS]
    assert on_timescale[0] and on_timescale[1]
    assert on_timescale == on_postgres
