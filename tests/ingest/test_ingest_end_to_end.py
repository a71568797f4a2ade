"""Ingest against the real broker and database: exact counts, dedupe, dead letters."""

from __future__ import annotations

import orjson
import pytest
from kafka import KafkaConsumer

from precursor.core.settings import Settings, dlq_topic
from services.ingest.dlq import HEADER_ERROR, HEADER_OFFSET
from tests.helpers import (
    committed_total,
    count,
    ingest_thread,
    produce,
    snapshot,
    snapshots,
    wait_for,
)

pytestmark = pytest.mark.timeout(300)


def _read_dlq(settings: Settings, topic: str, expected: int, timeout: float = 30) -> list:
    consumer = KafkaConsumer(
        dlq_topic(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout * 1000),
    )
    records = []
    try:
        for record in consumer:
            records.append(record)
            if len(records) >= expected:
                break
    finally:
        consumer.close()
    return records


def test_ingest_60k_samples_land_exactly_once(settings: Settings) -> None:
    messages = snapshots(6_000, tags=10)
    produce(settings, settings.topic_signals, messages)
    with ingest_thread(settings, ("signals",)):
        wait_for(
            lambda: count(settings, "SELECT count(*) FROM signal_samples") >= 60_000,
            120,
            "60k samples",
        )
    assert count(settings, "SELECT count(*) FROM signal_samples") == 60_000
    assert (
        count(settings, "SELECT count(DISTINCT (asset_id, tag, ts)) FROM signal_samples") == 60_000
    )
    assert count(settings, "SELECT count(*) FROM assets") == 20


def test_ingest_every_message_twice_gives_no_duplicate_rows(settings: Settings) -> None:
    messages = snapshots(2_000, tags=5)
    events = [
        (b"HT-07", orjson.dumps({"event_id": f"d-{i}", "asset_id": "HT-07",
                                 "ts": 1_772_000_000_000 + i * 60_000,
                                 "state": "down" if i % 2 else "running"}))
        for i in range(50)
    ]  # fmt: skip
    alarms = [
        (b"CV-1", orjson.dumps({"asset_id": "CV-1", "ts": 1_772_000_000_000 + i * 1000,
                                "kind": "HI", "priority": 2, "state": "active"}))
        for i in range(30)
    ]  # fmt: skip
    incidents = [
        (b"CR-1", orjson.dumps({"incident_id": f"i-{i}", "asset_id": "CR-1",
                                "ts": 1_772_000_000_000, "kind": "near_miss", "severity": 2}))
        for i in range(10)
    ]  # fmt: skip
    for topic, batch in [
        (settings.topic_signals, messages),
        (settings.topic_dispatch, events),
        (settings.topic_alarms, alarms),
        (settings.topic_incidents, incidents),
    ]:
        produce(settings, topic, batch)
    with ingest_thread(settings):
        wait_for(
            lambda: count(settings, "SELECT count(*) FROM signal_samples") == 10_000,
            120,
            "first copy",
        )
        # The second copy arrives after the first is stored: the redelivery path.
        for topic, batch in [
            (settings.topic_signals, messages),
            (settings.topic_dispatch, events),
            (settings.topic_alarms, alarms),
            (settings.topic_incidents, incidents),
        ]:
            produce(settings, topic, batch)
        wait_for(
            lambda: (
                committed_total(settings, "signals") == 4_000
                and committed_total(settings, "dispatch") == 100
                and committed_total(settings, "alarms") == 60
                and committed_total(settings, "incidents") == 20
            ),
            120,
            "both copies committed",
        )
    assert count(settings, "SELECT count(*) FROM signal_samples") == 10_000
    assert count(settings, "SELECT count(*) FROM dispatch_events") == 50
    assert count(settings, "SELECT count(*) FROM alarms") == 30
    assert count(settings, "SELECT count(*) FROM incidents") == 10


BAD_SIGNALS = {
    "bad_json": (b"CV-1", b'{"asset_id": "CV-1", "ts": '),
    "wrong_type": (b"CV-1", b'{"asset_id": "CV-1", "ts": 1772000000000, "signals": {"v": "4.2"}}'),
    "non_finite": (b"CV-1", b'{"asset_id": "CV-1", "ts": 1772000000000, "signals": {"v": 1e999}}'),
    "nan_literal": (b"CV-1", b'{"asset_id": "CV-1", "ts": 1772000000000, "signals": {"v": NaN}}'),
    "missing_field": (b"CV-1", b'{"asset_id": "CV-1", "signals": {"v": 1.0}}'),
    "naive_ts": (b"CV-1", b'{"asset_id": "CV-1", "ts": "2026-03-01T06:00", "signals": {"v": 1}}'),
    "not_object": (b"CV-1", b"[1, 2, 3]"),
    "nul_char": (b"CV-1", b'{"asset_id": "CV-\\u0000", "ts": 1772000000000, "signals": {"v": 1}}'),
    "key_mismatch": (b"OTHER", b'{"asset_id": "CV-1", "ts": 1772000000000, "signals": {"v": 1}}'),
    "oversized": (b"CV-1", orjson.dumps({"asset_id": "CV-1", "ts": 1772000000000,
                                         "signals": {"v": 1.0}, "pad": "x" * 5000})),
}  # fmt: skip
BAD_DISPATCH = {
    "unknown_state": b'{"event_id": "e1", "asset_id": "HT-1", "ts": 1772000000000, "state": "on"}',
    "missing_event_id": b'{"asset_id": "HT-1", "ts": 1772000000000, "state": "down"}',
    "planned_not_bool": b'{"event_id": "e2", "asset_id": "HT-1", "ts": 1772000000000, '
    b'"state": "down", "planned": "no"}',
}


def test_ingest_malformed_messages_go_to_dlq_and_neighbours_land(
    database_url: str, broker, tmp_path
) -> None:
    from precursor.core.kafka import ensure_topics
    from tests.conftest import make_settings

    settings = make_settings(database_url, broker.bootstrap, tmp_path, max_message_bytes=4096)
    ensure_topics(settings)
    good = [snapshot("CV-1", 1_772_000_000_000 + i * 1000, {"v": float(i)}) for i in range(20)]
    stream: list[tuple[bytes | None, bytes]] = []
    for i, bad in enumerate(BAD_SIGNALS.values()):
        stream += [good[2 * i], bad, good[2 * i + 1]]
    produce(settings, settings.topic_signals, stream)
    dispatch = [(b"HT-1", v) for v in BAD_DISPATCH.values()]
    dispatch.append((b"HT-1", b'{"event_id": "ok", "asset_id": "HT-1", "ts": 1772000000000, '
                              b'"state": "down"}'))  # fmt: skip
    produce(settings, settings.topic_dispatch, dispatch)

    with ingest_thread(settings, ("signals", "dispatch")):
        wait_for(lambda: count(settings, "SELECT count(*) FROM signal_samples") == 20, 60, "good")
        wait_for(lambda: count(settings, "SELECT count(*) FROM dispatch_events") == 1, 60, "ok")
        dead = _read_dlq(settings, settings.topic_signals, len(BAD_SIGNALS))
        dead_dispatch = _read_dlq(settings, settings.topic_dispatch, len(BAD_DISPATCH))

    assert sorted(r.value for r in dead) == sorted(v for _, v in BAD_SIGNALS.values())
    assert sorted(r.key for r in dead) == sorted(k for k, _ in BAD_SIGNALS.values())
    for record in dead:
        headers = dict(record.headers)
        assert headers[HEADER_ERROR] in {b"bad_json", b"invalid", b"oversized", b"key_mismatch"}
        assert int(headers[HEADER_OFFSET]) >= 0
    codes = {dict(r.headers)[HEADER_ERROR] for r in dead}
    assert {b"bad_json", b"invalid", b"oversized", b"key_mismatch"} <= codes
    assert sorted(r.value for r in dead_dispatch) == sorted(BAD_DISPATCH.values())
    assert count(settings, "SELECT count(*) FROM signal_samples") == 20
