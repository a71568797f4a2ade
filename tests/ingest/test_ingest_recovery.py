"""Ingest survives a killed consumer and a stopped database without losing or doubling rows."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from precursor.core.kafka import ensure_topics
from precursor.core.metrics import INGEST_DB_UNAVAILABLE
from precursor.core.migrate import migrate
from precursor.core.runtime.postgres import EmbeddedPostgres
from precursor.core.runtime.processes import free_port
from precursor.core.settings import Settings
from tests.conftest import make_settings
from tests.helpers import committed_total, count, ingest_thread, produce, snapshots, wait_for

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def _ingest_process(settings: Settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "PRECURSOR_DATABASE_URL": settings.database_url.get_secret_value(),
        "PRECURSOR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PRECURSOR_DATA_DIR": str(settings.data_dir),
        "PRECURSOR_TOPIC_SIGNALS": settings.topic_signals,
        "PRECURSOR_CONSUMER_GROUP": settings.consumer_group,
        "PRECURSOR_PARTITIONS": str(settings.partitions),
        "PRECURSOR_KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
        "PRECURSOR_BATCH_SIZE": str(settings.batch_size),
        "PRECURSOR_METRICS_PORT": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "precursor", "ingest", "--stream", "signals"],
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_ingest_sigkilled_mid_stream_then_restarted_gives_exact_counts(
    database_url: str, broker, tmp_path
) -> None:
    settings = make_settings(database_url, broker.bootstrap, tmp_path, batch_size=2_000)
    ensure_topics(settings)
    total = 80_000
    produce(settings, settings.topic_signals, snapshots(total // 8, tags=8))
    first = _ingest_process(settings)
    try:
        wait_for(lambda: count(settings, "SELECT count(*) FROM signal_samples") > 0, 60, "rows")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    partial = count(settings, "SELECT count(*) FROM signal_samples")
    assert 0 < partial < total, "the kill must land mid-stream for this test to mean anything"

    second = _ingest_process(settings)
    try:
        wait_for(lambda: committed_total(settings, "signals") == total // 8, 120, "all committed")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert count(settings, "SELECT count(*) FROM signal_samples") == total
    assert (
        count(settings, "SELECT count(DISTINCT (asset_id, tag, ts)) FROM signal_samples") == total
    )


def test_ingest_survives_database_restart_without_restarting(broker, tmp_path) -> None:
    port = free_port()
    pg = EmbeddedPostgres(tmp_path / "own-pg", port=port).start()
    try:
        with psycopg.connect(pg.url) as conn:
            migrate(conn)
        settings = make_settings(pg.url, broker.bootstrap, tmp_path, batch_size=1_000)
        ensure_topics(settings)
        batch_one = snapshots(2_000, tags=5, start_ms=1_772_000_000_000)
        batch_two = snapshots(2_000, tags=5, start_ms=1_800_000_000_000)
        with ingest_thread(settings, ("signals",)) as ingest:
            produce(settings, settings.topic_signals, batch_one)
            wait_for(
                lambda: count(settings, "SELECT count(*) FROM signal_samples") == 10_000,
                60,
                "first half",
            )
            before = INGEST_DB_UNAVAILABLE.labels("signals")._value.get()
            pg.stop()
            produce(settings, settings.topic_signals, batch_two)  # arrives while the DB is down
            # Longer than the writer's connect timeout: the loop must rewind and back off.
            wait_for(
                lambda: INGEST_DB_UNAVAILABLE.labels("signals")._value.get() > before,
                60,
                "the consumer to notice the outage",
            )
            pg.start()
            wait_for(lambda: committed_total(settings, "signals") == 4_000, 120, "recovery")
            assert ingest["thread"].is_alive(), "the consumer must recover without a restart"
        assert ingest["exit"] == 0
        assert count(settings, "SELECT count(*) FROM signal_samples") == 20_000
    finally:
        pg.stop()


def test_out_of_order_dispatch_events_give_right_downtime_intervals(settings: Settings) -> None:
    t0 = datetime(2026, 3, 1, 6, tzinfo=UTC)
    timeline = []
    states = ["running", "down", "running", "maintenance", "idle", "down", "running", "down"]
    for asset in ("HT-01", "HT-02", "HT-03"):
        for i, state in enumerate(states):
            timeline.append({
                "event_id": f"{asset}-{i}", "asset_id": asset,
                "ts": (t0 + timedelta(minutes=37 * i + len(asset))).isoformat(),
                "state": state, "planned": state == "maintenance", "reason_code": f"R{i}",
            })  # fmt: skip
    shuffled = timeline[:]
    random.Random(7).shuffle(shuffled)
    produce(
        settings,
        settings.topic_dispatch,
        [(e["asset_id"].encode(), orjson.dumps(e)) for e in shuffled],
    )
    with ingest_thread(settings, ("dispatch",)):
        wait_for(lambda: committed_total(settings, "dispatch") == len(timeline), 60, "events")

    expected = []
    for asset in ("HT-01", "HT-02", "HT-03"):
        events = sorted((e for e in timeline if e["asset_id"] == asset), key=lambda e: e["ts"])
        for cur, nxt in zip(events, [*events[1:], None], strict=True):
            if cur["state"] in ("down", "maintenance"):
                start = datetime.fromisoformat(cur["ts"])
                end = datetime.fromisoformat(nxt["ts"]) if nxt else None
                duration = (end - start).total_seconds() if end else None
                expected.append((cur["event_id"], asset, start, end, duration, cur["planned"]))
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        got = conn.execute(
            "SELECT event_id, asset_id, started_at, ended_at, duration_s, planned "
            "FROM downtime ORDER BY asset_id, started_at"
        ).fetchall()
    assert got == expected
    assert sum(1 for row in got if row[3] is None) == 3  # each asset's last stop is ongoing
