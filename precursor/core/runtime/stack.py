"""The whole local stack behind `precursor up`: database, broker, schema, topics, child services."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from precursor.core import db
from precursor.core.endpoints import Endpoints, read_endpoints, write_endpoints
from precursor.core.errors import RuntimeStartError
from precursor.core.kafka import ensure_topics
from precursor.core.migrate import migrate
from precursor.core.runtime.broker import EmbeddedBroker
from precursor.core.runtime.postgres import EmbeddedPostgres
from precursor.core.runtime.processes import (
    LOG_FILE_ENV,
    die_with_parent,
    exit_text,
    open_log,
    stop_process,
)
from precursor.core.settings import Settings

logger = logging.getLogger(__name__)

MAX_RESTARTS = 5


@dataclass
class Service:
    """A child process of the stack (ingest, scorer, API...), restarted if it dies."""

    name: str
    args: list[str]  # arguments of `python -m precursor`
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    restarts: int = 0
    log_path: Path | None = None
    oneshot: bool = False  # a job that runs to completion (e.g. the demo's first training)


class Stack:
    """Starts what is not configured externally, then the services; stops all in reverse."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.data_dir = settings.data_dir.resolve()
        self.postgres: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.infrastructure_restarts: dict[str, int] = {}
        self.services: list[Service] = []
        self.resolved: Settings = settings

    # -- start -------------------------------------------------------------------------------

    def start_infrastructure(self) -> Settings:
        """Database and broker (embedded unless configured), schema and topics."""
        self._refuse_second_up()
        update: dict[str, object] = {}
        if self.settings.database_url is None:
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres").start()
            update["database_url"] = SecretStr(self.postgres.url)
            logger.info("embedded PostgreSQL on port %s", self.postgres.port)
        if self.settings.kafka_bootstrap is None:
            self.broker = EmbeddedBroker(self.data_dir / "logs").start()
            update["kafka_bootstrap"] = self.broker.bootstrap
            logger.info("embedded broker on %s", self.broker.bootstrap)
        self.resolved = self.settings.model_copy(update=update)
        with db.connect(self.resolved) as conn:
            applied = migrate(conn, self.resolved)
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
        ensure_topics(self.resolved)
        return self.resolved

    def child_env(self) -> dict[str, str]:
        """Environment for child services: the resolved endpoints, explicit."""
        env = dict(os.environ)
        assert self.resolved.database_url is not None and self.resolved.kafka_bootstrap
        env["PRECURSOR_DATABASE_URL"] = self.resolved.database_url.get_secret_value()
        env["PRECURSOR_KAFKA_BOOTSTRAP"] = self.resolved.kafka_bootstrap
        env["PRECURSOR_MLFLOW_TRACKING_URI"] = self.resolved.resolved_mlflow_uri
        env["PRECURSOR_DATA_DIR"] = str(self.data_dir)
        # Progress bars are for a terminal: in a child's log file (the demo's trainer) a bar is
        # one long line of carriage returns around the records that matter (tqdm reads TQDM_*).
        env["TQDM_DISABLE"] = "1"
        return env

    def start_service(self, service: Service) -> None:
        """Start one child: `python -m precursor <args>`, logging to <data dir>/logs/<name>.log."""
        service.log_path = self.data_dir / "logs" / f"{service.name}.log"
        env = {**self.child_env(), **service.env, LOG_FILE_ENV: str(service.log_path)}
        with open_log(service.log_path) as log:
            service.proc = subprocess.Popen(
                [sys.executable, "-m", "precursor", *service.args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        if service not in self.services:
            self.services.append(service)
        logger.info("started %s (pid %s), log %s", service.name, service.proc.pid, service.log_path)

    def announce(self, api_url: str | None) -> Endpoints:
        """Write endpoints.json so other commands and people find this stack."""
        assert self.resolved.database_url is not None and self.resolved.kafka_bootstrap
        endpoints = Endpoints(
            database_url=self.resolved.database_url.get_secret_value(),
            kafka_bootstrap=self.resolved.kafka_bootstrap,
            api_url=api_url,
            mlflow_tracking_uri=self.resolved.resolved_mlflow_uri,
            metrics_url=(
                f"http://127.0.0.1:{self.settings.metrics_port}/metrics"
                if self.settings.metrics_port
                else None
            ),
            pid=os.getpid(),
        )
        write_endpoints(self.settings.endpoints_path, endpoints)
        return endpoints

    # -- supervise and stop --------------------------------------------------------------------

    def supervise(self) -> None:
        """Restart a child that died on its own (with a limit), so one crash is not an outage."""
        self._revive_infrastructure()
        for service in self.services:
            proc = service.proc
            if proc is None or proc.poll() is None:
                continue
            if service.oneshot:
                if service.restarts == 0:
                    logger.info(
                        "%s finished with %s (log %s)",
                        service.name,
                        exit_text(proc.returncode),
                        service.log_path,
                    )
                    service.restarts = -1  # reported
                continue
            service.restarts = _next_restart(
                service.name, service.restarts, exit_text(proc.returncode), service.log_path
            )
            self.start_service(service)

    def _revive_infrastructure(self) -> None:
        """Restart an embedded database or broker that died (killed, out of memory...) on its own
        port, so the services, which retry their connections, carry on without a restart of
        their own. The database keeps its data; the broker's memory storage starts empty, so
        its topics are created again (messages not yet consumed are lost, as on any stop)."""
        parts = (
            ("embedded PostgreSQL", self.postgres, None),
            ("embedded broker", self.broker, lambda: ensure_topics(self.resolved)),
        )
        for name, part, then in parts:
            if part is None or part.ended is None:
                continue
            self.infrastructure_restarts[name] = _next_restart(
                name, self.infrastructure_restarts.get(name, 0), part.ended, part.log_path
            )
            try:
                part.start()
                if then is not None:
                    then()
            except Exception as exc:  # any failure: tried again on the next tick, then fatal
                logger.warning("%s did not come back: %s", name, exc)
            else:
                logger.info("%s is back on port %s", name, part.port)

    def stop(self, timeout: float = 20.0) -> None:
        """Services first (they finish their batches), then broker and database."""
        for service in reversed(self.services):
            if service.proc is not None:
                code = stop_process(service.proc, signal.SIGTERM, timeout)
                logger.info("stopped %s (%s)", service.name, exit_text(code))
        if self.broker is not None:
            self.broker.stop()
            logger.info("stopped embedded broker (its messages were in memory)")
        if self.postgres is not None:
            self.postgres.stop()
            logger.info("stopped embedded PostgreSQL (data kept in %s)", self.postgres.pgdata)
        with contextlib.suppress(FileNotFoundError):
            found = read_endpoints(self.settings.endpoints_path)
            if found is None or found.pid == os.getpid():
                self.settings.endpoints_path.unlink()

    def _refuse_second_up(self) -> None:
        running = read_endpoints(self.settings.endpoints_path)
        if running is not None and running.pid != os.getpid():
            raise RuntimeStartError(
                f"another `precursor up` (pid {running.pid}) already runs with data dir "
                f"{self.data_dir}; stop it or set PRECURSOR_DATA_DIR"
            )


def _next_restart(name: str, restarts: int, ended: str, log_path: Path | None) -> int:
    """The one restart policy of services, database and broker: give up with one line after
    MAX_RESTARTS, else log, back off (2, 4, 8, 10, 10 s) and return the new count."""
    if restarts >= MAX_RESTARTS:
        raise RuntimeStartError(f"{name} keeps failing ({ended}); see {log_path}")
    restarts += 1
    logger.warning("%s ended with %s; restarting (%d/%d)", name, ended, restarts, MAX_RESTARTS)
    time.sleep(min(2**restarts, 10))
    return restarts
