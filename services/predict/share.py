"""Which assets this scorer scores when several run: a Kafka consumer group hands out partitions."""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from precursor.core.kafka import ensure_topics, make_consumer
from precursor.core.settings import Settings

logger = logging.getLogger(__name__)

GROUP = "precursor-scorer"
POLL_MS = 500  # the membership thread's poll; the partitions stay paused, so it only waits


@lru_cache(maxsize=100_000)
def partition_of(asset_id: str, partitions: int) -> int:
    """The partition the Kafka default partitioner (murmur2, as the Java client's) puts the
    asset's messages on: its data arrives there, and its scoring belongs with it."""
    return (murmur2(asset_id.encode()) & 0x7FFFFFFF) % partitions


class AssetShare(ConsumerRebalanceListener):
    """Membership of the scorers' consumer group on the signals topic. The group's assignment
    of partitions decides which assets this scorer owns; the partitions stay paused, so no
    message is ever fetched (ingest's own groups consume them). Scorers that join or leave move
    assets between them the way ingest's consumers move partitions.

    A thread of its own polls the group: a join takes several round trips that every member
    must answer promptly, which a poll once per scoring cycle does not (the group then
    rebalances forever). The scorer only reads `owned`, which the thread replaces whole."""

    def __init__(self, settings: Settings):
        self.topic = settings.topics.signals
        # A scorer may start before ingest has created the topic; the group can only hand out
        # partitions that exist, and a client looks again only when its metadata ages (5 min).
        ensure_topics(settings, [self.topic])
        self.owned: frozenset[int] = frozenset()
        self.partitions = 0
        self._consumer = make_consumer(settings, GROUP, client_id=f"{GROUP}-member")
        self._consumer.subscribe([self.topic], listener=self)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scorer-share", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._consumer.poll(timeout_ms=POLL_MS, max_records=1)
                except KafkaError as exc:  # the client reconnects by itself; keep polling
                    logger.warning("scorer share: %s", exc)
                    self._stop.wait(1.0)
        finally:
            self._consumer.close(autocommit=False)  # leave, so the others take over at once

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Score nothing until the new assignment arrives."""
        self.owned = frozenset()

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Take the new partitions, paused so that nothing is fetched."""
        if assigned:
            self._consumer.pause(*assigned)
        self.partitions = len(self._consumer.partitions_for_topic(self.topic) or ())
        self.owned = frozenset(tp.partition for tp in assigned)
        logger.info(
            "scorer share: partitions %s of %d of %s",
            sorted(self.owned),
            self.partitions,
            self.topic,
        )

    def owns(self, asset_id: str) -> bool:
        """Whether this scorer scores the asset under the current assignment."""
        owned, partitions = self.owned, self.partitions
        return bool(partitions) and partition_of(asset_id, partitions) in owned

    def close(self, timeout: float = 30.0) -> None:
        """Leave the group and stop the thread."""
        self._stop.set()
        self._thread.join(timeout)
