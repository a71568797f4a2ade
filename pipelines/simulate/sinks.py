"""Where simulated or replayed messages go: Kafka topics, or one JSONL file per stream."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import orjson

from precursor.core.kafka import make_producer
from precursor.core.settings import Settings

STREAMS = ("signals", "alarms", "dispatch", "incidents")


class Sink(Protocol):
    """Receives messages of the four input streams, in time order per stream."""

    def send(self, stream: str, key: str, message: dict) -> None: ...

    def close(self) -> None: ...


class FileSink:
    """`DIR/<stream>.jsonl`, one message per line, byte-identical for identical input."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files = {s: open(self.directory / f"{s}.jsonl", "wb") for s in STREAMS}  # noqa: SIM115
        self.counts = dict.fromkeys(STREAMS, 0)

    def send(self, stream: str, key: str, message: dict) -> None:
        """Append one line."""
        self._files[stream].write(orjson.dumps(message) + b"\n")
        self.counts[stream] += 1

    def close(self) -> None:
        """Close every file."""
        for fh in self._files.values():
            fh.close()


class KafkaSink:
    """The configured input topics, keyed by asset id."""

    def __init__(self, settings: Settings):
        self.topics = settings.topics.inputs
        self.producer = make_producer(settings, acks=1, linger_ms=50)
        self.counts = dict.fromkeys(STREAMS, 0)

    def send(self, stream: str, key: str, message: dict) -> None:
        """Queue one message (the producer batches)."""
        self.producer.send(self.topics[stream], key=key.encode(), value=orjson.dumps(message))
        self.counts[stream] += 1

    def flush(self) -> None:
        """Wait until the broker has everything sent so far."""
        self.producer.flush()

    def close(self) -> None:
        """Flush and close."""
        self.producer.flush()
        self.producer.close(30)


class DatabaseSink:
    """Straight into the tables through the same contracts and writers as ingest: for seeding
    test and benchmark databases without a broker (it is not a substitute for ingest)."""

    def __init__(self, pool, batch_rows: int = 20_000):
        from precursor.core import contracts
        from services.ingest.sinks import SPECS, TableWriter

        self._decode = contracts.decode
        self._models = contracts.STREAM_MODELS
        self._writers = {s: TableWriter(pool, SPECS[s]) for s in STREAMS}
        self._rows: dict[str, list[tuple]] = {s: [] for s in STREAMS}
        self.batch_rows = batch_rows
        self.counts = dict.fromkeys(STREAMS, 0)

    def send(self, stream: str, key: str, message: dict) -> None:
        """Validate like ingest does and buffer the rows."""
        msg = self._decode(self._models[stream], orjson.dumps(message), 10_000_000)
        self._rows[stream].extend(self._writers[stream].spec.to_rows(msg))
        self.counts[stream] += 1
        if len(self._rows[stream]) >= self.batch_rows:
            self.flush(stream)

    def flush(self, stream: str | None = None) -> None:
        """Write buffered rows."""
        for s in [stream] if stream else STREAMS:
            if self._rows[s]:
                self._writers[s].write(self._rows[s])
                self._rows[s] = []

    def close(self) -> None:
        """Write what is left."""
        self.flush()
