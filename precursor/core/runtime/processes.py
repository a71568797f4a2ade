"""Child-process plumbing shared by the embedded services: free ports, no orphans, clean stops."""

from __future__ import annotations

import contextlib
import ctypes
import logging.handlers
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_PR_SET_PDEATHSIG = 1
# A log is moved aside to <name>.log.1 (replacing the older copy) once it grows past this: at a
# (re)start for every child, and while running for our own services (ServiceLogHandler).
LOG_ROTATE_BYTES = 20 * 1024 * 1024
# Set by `up` for the services it starts: the log file their stdout and stderr already go to.
LOG_FILE_ENV = "PRECURSOR_LOG_FILE"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already accepts connections on host:port (for a wildcard host such
    as 0.0.0.0, on loopback: that is where a listener on any address answers)."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn asking Linux to signal the child when its parent dies, so a SIGKILLed
    parent leaves no orphans behind (a no-op where prctl does not exist)."""

    def _pre() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)

    return _pre


def open_log(path: Path, rotate_bytes: int = LOG_ROTATE_BYTES) -> BinaryIO:
    """Open a child's log for appending, first keeping the previous one as `<path>.1` (replacing
    the older one) when it is larger than `rotate_bytes`, so logs stay bounded across restarts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > rotate_bytes:
            path.replace(path.with_name(path.name + ".1"))
    return open(path, "ab")  # the caller hands it to the child and closes it


class ServiceLogHandler(logging.handlers.RotatingFileHandler):
    """A service's own log, rotated while it runs. Its stdout and stderr (tracebacks, warnings,
    what libraries print) were handed to the same file by `up`; after each rollover they are
    pointed at the new file too, so nothing keeps writing into the copy set aside."""

    def __init__(self, path: Path, max_bytes: int = LOG_ROTATE_BYTES):
        super().__init__(path, mode="a", maxBytes=max_bytes, backupCount=1, encoding="utf-8")

    def doRollover(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(ValueError, OSError):
                stream.flush()
        super().doRollover()
        if self.stream is not None:
            for fd in (1, 2):
                os.dup2(self.stream.fileno(), fd)


class OwnedServer:
    """A server process we start and stop ourselves (embedded PostgreSQL, the broker)."""

    _proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The server's pid while we run it."""
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    @property
    def ended(self) -> str | None:
        """None while the server runs; otherwise how it ended, for people."""
        if self._proc is None:
            return "not running"
        code = self._proc.poll()
        return None if code is None else exit_text(code)


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when a GET of `url` answers 200 now: a starting service's health check."""
    import httpx

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `check` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
    """Send `sig`, wait up to `timeout`, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def exit_text(code: int | None) -> str:
    """A child's exit status for people: "exit 1", or "signal SIGTERM" for a negative code
    (uvicorn re-raises the signal it shut down on, so a clean API stop would read "exit -15")."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def peak_rss_mb(pid: int | None = None) -> float:
    """The kernel's resident-set high-water mark (VmHWM) of a live process, this one by default.
    Not getrusage: a child's ru_maxrss starts at its parent's size (fork / vfork + exec)."""
    with open(f"/proc/{pid or 'self'}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")
