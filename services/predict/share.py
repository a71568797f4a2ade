"""Which assets this scorer scores when several run: a Kafka consumer group hands out partitions."""

from __future__ import annotations

import logging
from functools import lru_cache

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.partitioner.default import murmur2

from precursor.core.kafka import make_consumer
from precursor.core.settings import Settings

logger = logging.getLogger(__name__)

GROUP = "precursor-scorer"
# A scoring cycle over a long backlog can take minutes without a poll; the group must not
# drop the member for it (heartbeats run on the client's own thread meanwhile).
MAX_POLL_INTERVAL_MS = 30 * 60 * 1000


@lru_cache(maxsize=100_000)
def partition_of(asset_id: str, partitions: int) -> int:
    """The partition the Kafka default partitioner (murmur2, as the Java client's) puts the
    asset's messages on: its data arrives there, and its scoring belongs with it."""
    return (murmur2(asset_id.encode()) & 0x7FFFFFFF) % partitions


class AssetShare(ConsumerRebalanceListener):
    """Membership of the scorers' consumer group on the signals topic. The group's assignment
    of partitions decides which assets this scorer owns; the partitions stay paused, so no
    message is ever fetched: ingest's own groups consume them. Scorers that join or leave move
    assets between them the way ingest's consumers move partitions."""

    def __init__(self, settings: Settings):
        self.topic = settings.topics.signals
        self.owned: frozenset[int] = frozenset()
        self.partitions = 0
        self.generation = 0  # counts assignments, so the scorer can tell a rebalance happened
        self._consumer = make_consumer(
            settings,
            GROUP,
            client_id=f"{GROUP}-member",
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        )
        self._consumer.subscribe([self.topic], listener=self)

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Stop scoring everything until the new assignment arrives."""
        self.owned = frozenset()

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Take the new partitions, paused so that nothing is fetched."""
        if assigned:
            self._consumer.pause(*assigned)
        self.partitions = len(self._consumer.partitions_for_topic(self.topic) or ())
        self.owned = frozenset(tp.partition for tp in assigned)
        self.generation += 1
        logger.info(
            "scorer share: partitions %s of %d of %s",
            sorted(self.owned),
            self.partitions,
            self.topic,
        )

    def refresh(self, timeout_ms: int = 0) -> None:
        """Keep the membership alive and apply any rebalance (call every cycle)."""
        self._consumer.poll(timeout_ms=timeout_ms, max_records=1)

    def owns(self, asset_id: str) -> bool:
        """Whether this scorer scores the asset under the current assignment."""
        return bool(self.partitions) and partition_of(asset_id, self.partitions) in self.owned

    def close(self) -> None:
        """Leave the group, so the others take this scorer's assets at once."""
        self._consumer.close(autocommit=False)
