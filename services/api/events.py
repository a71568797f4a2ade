"""Alert events for the SSE stream: one LISTEN connection per process wakes every client."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from services.predict.alerts_store import NOTIFY_CHANNEL, SCORES_CHANNEL

logger = logging.getLogger(__name__)

STREAM_KINDS = ("opened", "escalated", "acknowledged", "closed")
POLL_S = 5.0  # clients re-read the table this often anyway: a missed NOTIFY costs seconds


class AlertHub:
    """Wakes waiting stream clients when PostgreSQL says an alert event was committed.

    The notification carries only the event id: clients read the events from `alert_events`,
    so the table is the single source and Last-Event-ID resumes exactly."""

    def __init__(self, url: str):
        self._url = url
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.listening = False
        # Bumped on every notification: response caches are valid within one generation.
        self.generations = {NOTIFY_CHANNEL: 0, SCORES_CHANNEL: 0}

    def generation(self) -> tuple[int, int] | None:
        """(alerts, scores) generations, or None while not listening (then nothing is
        cached, since a change could go unnoticed)."""
        if not self.listening:
            return None
        return self.generations[NOTIFY_CHANNEL], self.generations[SCORES_CHANNEL]

    def changed(self, channel: str = NOTIFY_CHANNEL) -> None:
        """Note a change this process committed itself (read-your-writes before the NOTIFY)."""
        self.generations[channel] += 1

    def start(self) -> None:
        """Begin listening in the background (call inside the running loop)."""
        self._task = asyncio.create_task(self._listen(), name="alert-hub")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _bump(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    async def wait(self, timeout: float = POLL_S) -> None:
        """Return on the next notification, or after `timeout`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    for channel in self.generations:
                        await conn.execute(f"LISTEN {channel}")
                    for channel in self.generations:  # anything may have changed meanwhile
                        self.generations[channel] += 1
                    self.listening = True
                    self._bump()
                    async for note in conn.notifies():
                        self.generations[note.channel] = self.generations.get(note.channel, 0) + 1
                        if note.channel == NOTIFY_CHANNEL:
                            self._bump()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: polling covers us meanwhile
                self.listening = False
                logger.warning("alert listener lost the database (%s); reconnecting", exc)
                await asyncio.sleep(2.0)


def latest_event_id(pool: ConnectionPool) -> int:
    """The newest event id (a fresh client starts after it)."""
    with pool.connection() as conn:
        return conn.execute("SELECT coalesce(max(event_id), 0) FROM alert_events").fetchone()[0]


def events_after(pool: ConnectionPool, event_id: int, limit: int = 500) -> list[dict]:
    """Stream events committed after `event_id`, oldest first."""
    with pool.connection() as conn:
        return (
            conn.cursor(row_factory=dict_row)
            .execute(
                "SELECT event_id, kind, payload FROM alert_events WHERE event_id > %s "
                "AND kind = ANY(%s) ORDER BY event_id LIMIT %s",
                (event_id, list(STREAM_KINDS), limit),
            )
            .fetchall()
        )
