"""Test helpers shared by the suites: waiting, producing, running ingest in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson
import psycopg

from precursor.core.kafka import make_producer
from precursor.core.settings import Settings


def wait_for(check: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until `check()` is true; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def count(settings: Settings, query: str, params: tuple = ()) -> int:
    """Run a COUNT query on the test database."""
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        return conn.execute(query, params).fetchone()[0]


def produce(settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Send (key, value) pairs and wait until the broker has them all."""
    producer = make_producer(settings, acks="all")
    try:
        for key, value in messages:
            producer.send(topic, key=key, value=value)
        producer.flush(60)
    finally:
        producer.close(10)


def snapshot(asset: str, ts_ms: int, signals: dict) -> tuple[bytes, bytes]:
    """A keyed signal snapshot message."""
    return asset.encode(), orjson.dumps({"asset_id": asset, "ts": ts_ms, "signals": signals})


def snapshots(n_messages: int, tags: int, assets: int = 20, start_ms: int = 1_772_000_000_000):
    """`n_messages` distinct snapshots of `tags` tags each (n_messages * tags samples)."""
    return [
        snapshot(
            f"A-{i % assets:02d}",
            start_ms + 60_000 * (i // assets),
            {f"t{k}": float(i * tags + k) for k in range(tags)},
        )
        for i in range(n_messages)
    ]


@contextmanager
def ingest_thread(settings: Settings, streams: tuple[str, ...] | None = None) -> Iterator[dict]:
    """Run the real ingest (all or some streams) in a background thread of this process."""
    from services.ingest.runner import STREAMS, run_ingest

    stop = threading.Event()
    state: dict = {"exit": None, "stop": stop}

    def target() -> None:
        state["exit"] = run_ingest(
            settings, streams or STREAMS, stop, install_signal_handlers=False, metrics=False
        )

    thread = threading.Thread(target=target, name="test-ingest", daemon=True)
    thread.start()
    state["thread"] = thread
    try:
        yield state
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "ingest did not stop within 60 s"


def committed_total(settings: Settings, stream: str) -> int:
    """Sum of the committed offsets of one stream's group: messages it has fully handled
    (fresh topics start at offset 0). Exact, unlike the broker's ListOffsets answer."""
    from kafka import KafkaConsumer, TopicPartition

    from services.ingest.runner import group_id

    topic = settings.topics.inputs[stream]
    # A consumer that never subscribes reads the group's commits without joining it.
    probe = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id(settings, stream),
        enable_auto_commit=False,
    )
    try:
        return sum(
            probe.committed(TopicPartition(topic, p)) or 0 for p in range(settings.partitions)
        )
    finally:
        probe.close(autocommit=False)


@contextmanager
def live_api(app) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port in a thread; yields the base URL."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound here, so no other run can take the port meanwhile
    port = sock.getsockname()[1]
    # A stream client's connection stays open until sse-starlette sees a shutdown signal, which
    # a server in a thread never gets: uvicorn then waits out the next 15 s ping. `serve` itself
    # (signalled) stopped in 0.6 s with a stream client connected; only the test server waits.
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "the API to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
