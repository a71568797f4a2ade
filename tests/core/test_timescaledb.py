"""The migrations on a real TimescaleDB build (PGlite 0.3.14 + TimescaleDB 2.23, WASM, via node).

PGlite crashes on COPY, pipelined inserts and messages much over 40 kB, so data goes in as small
plain statements here. On it the migrations run, read queries are answered, the rollups are
maintained and the live scorer scores; every answer must equal plain PostgreSQL's. Skips where
node/npm are missing."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    with _serve(tmp_path_factory.mktemp("pglite") / "pglite.log") as url:
        yield url


@pytest.fixture
def empty_timescale_url(tmp_path: Path) -> Iterator[str]:
    """A TimescaleDB-enabled PGlite server of its own for one test (PGlite has one database)."""
    with _serve(tmp_path / "pglite.log") as url:
        yield url


@contextmanager
def _serve(log: Path) -> Iterator[str]:
    workdir = _install()
    port = free_port()
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


def test_retention_zero_keeps_raw_samples_for_good(timescale_url: str) -> None:
    """For replays of historic data: no retention policy, compression as set."""
    jobs = (
        "SELECT proc_name FROM timescaledb_information.jobs "
        "WHERE hypertable_name = 'signal_samples'"
    )
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        migrate(conn, Settings(database_url=timescale_url, retention_days=30))
        before = {r[0] for r in conn.execute(jobs)}
        migrate(conn, Settings(database_url=timescale_url, retention_days=0))
        after = {r[0] for r in conn.execute(jobs)}
    assert before == {"policy_retention", "policy_compression"}
    assert after == {"policy_compression"}


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


# Two assets, three tags, every 5 min for two days; RL-1 stops for three hours on day one.
ROLLUP_ASSETS = ("RL-1", "RL-2")
ROLLUP_DISPATCH = [
    ("r1", "2026-04-01T10:00:00Z", "RL-1", "down", False),
    ("r2", "2026-04-01T13:00:00Z", "RL-1", "running", False),
]
ROLLUP_READS = [
    "SELECT asset_id, tag, bucket, n, round(sum::numeric, 6), round(sumsq::numeric, 4), min, max, "
    "last, last_ts FROM signal_rollup_15m WHERE asset_id LIKE 'RL-%' ORDER BY 1, 2, 3",
    "SELECT asset_id, tag, day, n, round(sum::numeric, 6), round(sumsq::numeric, 4), min, max, "
    "round(nc::numeric, 6), round(ns::numeric, 6), round(sc::numeric, 4), round(ss::numeric, 4) "
    "FROM signal_rollup_1d WHERE asset_id LIKE 'RL-%' ORDER BY 1, 2, 3",
]
# Ingest marks the bucket of every sample it writes (services/ingest/sinks.py).
MARK = (
    "INSERT INTO rollup_dirty (asset_id, bucket) "
    "SELECT DISTINCT asset_id, to_timestamp(floor(extract(epoch FROM ts) / 900) * 900) "
    "FROM signal_samples WHERE asset_id LIKE %s AND ts >= %s ON CONFLICT DO NOTHING"
)


def _roll_up(conn: psycopg.Connection, chunk: int = 5000) -> None:
    """Run the rollup maintainer once and commit, as the scorer does each cycle."""
    from services.predict.rollups import refresh_rollups

    refresh_rollups(conn, chunk=chunk)
    conn.commit()


def _samples(start: str, count: int, step_min: int, offset: float) -> tuple[list, ...]:
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(start)
    rows = [
        (t0 + timedelta(minutes=step_min * i), asset, tag, offset + (i % 37) * (k + 1) + a * 0.5)
        for i in range(count)
        for a, asset in enumerate(ROLLUP_ASSETS)
        for k, tag in enumerate(("vib", "temp", "amps"))
    ]
    return tuple(list(col) for col in zip(*rows, strict=True))


def _write(
    conn: psycopg.Connection,
    start: str,
    count: int,
    step_min: int,
    offset: float,
    quality: str = "good",
) -> None:
    # Statements of a few hundred rows: PGlite cannot take COPY, pipelined batches or large
    # messages (its connection drops).
    columns = _samples(start, count, step_min, offset)
    for i in range(0, len(columns[0]), 300):
        conn.execute(
            "INSERT INTO signal_samples (ts, asset_id, tag, value, quality) "
            "SELECT *, %s FROM unnest(%s::timestamptz[], %s::text[], %s::text[], %s::float8[]) "
            "ON CONFLICT DO NOTHING",
            (quality, *(col[i : i + 300] for col in columns)),
        )
    conn.execute(MARK, ("RL-%", start))


def _insert_dispatch(conn: psycopg.Connection) -> None:
    for row in ROLLUP_DISPATCH:
        conn.execute("INSERT INTO dispatch_events (event_id, ts, asset_id, state, planned) "
                     "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", row)  # fmt: skip


def _rollups_after(url: str, steps: list[tuple]) -> list[list[list]]:
    reads = []
    # PGlite fails on server-side prepared statements, which psycopg makes of repeated queries.
    with psycopg.connect(url, prepare_threshold=None) as conn:
        migrate(conn)
        conn.commit()
        _insert_dispatch(conn)
        for step in steps:
            _write(conn, *step)
            conn.commit()
            _roll_up(conn, chunk=100)  # several chunks
            reads.append([conn.execute(q).fetchall() for q in ROLLUP_READS])
            pending = conn.execute("SELECT count(*) FROM rollup_pending").fetchone()[0]
            dirty = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()[0]
            assert (pending, dirty) == (0, 0)
    return reads


def test_continuous_aggregate_rolls_up_exactly_as_the_table(
    timescale_url: str, database_url: str
) -> None:
    """On TimescaleDB the 15-min rollup is a continuous aggregate; after the maintainer runs it
    holds what plain PostgreSQL's table holds, also after late samples into rolled-up buckets."""
    from services.predict.rollups import is_continuous_aggregate

    steps = [
        ("2026-04-01T00:00:00+00:00", 576, 5, 10.0),  # two days
        ("2026-04-01T06:02:30+00:00", 12, 5, 500.0),  # late, into buckets already rolled up
        ("2026-04-01T09:01:30+00:00", 12, 5, 9e6, "bad"),  # unusable: left out of both
    ]
    on_timescale = _rollups_after(timescale_url, steps)
    on_postgres = _rollups_after(database_url, steps)
    with psycopg.connect(timescale_url) as conn:
        assert is_continuous_aggregate(conn)
    with psycopg.connect(database_url) as conn:
        assert not is_continuous_aggregate(conn)
    first, late, bad = on_timescale
    assert len(first[0]) == 2 * 3 * 192 and first[1]  # every bucket, and days
    assert late != first  # the late samples changed both rollups
    assert bad == late  # the bad ones changed neither
    assert on_timescale == on_postgres


def test_upgrading_to_the_continuous_aggregate_keeps_the_rollups(empty_timescale_url: str) -> None:
    """A TimescaleDB database rolled up before migration 0008 (15-min table) has the same rollups
    after it: the migration marks the table's buckets, the maintainer re-derives them."""
    from services.predict.rollups import is_continuous_aggregate

    url = empty_timescale_url
    before_0008 = [m for m in available() if m.version < 8]
    with psycopg.connect(url, prepare_threshold=None) as conn:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("precursor.core.migrate.available", lambda: before_0008)
            migrate(conn)
        conn.commit()
        assert not is_continuous_aggregate(conn)
        _write(conn, "2026-04-01T00:00:00+00:00", 300, 5, 10.0)
        conn.commit()
        _roll_up(conn, chunk=100)
        table = [conn.execute(q).fetchall() for q in ROLLUP_READS]
        assert migrate(conn)[:2] == ["0008_continuous_aggregate", "0009_rollups_skip_bad_samples"]
        conn.commit()
        assert is_continuous_aggregate(conn)
        assert conn.execute(ROLLUP_READS[0]).fetchall() == []  # not refreshed yet
        _roll_up(conn, chunk=100)
        aggregate = [conn.execute(q).fetchall() for q in ROLLUP_READS]
    assert table[0] and table[1]
    assert aggregate == table


def test_upgrading_past_0009_drops_bad_samples_from_the_aggregate(
    empty_timescale_url: str, database_url: str
) -> None:
    """A continuous aggregate defined before 0009 counted 'bad' samples; after the migration
    and one maintainer pass it holds what plain PostgreSQL's table holds without them."""
    steps = [
        ("2026-04-01T00:00:00+00:00", 300, 5, 10.0),
        ("2026-04-01T06:01:30+00:00", 12, 5, 9e6, "bad"),
    ]
    before_0009 = [m for m in available() if m.version < 9]
    with psycopg.connect(empty_timescale_url, prepare_threshold=None) as conn:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("precursor.core.migrate.available", lambda: before_0009)
            migrate(conn)
        _insert_dispatch(conn)
        for step in steps:
            _write(conn, *step)
        conn.commit()
        _roll_up(conn, chunk=100)
        old = [conn.execute(q).fetchall() for q in ROLLUP_READS]
        assert migrate(conn)[:1] == ["0009_rollups_skip_bad_samples"]
        conn.commit()
        _roll_up(conn, chunk=100)
        upgraded = [conn.execute(q).fetchall() for q in ROLLUP_READS]
    reference = _rollups_after(database_url, steps)[-1]
    assert old != reference  # the old aggregate had counted the bad samples
    assert upgraded == reference


def test_marks_a_stopped_maintainer_left_pending_are_rolled_up(timescale_url: str) -> None:
    """A maintainer stopped between taking marks and rolling their days up leaves them in
    rollup_pending; the next one refreshes and rolls them up although rollup_dirty is empty."""
    with psycopg.connect(timescale_url, prepare_threshold=None) as conn:
        migrate(conn)
        conn.execute(
            "INSERT INTO signal_samples (ts, asset_id, tag, value) "
            "SELECT '2026-05-01T00:00:00Z'::timestamptz + g * interval '5 minutes', "
            "'RP-1', 'vib', g FROM generate_series(0, 11) AS g"
        )
        conn.execute(
            "INSERT INTO rollup_pending (asset_id, bucket) "
            "SELECT 'RP-1', '2026-05-01T00:00:00Z'::timestamptz + g * interval '15 minutes' "
            "FROM generate_series(0, 3) AS g"
        )
        conn.commit()
        assert conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()[0] == 0
        _roll_up(conn)
        buckets = conn.execute(
            "SELECT n, sum FROM signal_rollup_15m WHERE asset_id = 'RP-1' ORDER BY bucket"
        ).fetchall()
        day = conn.execute("SELECT n, sum FROM signal_rollup_1d WHERE asset_id = 'RP-1'").fetchall()
        pending = conn.execute("SELECT count(*) FROM rollup_pending").fetchone()[0]
    assert buckets == [(3, 3.0), (3, 12.0), (3, 21.0), (3, 30.0)]
    assert day == [(12, 66.0)]
    assert pending == 0


def test_late_samples_into_a_compressed_chunk_land_once_and_are_rolled_up(
    empty_timescale_url: str,
) -> None:
    """A backfill older than the compression age writes into compressed chunks: the new sample
    lands, the redelivered one does not, and both rollups take the new one in."""
    day = "2026-05-01T00:00:00Z"
    with psycopg.connect(empty_timescale_url, prepare_threshold=None) as conn:
        migrate(conn)
        conn.execute(
            "INSERT INTO signal_samples (ts, asset_id, tag, value) SELECT %s::timestamptz "
            "+ g * interval '5 minutes', 'CP-1', 'vib', 1.0 FROM generate_series(0, 287) AS g",
            (day,),
        )
        conn.execute(MARK, ("CP-%", day))
        conn.commit()
        _roll_up(conn)
        for (chunk,) in conn.execute("SELECT show_chunks('signal_samples')").fetchall():
            conn.execute("SELECT compress_chunk(%s::regclass)", (chunk,))
        conn.commit()
        compressed = conn.execute(
            "SELECT count(*) FROM chunk_compression_stats('signal_samples') "
            "WHERE compression_status = 'Compressed'"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO signal_samples (ts, asset_id, tag, value) VALUES "
            "('2026-05-01T00:02:30Z', 'CP-1', 'vib', 100.0), "  # new
            "('2026-05-01T00:05:00Z', 'CP-1', 'vib', 999.0) "  # already stored: ignored
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(MARK, ("CP-%", day))
        conn.commit()
        _roll_up(conn)
        first = conn.execute(
            "SELECT n, sum, max FROM signal_rollup_15m ORDER BY bucket LIMIT 1"
        ).fetchone()
        daily = conn.execute("SELECT n, sum FROM signal_rollup_1d").fetchall()
    assert compressed >= 1
    assert first == (4, 103.0, 100.0)
    assert daily == [(289, 388.0)]


def _insert_plant(conn: psycopg.Connection, sim, messages: dict[str, list[dict]]) -> None:
    """Write a simulation as ingest would (its row builders and rollup marks), in statements
    of 300 rows: PGlite cannot take ingest's COPY."""
    import orjson

    from precursor.core import contracts
    from precursor.core.registry import upsert_assets
    from services.ingest.sinks import SPECS, mark_days_after, mark_dirty

    upsert_assets(conn, sim.registry())
    for stream, spec in SPECS.items():
        rows = [
            row
            for message in messages[stream]
            for row in spec.to_rows(
                contracts.decode(contracts.STREAM_MODELS[stream], orjson.dumps(message), 1 << 20)
            )
        ]
        columns = ", ".join(spec.columns)
        arrays = ", ".join(f"%s::{t}[]" for t in spec.pg_types)
        for i in range(0, len(rows), 300):
            chunk = rows[i : i + 300]
            conn.execute(
                f"INSERT INTO {spec.table} ({columns}) SELECT * FROM unnest({arrays}) "
                "ON CONFLICT DO NOTHING",
                tuple(list(col) for col in zip(*chunk, strict=True)),
            )
            if spec.marks_rollups:
                mark_dirty(conn, chunk, spec.ts_index, spec.asset_index)
            if spec.changes_states:
                mark_days_after(conn, chunk, spec.ts_index, spec.asset_index)
        conn.commit()


SCORED = [
    "SELECT asset_id, ts, round(probability::numeric, 6), likelihood, consequence, rating, "
    "contributions IS NOT NULL FROM risk_scores ORDER BY 1, 2",
    "SELECT alert_id, opened_at, closed_at, status, peak_rating FROM alerts ORDER BY 1",
    "SELECT alert_id, kind FROM alert_events ORDER BY event_id",
]


def _score(url: str, mlflow_dir: Path, **connect) -> list[list]:
    from pydantic import SecretStr

    from services.predict.scorer import Scorer

    scorer = Scorer(_settings(mlflow_dir, database_url=SecretStr(url)))
    with psycopg.connect(url, **connect) as conn:
        while scorer.cycle(conn):
            pass
        return [conn.execute(q).fetchall() for q in SCORED]


def _settings(mlflow_dir: Path, **more) -> Settings:
    return Settings(
        data_dir=mlflow_dir, mlflow_tracking_uri=f"sqlite:///{mlflow_dir / 'mlflow.db'}", **more
    )


def test_scorer_on_the_continuous_aggregate_scores_as_on_plain_postgres(
    empty_timescale_url: str, database_url: str, small_model, tmp_path: Path
) -> None:
    """The live scorer on TimescaleDB (rollups refreshed into the continuous aggregate, frames
    read from it) writes the same risk scores and alerts as on plain PostgreSQL's table."""
    from pipelines.simulate.frames import frames_from
    from tests.models.plant import register_champion, seed_database, small_plant

    model = small_model[0]
    # Two assets for nine days: PGlite drops messages much over 40 kB, and the scorer writes a
    # day's scores of every asset in one statement.
    sim, sink = small_plant(seed=5, assets=2, days=9)
    register_champion(_settings(tmp_path), model, frames_from(sink.messages, sim.registry()))
    with psycopg.connect(empty_timescale_url, prepare_threshold=None) as conn:
        migrate(conn)
        conn.commit()
        _insert_plant(conn, sim, sink.messages)
    seed_database(database_url, sim)
    on_timescale = _score(empty_timescale_url, tmp_path, prepare_threshold=None)
    on_postgres = _score(database_url, tmp_path)
    scores, alerts, events = on_timescale
    assert len({r[1] for r in scores}) == 97  # a first start catches up 24 h: both ends included
    assert {r[0] for r in scores} == {a["asset_id"] for a in sim.registry()}
    assert any(r[6] for r in scores) and alerts and events  # the low threshold opens alerts
    assert on_timescale == on_postgres
