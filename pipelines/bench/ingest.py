"""`precursor bench ingest`: raw COPY rate vs the real Kafka -> ingest -> database rate, one run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from tqdm import tqdm

from pipelines.bench.environment import BenchEnv, bench_environment
from precursor.core.errors import PrecursorError
from precursor.core.kafka import make_producer
from precursor.core.metrics import scrape
from precursor.core.progress import no_bar
from precursor.core.runtime.processes import free_port, peak_rss_mb, stop_process
from precursor.core.settings import Settings
from services.ingest.sinks import SPECS, TableWriter

ASSETS = 40
BASE_TS = datetime(2026, 1, 1, tzinfo=UTC)


def _snapshots(samples: int, tags: int):
    """Deterministic snapshots: (asset, ts, {tag: value}) covering exactly `samples` samples."""
    messages = samples // tags
    for i in range(messages):
        asset = f"BENCH-{i % ASSETS:03d}"
        ts = BASE_TS + timedelta(seconds=60 * (i // ASSETS))
        yield asset, ts, {f"tag_{k:02d}": float((i * 31 + k * 7) % 1000) / 10 for k in range(tags)}


def _rows(samples: int, tags: int) -> list[tuple]:
    return [
        (ts, asset, tag, value, "good")
        for asset, ts, values in _snapshots(samples, tags)
        for tag, value in values.items()
    ]


def _copy_rate(
    env: BenchEnv, rows: list[tuple], copy_first: bool, label: str, quiet: bool
) -> float:
    """Rows/s of writing `rows` in ingest-sized batches through the table writer."""
    from dataclasses import replace

    from precursor.core.db import open_pool

    spec = replace(SPECS["signals"], copy_first=copy_first)
    batch = env.settings.batch_size
    with open_pool(env.settings, max_size=1) as pool:
        writer = TableWriter(pool, spec)
        started = time.perf_counter()
        for i in tqdm(range(0, len(rows), batch), desc=label, unit="batch", disable=no_bar(quiet)):
            writer.write(rows[i : i + batch])
        elapsed = time.perf_counter() - started
        with pool.connection() as conn:
            stored = conn.execute("SELECT count(*) FROM signal_samples").fetchone()[0]
            conn.execute("TRUNCATE signal_samples")
    if stored != len(rows):
        raise PrecursorError(f"bench: {label} stored {stored} rows, expected {len(rows)}")
    return len(rows) / elapsed


def _metric(url: str, name: str) -> float:
    try:
        samples = scrape(url, timeout=2)
    except httpx.HTTPError:
        return 0.0
    return sum(s.value for s in samples if s.name == name)


def _end_to_end(env: BenchEnv, samples: int, tags: int, quiet: bool) -> dict:
    topic = env.settings.topic_signals
    producer = make_producer(env.settings, acks=1)
    total = samples // tags
    for asset, ts, values in tqdm(
        _snapshots(samples, tags), total=total, desc="produce", unit="msg", disable=no_bar(quiet)
    ):
        payload = {"asset_id": asset, "ts": ts.isoformat(), "signals": values}
        producer.send(topic, key=asset.encode(), value=orjson.dumps(payload))
    producer.flush()
    producer.close()

    port = free_port()
    env_vars = {
        **os.environ,
        "PRECURSOR_DATABASE_URL": env.settings.database_url.get_secret_value(),
        "PRECURSOR_KAFKA_BOOTSTRAP": env.settings.kafka_bootstrap,
        "PRECURSOR_DATA_DIR": str(env.workdir),
        "PRECURSOR_METRICS_PORT": str(port),
        "PRECURSOR_LOG_LEVEL": "WARNING",
    }
    url = f"http://127.0.0.1:{port}/metrics"
    launched = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "precursor", "ingest", "--stream", "signals"],
        env=env_vars,
        stdin=subprocess.DEVNULL,
    )
    try:
        first = last_progress = None
        written = 0.0
        bar = tqdm(total=samples, desc="ingest", unit="row", disable=no_bar(quiet))
        while written < samples:
            if proc.poll() is not None:
                raise PrecursorError(f"bench: ingest exited early with {proc.returncode}")
            now = time.perf_counter()
            if first is None and _metric(url, "precursor_ingest_messages_consumed_total") > 0:
                first = now
            value = _metric(url, "precursor_ingest_rows_written_total")
            if value > written:
                bar.update(int(value - written))
                written, last_progress = value, now
            if now - (last_progress or launched) > 120:
                raise PrecursorError("bench: ingest made no progress for 120 s")
            time.sleep(0.02)
        done = time.perf_counter()
        bar.close()
        rss = peak_rss_mb(proc.pid)
    finally:
        stop_process(proc, signal.SIGTERM, 30)
    return {
        "drain_s": done - first,
        "with_startup_s": done - launched,
        "rate": samples / (done - first),
        "rss_mb": rss,
    }


def run_bench_ingest(settings: Settings, samples: int, tags: int, quiet: bool = False) -> dict:
    """Measure (a) staging + ON CONFLICT COPY, (c) plain COPY, (b) end-to-end ingest, one run."""
    if samples < tags:
        raise PrecursorError(
            f"--samples ({samples:,}) must be at least --tags-per-message ({tags:,}): "
            "a message carries that many samples"
        )
    samples -= samples % tags
    with bench_environment(settings) as env:
        rows = _rows(samples, tags)
        on_conflict = _copy_rate(env, rows, copy_first=False, label="copy+on-conflict", quiet=quiet)
        plain = _copy_rate(env, rows, copy_first=True, label="copy", quiet=quiet)
        del rows
        e2e = _end_to_end(env, samples, tags, quiet)
        from precursor.core.db import connect

        with connect(env.settings) as conn:
            stored = conn.execute("SELECT count(*) FROM signal_samples").fetchone()[0]
    if stored != samples:
        raise PrecursorError(f"bench: ingest stored {stored} rows, expected exactly {samples}")
    return {
        "benchmark": "ingest",
        "samples": samples,
        "tags_per_message": tags,
        "messages": samples // tags,
        "batch_size": settings.batch_size,
        "copy_on_conflict_rows_per_s": round(on_conflict),
        "copy_plain_rows_per_s": round(plain),
        "ingest_rows_per_s": round(e2e["rate"]),
        "ratio_ingest_vs_copy_on_conflict": round(e2e["rate"] / on_conflict, 3),
        "ratio_ingest_vs_copy_plain": round(e2e["rate"] / plain, 3),
        "ingest_drain_s": round(e2e["drain_s"], 3),
        "ingest_wall_with_startup_s": round(e2e["with_startup_s"], 3),
        "ingest_peak_rss_mb": round(e2e["rss_mb"], 1),
        "rows_stored_exactly": stored == samples,
        "goal": {"ratio_min": 0.6, "peak_rss_mb_max": 500},
    }
