"""A throw-away embedded PostgreSQL + broker for one benchmark run, so figures are comparable."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from precursor.core import db
from precursor.core.kafka import ensure_topics
from precursor.core.migrate import migrate
from precursor.core.runtime.broker import EmbeddedBroker
from precursor.core.runtime.postgres import EmbeddedPostgres
from precursor.core.settings import Settings


@dataclass
class BenchEnv:
    """What a benchmark runs against."""

    settings: Settings
    postgres: EmbeddedPostgres
    broker: EmbeddedBroker
    workdir: Path


@contextmanager
def bench_environment(settings: Settings) -> Iterator[BenchEnv]:
    """Start a fresh database and broker in a temporary dir; stop and delete them afterwards."""
    with tempfile.TemporaryDirectory(prefix="precursor-bench-") as tmp:
        work = Path(tmp)
        pg = EmbeddedPostgres(work / "postgres")
        broker = EmbeddedBroker(work / "logs")
        try:
            pg.start()
            broker.start()
            resolved = settings.model_copy(
                update={
                    "database_url": SecretStr(pg.url),
                    "kafka_bootstrap": broker.bootstrap,
                    "data_dir": work,
                    "metrics_port": 0,
                }
            )
            with db.connect(resolved) as conn:
                migrate(conn, resolved)
            ensure_topics(resolved)
            yield BenchEnv(resolved, pg, broker, work)
        finally:
            broker.stop()
            pg.stop()
