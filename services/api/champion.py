"""The registry as the API sees it: champion and versions, refreshed in the background so
that requests never wait on MLflow."""

from __future__ import annotations

import logging
import math
import threading

from precursor.core.settings import Settings

logger = logging.getLogger(__name__)

REFRESH_S = 15.0


class ChampionWatcher:
    """Reads `precursor-risk` versions and the `champion` alias every REFRESH_S seconds."""

    def __init__(self, settings: Settings):
        self._uri = settings.resolved_mlflow_uri
        self._lock = threading.Lock()
        self._state: dict = {"name": "precursor-risk", "champion": None, "versions": []}
        self._error: str | None = "model registry not read yet"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Read once now (so /readyz is right from the start), then keep reading."""
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="champion-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background refresh."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self.refresh()

    def refresh(self) -> None:
        """Re-read the registry; on failure keep the last good state and remember why."""
        try:
            from models import registry  # MLflow is heavy: imported on first use, not at start

            registry.use_store(self._uri)
            versions = []
            for v in registry.versions():
                metrics = {k: float(x) for k, x in v["metrics"].items() if math.isfinite(float(x))}
                versions.append({**v, "metrics": metrics})
            champion = next((v["version"] for v in versions if v["champion"]), None)
        except Exception as exc:  # the registry is optional for most routes
            with self._lock:
                self._error = f"model registry not readable: {type(exc).__name__}: {exc}"
            logger.warning("%s", self._error)
            return
        with self._lock:
            self._state = {"name": "precursor-risk", "champion": champion, "versions": versions}
            self._error = None if champion else "no champion model registered yet"

    def snapshot(self) -> dict:
        """The last registry state read."""
        with self._lock:
            return {**self._state, "detail": {"error": self._error} if self._error else None}

    def not_ready_reason(self) -> str | None:
        """Why the API is not ready for scoring-dependent use, or None."""
        with self._lock:
            return self._error
