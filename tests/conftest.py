"""Session fixtures: a real embedded PostgreSQL and a real Tansu broker, on free ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from precursor.core.migrate import migrate
from precursor.core.runtime.broker import EmbeddedBroker
from precursor.core.runtime.postgres import EmbeddedPostgres
from precursor.core.settings import Settings


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """One PostgreSQL server for the session; each test gets its own database on it."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One Tansu broker for the session; each test gets its own topics and groups."""
    server = EmbeddedBroker(tmp_path_factory.mktemp("broker")).start()
    yield server
    server.stop()


def fresh_database(server: EmbeddedPostgres) -> str:
    """Create and migrate a new database; return its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    with psycopg.connect(url) as conn:
        migrate(conn)
    return url


def drop_database(server: EmbeddedPostgres, url: str) -> None:
    """Drop a test database, disconnecting whoever is still on it."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server.url_for("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def make_settings(database_url: str, bootstrap: str, data_dir: Path, **extra: object) -> Settings:
    """Settings isolated per test: unique topics and consumer group, fast group joins."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "database_url": SecretStr(database_url),
        "kafka_bootstrap": bootstrap,
        "data_dir": data_dir,
        "topic_signals": f"t{tag}.signals",
        "topic_alarms": f"t{tag}.alarms",
        "topic_dispatch": f"t{tag}.dispatch",
        "topic_incidents": f"t{tag}.incidents",
        "topic_alerts": f"t{tag}.alerts",
        "consumer_group": f"test-{tag}",
        "partitions": 3,
        "kafka_session_timeout_ms": 2000,
        "batch_max_age_s": 0.2,
        "metrics_port": 0,
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def database_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A migrated database of its own for one test."""
    url = fresh_database(pg_server)
    yield url
    drop_database(pg_server, url)


@pytest.fixture
def settings(database_url: str, broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    """Settings pointing at this test's database and topics, with the topics created."""
    from precursor.core.kafka import ensure_topics

    s = make_settings(database_url, broker.bootstrap, tmp_path)
    ensure_topics(s)
    return s


@pytest.fixture(scope="session")
def small_model():
    """A model trained in memory on a small simulated plant, shared by the model and scorer
    tests: (model, simulation, collected messages, frames)."""
    from tests.models.plant import train_small_model

    return train_small_model()
