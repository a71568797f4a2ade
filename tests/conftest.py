"""Session fixtures: a real embedded PostgreSQL and a real Tansu broker, on free ports."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from precursor.core.migrate import migrate
from precursor.core.runtime.broker import EmbeddedBroker
from precursor.core.runtime.postgres import EmbeddedPostgres
from precursor.core.settings import Settings

_OWN_BASETEMP = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give each run a temporary directory of its own unless --basetemp names one.

    pytest's default parent, /tmp/pytest-of-USER, is made private (0700) again by every run that
    starts. Run as root, the embedded PostgreSQL runs as another user that must traverse it, so
    a second test run starting would cut the first run's servers off their data directories
    (seen: "PANIC: could not open file .../global/pg_control: Permission denied")."""
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="precursor-tests-")
        config.stash[_OWN_BASETEMP] = config.option.basetemp


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the run's own temporary directory after a green run (servers are stopped by
    then); keep it, and say where, after a red one."""
    own = session.config.stash.get(_OWN_BASETEMP, None)
    if own is None:
        return
    if exitstatus == 0:
        shutil.rmtree(own, ignore_errors=True)
    else:
        print(f"\ntemporary files of this run kept in {own}")


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


# Migrated template databases, one per server: cloning one (CREATE DATABASE ... TEMPLATE) takes
# about a third of the time of migrating a new database, and most tests start from one.
_templates: dict[str, str] = {}


def _migrated_template(server: EmbeddedPostgres) -> str:
    key = server.url_for("postgres")
    if key not in _templates:
        name = f"tpl_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server.create_database(name)) as conn:
            migrate(conn)
        _templates[key] = name
    return _templates[key]


def fresh_database(server: EmbeddedPostgres, template: str | None = None) -> str:
    """A new database cloned from `template` (by default, a freshly migrated one); its URL.

    Nobody may be connected to the template while it is cloned."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url_for("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template or _migrated_template(server))
            )
        )
    return server.url_for(name)


def analyze(url: str) -> None:
    """ANALYZE a database meant as a template. Its clones inherit its planner statistics but
    not the activity counters autovacuum goes by, so autovacuum would never analyze them and
    the scorer in a clone would plan without statistics."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


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
def seeded_plant_template(pg_server: EmbeddedPostgres, small_model) -> Iterator[str]:
    """A database holding the small model's plant, written once through ingest's writers, for
    modules to clone with fresh_database(pg_server, template=...)."""
    from tests.models.plant import seed_database

    yield from template_database(pg_server, lambda url: seed_database(url, small_model[1]))


def template_database(
    server: EmbeddedPostgres, fill: Callable[[str], None], template: str | None = None
) -> Iterator[str]:
    """For a fixture: a database cloned from `template` (a migrated one by default), filled by
    `fill(url)` and analyzed; yields its name to clone from, and drops it afterwards."""
    url = fresh_database(server, template=template)
    fill(url)
    analyze(url)
    yield url.rsplit("/", 1)[1]
    drop_database(server, url)


@pytest.fixture(scope="session")
def small_model():
    """A model trained in memory on a small simulated plant, shared by the model and scorer
    tests: (model, simulation, collected messages, frames)."""
    from tests.models.plant import train_small_model

    return train_small_model()
