"""The alert state machine: open at a rating, escalate when it rises, close after a cool-down.

One asset has at most one open alert. The same machine runs live (services/predict) and in
backtests, so what a backtest counts is what operators would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from models.rating import RANK


@dataclass(frozen=True)
class Alert:
    """An alert as the machine sees it."""

    alert_id: str
    asset_id: str
    opened_at: datetime
    rating: str
    peak_rating: str
    probability: float
    updated_at: datetime
    below_since: datetime | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Not closed yet."""
        return self.closed_at is None


@dataclass(frozen=True)
class Transition:
    """What a step did: opened, escalated or closed an alert."""

    kind: str
    alert: Alert


def alert_id(asset_id: str, opened_at: datetime) -> str:
    """Deterministic, so a restarted scorer re-deriving the same alert finds the same row."""
    return f"{asset_id}-{opened_at:%Y%m%dT%H%M%SZ}"


@dataclass(frozen=True)
class AlertMachine:
    """Configuration of the machine (defaults documented in the README)."""

    open_rating: str = "high"
    cooldown: timedelta = timedelta(hours=4)

    def step(
        self, current: Alert | None, asset_id: str, t: datetime, rating: str, probability: float
    ) -> tuple[Alert | None, Transition | None]:
        """Advance one asset by one score; returns its open alert (or None) and any transition."""
        above = RANK[rating] >= RANK[self.open_rating]
        if current is None or not current.is_open:
            if not above:
                return None, None
            alert = Alert(alert_id(asset_id, t), asset_id, t, rating, rating, probability, t)
            return alert, Transition("opened", alert)
        if above:
            updated = replace(
                current, rating=rating, probability=probability, updated_at=t, below_since=None
            )
            if RANK[rating] > RANK[current.peak_rating]:
                updated = replace(updated, peak_rating=rating)
                return updated, Transition("escalated", updated)
            return updated, None
        since = current.below_since or t
        if t - since >= self.cooldown:
            closed = replace(
                current,
                rating=rating,
                probability=probability,
                updated_at=t,
                below_since=since,
                closed_at=t,
            )
            return None, Transition("closed", closed)
        # The alert carries the latest rating and probability (its peak keeps the highest), so
        # that an open alert easing off does not go on showing a risk the asset no longer has.
        eased = replace(
            current, rating=rating, probability=probability, below_since=since, updated_at=t
        )
        return eased, None
