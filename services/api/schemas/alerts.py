"""Alerts: list, detail, acknowledge, outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.api.schemas.common import Contribution, Rating, StrictBody, Text
from services.api.schemas.downtime import SignalDeviation

AlertStatus = Literal["open", "acknowledged", "closed"]
Outcome = Literal["true_positive", "false_alarm", "too_late"]


class AlertPublic(BaseModel):
    """An alert as operators see it."""

    alert_id: str
    asset_id: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    status: AlertStatus
    rating: Rating
    peak_rating: Rating
    probability: float
    model_version: str
    contributions: list[Contribution] | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    ack_comment: str | None
    outcome: Outcome | None
    below_since: datetime | None = Field(
        description="since when the asset's rating has been below the alert line (the alert "
        "closes once it stays there for the cool-down, PRECURSOR_ALERT_COOLDOWN_H); null while "
        "at or above it (a closed alert keeps when its last stretch below began)"
    )


class AlertEvent(BaseModel):
    """One change of an alert."""

    event_id: int
    kind: str
    at: datetime


class AlertDetail(AlertPublic):
    """An alert with its history and the register entries it feeds."""

    events: list[AlertEvent]
    register_entries: list[str]
    deviations: list[SignalDeviation] = Field(
        description="every tag over the 6 h before the alert opened against its 7-day baseline "
        "before that (as the root-cause view computes it), most deviating first"
    )
    outcome_by: str | None
    outcome_at: datetime | None


class AlertPage(BaseModel):
    """A page of alerts, newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[AlertPublic]
    next_cursor: str | None


class AckCreate(StrictBody):
    """An acknowledgement, with an optional comment."""

    comment: Text | None = None


class OutcomeCreate(StrictBody):
    """What the alert turned out to be; used as a label by the next training."""

    outcome: Outcome
    comment: Text | None = Field(default=None)
