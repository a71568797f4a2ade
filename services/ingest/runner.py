"""`precursor ingest`: one consumer group and thread per input stream, stopped by SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import threading
import time

from psycopg_pool import ConnectionPool

from precursor.core.db import open_pool
from precursor.core.errors import BrokerUnavailable, DatabaseUnavailable
from precursor.core.kafka import ensure_topics, make_consumer, make_producer
from precursor.core.metrics import start_service
from precursor.core.settings import Settings
from services.ingest.consumer import StreamIngestor
from services.ingest.sinks import SPECS, TableWriter

logger = logging.getLogger(__name__)

STREAMS = tuple(SPECS)


def group_id(settings: Settings, stream: str) -> str:
    """Consumer group of one stream, so a slow stream never holds back another."""
    return f"{settings.consumer_group}.{stream}"


def _open_pool_patiently(
    settings: Settings, size: int, stop: threading.Event
) -> ConnectionPool | None:
    """The database may be down at start: wait for it rather than crash."""
    backoff = 0.5
    while not stop.is_set():
        try:
            return open_pool(settings, min_size=1, max_size=size, timeout=5)
        except DatabaseUnavailable as exc:
            logger.warning("ingest: %s; retrying in %.1fs", exc, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 30)
    return None


def run_ingest(
    settings: Settings,
    streams: tuple[str, ...] = STREAMS,
    stop: threading.Event | None = None,
    *,
    install_signal_handlers: bool = True,
    metrics: bool = True,
) -> int:
    """Run until stopped; returns the process exit code (0 on a clean stop)."""
    stop = start_service(settings, stop, handle_signals=install_signal_handlers, metrics=metrics)
    try:
        ensure_topics(settings)
    except BrokerUnavailable as exc:
        logger.warning("ingest: could not check topics (%s); consuming anyway", exc)
    pool = _open_pool_patiently(settings, size=len(streams) + 1, stop=stop)
    if pool is None:
        return 0
    producer = make_producer(settings, client_id="precursor-ingest-dlq")
    failed: list[str] = []

    def work(stream: str) -> None:
        try:
            consumer = make_consumer(settings, group_id(settings, stream))
            topic = settings.topics.inputs[stream]
            StreamIngestor(
                settings, stream, topic, TableWriter(pool, SPECS[stream]), consumer, producer, stop
            ).run()
        except Exception:
            logger.exception("ingest %s: crashed", stream)
            failed.append(stream)
            stop.set()

    threads = [threading.Thread(target=work, args=(s,), name=f"ingest-{s}") for s in streams]
    for t in threads:
        t.start()
    logger.info("ingest running: %s", ", ".join(streams))
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join()
        producer.close(timeout=10)
        pool.close()
    return 1 if failed else 0
