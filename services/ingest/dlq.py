"""Dead-letter publishing: the original key and value, unchanged, with headers naming the error."""

from __future__ import annotations

import logging

from kafka import KafkaProducer
from kafka.errors import KafkaError

from precursor.core.errors import BrokerUnavailable
from precursor.core.metrics import INGEST_DLQ
from precursor.core.settings import dlq_topic

logger = logging.getLogger(__name__)

HEADER_ERROR = "precursor.error"
HEADER_MESSAGE = "precursor.error.message"
HEADER_TOPIC = "precursor.source.topic"
HEADER_PARTITION = "precursor.source.partition"
HEADER_OFFSET = "precursor.source.offset"


class DeadLetters:
    """Sends rejected messages to `<topic>.dlq`; `flush` makes them durable before offsets move."""

    def __init__(self, producer: KafkaProducer, stream: str):
        self.producer = producer
        self.stream = stream
        self._pending: list = []

    def send(self, record, code: str, message: str) -> None:
        """Queue one rejected record (a kafka-python ConsumerRecord)."""
        headers = [
            (HEADER_ERROR, code.encode()),
            (HEADER_MESSAGE, message[:1000].encode("utf-8", "replace")),
            (HEADER_TOPIC, record.topic.encode()),
            (HEADER_PARTITION, str(record.partition).encode()),
            (HEADER_OFFSET, str(record.offset).encode()),
        ]
        # Keyed like the source, so one asset's rejects stay in order in the DLQ too.
        future = self.producer.send(
            dlq_topic(record.topic), key=record.key, value=record.value, headers=headers
        )
        self._pending.append(future)
        INGEST_DLQ.labels(self.stream, code).inc()
        logger.warning(
            "%s[%s]@%s -> DLQ (%s): %s",
            record.topic,
            record.partition,
            record.offset,
            code,
            message,
        )

    def discard(self) -> None:
        """Forget unacknowledged sends (their source offsets will be read again)."""
        self._pending = []

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued dead letter is acknowledged by the broker."""
        if not self._pending:
            return
        self.producer.flush(timeout)
        try:
            for fut in self._pending:
                fut.get(timeout=timeout)
        except KafkaError as exc:
            raise BrokerUnavailable(f"dead-letter publish failed: {exc}") from exc
        finally:
            self._pending = [f for f in self._pending if not f.is_done]
