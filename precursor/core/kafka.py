"""Kafka client construction and topic administration shared by producers and consumers."""

from __future__ import annotations

import logging
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from precursor.core.errors import BrokerUnavailable, ConfigurationError
from precursor.core.settings import Settings

logger = logging.getLogger(__name__)

# Large fetches are what take kafka-python from ~24 k to ~100 k messages/s (PERFORMANCE.md).
FAST_FETCH: dict[str, Any] = {
    "fetch_max_bytes": 64 * 2**20,
    "max_partition_fetch_bytes": 32 * 2**20,
    "max_poll_records": 20_000,
    "fetch_max_wait_ms": 100,
}


def bootstrap(settings: Settings) -> str:
    """The configured bootstrap address, or a one-line error when none is set."""
    if not settings.kafka_bootstrap:
        raise ConfigurationError("no Kafka configured: set PRECURSOR_KAFKA_BOOTSTRAP or run `up`")
    return settings.kafka_bootstrap


def security(settings: Settings) -> dict[str, Any]:
    """SASL / TLS client options from settings (empty for a plaintext broker)."""
    out: dict[str, Any] = {}
    if settings.kafka_security_protocol != "PLAINTEXT":
        out["security_protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism:
        out["sasl_mechanism"] = settings.kafka_sasl_mechanism
        out["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            out["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_ssl_cafile:
        out["ssl_cafile"] = str(settings.kafka_ssl_cafile)
    return out


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A producer tuned for throughput; `acks=all` by default because the DLQ must not lose."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap(settings),
        "acks": "all",
        "linger_ms": 20,
        "batch_size": 512 * 1024,
        "max_request_size": max(settings.max_message_bytes * 2, 1_048_576),
        "client_id": "precursor-producer",
        **security(settings),
    }
    config.update(overrides)
    # Idempotence needs acks=all; say so instead of letting the client warn about it.
    config.setdefault("enable_idempotence", config["acks"] in ("all", -1))
    try:
        return KafkaProducer(**config)
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"no Kafka broker answers at {config['bootstrap_servers']}: {exc}"
        ) from None


def make_consumer(settings: Settings, group_id: str, **overrides: Any) -> KafkaConsumer:
    """A manual-commit consumer in `group_id` that starts from the earliest uncommitted offset."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": max(settings.kafka_session_timeout_ms // 4, 100),
        "client_id": f"{group_id}-consumer",
        **FAST_FETCH,
        **security(settings),
    }
    config.update(overrides)
    try:
        return KafkaConsumer(**config)
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"no Kafka broker answers at {config['bootstrap_servers']}: {exc}"
        ) from None


def ensure_topics(settings: Settings, topics: list[str] | None = None) -> list[str]:
    """Create the product's topics (and `.dlq` twins) that do not exist yet; return the created."""
    wanted = topics if topics is not None else settings.topics.all_with_dlq()
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap(settings), client_id="precursor-admin", **security(settings)
        )
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"no Kafka broker answers at {settings.kafka_bootstrap}: {exc}"
        ) from None
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        created: list[str] = []
        for name in missing:
            try:
                admin.create_topics([NewTopic(name, settings.partitions, 1)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another process won the race
            except KafkaError as exc:
                raise BrokerUnavailable(f"cannot create topic {name}: {exc}") from None
        if created:
            logger.info("created topics %s", ", ".join(created))
        return created
    finally:
        admin.close()
