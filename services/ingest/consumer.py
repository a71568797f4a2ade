"""One stream's consumer loop: poll -> validate -> buffer -> write in one transaction -> commit."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from precursor.core import contracts
from precursor.core.errors import BrokerUnavailable, DatabaseUnavailable
from precursor.core.metrics import (
    INGEST_BATCH_ROWS,
    INGEST_BATCH_SECONDS,
    INGEST_CONSUMED,
    INGEST_DB_UNAVAILABLE,
    INGEST_DUPLICATES,
    INGEST_LAG,
    INGEST_ROWS_WRITTEN,
)
from precursor.core.settings import Settings
from services.ingest.dlq import DeadLetters
from services.ingest.sinks import RowsRejected, TableWriter, WriteResult

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


@dataclass
class Batch:
    """Rows read since the last commit, with what is needed to commit, rewind or reject them."""

    rows: list[tuple] = field(default_factory=list)
    # (record, first row, end row) per message that produced rows: for per-message fallback.
    messages: list[tuple] = field(default_factory=list)
    first_offset: dict[TopicPartition, int] = field(default_factory=dict)
    next_offset: dict[TopicPartition, int] = field(default_factory=dict)
    started: float = 0.0

    def note(self, tp: TopicPartition, offset: int) -> None:
        """Record that `offset` of `tp` is part of this batch."""
        if not self.next_offset:
            self.started = time.monotonic()
        self.first_offset.setdefault(tp, offset)
        self.next_offset[tp] = offset + 1

    def due(self, max_rows: int, max_age_s: float) -> bool:
        """Flush on size or age, whichever comes first."""
        if not self.next_offset:
            return False
        return len(self.rows) >= max_rows or time.monotonic() - self.started >= max_age_s

    def clear(self) -> None:
        """Start an empty batch."""
        self.rows = []
        self.messages = []
        self.first_offset = {}
        self.next_offset = {}


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, ingestor: StreamIngestor):
        self.ingestor = ingestor

    def on_partitions_revoked(self, revoked):
        self.ingestor.on_revoked(revoked)

    def on_partitions_assigned(self, assigned):
        self.ingestor.on_assigned(assigned)


class StreamIngestor:
    """Consumes one input topic into its table; offsets move only after rows are durable."""

    def __init__(
        self,
        settings: Settings,
        stream: str,
        topic: str,
        writer: TableWriter,
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        stop: threading.Event,
    ):
        self.settings = settings
        self.stream = stream
        self.topic = topic
        self.writer = writer
        self.consumer = consumer
        self.dlq = DeadLetters(producer, stream)
        self.stop = stop
        self.model = contracts.STREAM_MODELS[stream]
        self.batch = Batch()
        self._committed: dict[TopicPartition, int] = {}
        self._dlq_done: set[tuple[int, int]] = set()  # (partition, offset) acked in the DLQ
        self._lag_at = 0.0
        self._consumed = INGEST_CONSUMED.labels(stream)

    # -- main loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Consume until `stop` is set, then write the last batch, commit and leave the group."""
        self.consumer.subscribe([self.topic], listener=_Rebalance(self))
        logger.info("ingest %s: consuming %s", self.stream, self.topic)
        max_rows, max_age = self.settings.batch_size, self.settings.batch_max_age_s
        try:
            while not self.stop.is_set():
                polled = self.consumer.poll(timeout_ms=100)
                for tp, records in polled.items():
                    self._consumed.inc(len(records))
                    for record in records:
                        self._take(tp, record)
                        if len(self.batch.rows) >= max_rows:
                            self.flush()
                if self.batch.due(max_rows, max_age):
                    self.flush()
                self._report_lag()
            self.flush()
        finally:
            self.consumer.close(autocommit=False)
            logger.info("ingest %s: stopped", self.stream)

    def _take(self, tp: TopicPartition, record) -> None:
        self.batch.note(tp, record.offset)
        try:
            msg = contracts.decode(self.model, record.value, self.settings.max_message_bytes)
            if record.key is not None and record.key != msg.asset_id.encode():
                raise contracts.ContractViolation(
                    "key_mismatch", "message key differs from asset_id (breaks per-asset order)"
                )
        except contracts.ContractViolation as exc:
            self._dead_letter(record, exc.code, exc.message)
            return
        rows = self.writer.spec.to_rows(msg)
        if rows:
            start = len(self.batch.rows)
            self.batch.rows.extend(rows)
            self.batch.messages.append((record, start, len(self.batch.rows)))

    def _dead_letter(self, record, code: str, message: str) -> None:
        if (record.partition, record.offset) not in self._dlq_done:
            self.dlq.send(record, code, message)

    # -- flushing ----------------------------------------------------------------------------

    def flush(self, *, in_rebalance: bool = False) -> bool:
        """Write the batch and commit its offsets; False when it had to be abandoned."""
        batch = self.batch
        if not batch.next_offset:
            return True
        started = time.perf_counter()
        try:
            self.dlq.flush()
            try:
                result = self.writer.write(batch.rows)
            except RowsRejected as exc:
                logger.error(
                    "ingest %s: batch refused (%s); writing message by message", self.stream, exc
                )
                result = self._write_each()
            self.dlq.flush()
        except (DatabaseUnavailable, BrokerUnavailable) as exc:
            INGEST_DB_UNAVAILABLE.labels(self.stream).inc()
            self._abandon(exc, wait=not in_rebalance)
            return False
        self._commit(batch.next_offset)
        INGEST_ROWS_WRITTEN.labels(self.writer.spec.table).inc(result.inserted)
        INGEST_DUPLICATES.labels(self.writer.spec.table).inc(result.duplicates)
        INGEST_BATCH_ROWS.labels(self.stream).observe(len(batch.rows))
        INGEST_BATCH_SECONDS.labels(self.stream).observe(time.perf_counter() - started)
        batch.clear()
        self._dlq_done.clear()
        return True

    def _write_each(self) -> WriteResult:
        """Fallback for a refused batch: store each message alone, dead-letter the refused ones."""
        total = WriteResult(0, 0)
        for record, start, end in self.batch.messages:
            try:
                part = self.writer.write(self.batch.rows[start:end])
            except RowsRejected as exc:
                self._dead_letter(record, "rejected_by_database", str(exc))
                continue
            total.inserted += part.inserted
            total.duplicates += part.duplicates
        return total

    def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            self.consumer.commit(
                {tp: OffsetAndMetadata(off, "", -1) for tp, off in offsets.items()}
            )
            self._committed.update(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The rows are stored; whoever owns the partitions now re-reads and deduplicates.
            logger.warning(
                "ingest %s: offset commit failed (%s); rows will be re-read", self.stream, exc
            )

    def _abandon(self, exc: Exception, *, wait: bool) -> None:
        """Database or broker down: rewind to the last commit, pause, back off until it answers."""
        logger.warning(
            "ingest %s: %s; pausing and rewinding to the last committed offsets", self.stream, exc
        )
        rewind = dict(self.batch.first_offset)
        self.batch.clear()
        self.dlq.discard()
        if not wait:
            return  # in a rebalance: the next owner starts from the committed offsets
        assigned = self.consumer.assignment()
        for tp, offset in rewind.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)
        backoff = 0.5
        while not self.stop.is_set():
            self.consumer.pause(*self.consumer.assignment())
            self.consumer.poll(timeout_ms=int(backoff * 1000))  # stays in the group, reads nothing
            if self.writer.ping():
                break
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        self.consumer.resume(*self.consumer.assignment())
        logger.info("ingest %s: database reachable again, resuming", self.stream)

    # -- rebalancing and lag -----------------------------------------------------------------

    def on_revoked(self, revoked) -> None:
        """Store what was read before the partitions go to another member."""
        self.flush(in_rebalance=True)
        for tp in revoked:
            self._committed.pop(tp, None)
            with contextlib.suppress(KeyError):
                INGEST_LAG.remove(tp.topic, str(tp.partition))

    def on_assigned(self, assigned) -> None:
        """Nothing to do: positions come from the committed offsets."""
        logger.info(
            "ingest %s: assigned partitions %s",
            self.stream,
            sorted(tp.partition for tp in assigned),
        )

    def _report_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_at < 1.0:
            return
        self._lag_at = now
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            base = self._committed.get(tp)
            if base is None:
                base = self.batch.first_offset.get(tp, self.consumer.position(tp))
            INGEST_LAG.labels(tp.topic, str(tp.partition)).set(max(high - base, 0))
