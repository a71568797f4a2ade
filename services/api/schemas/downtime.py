"""Downtime, its Pareto, a stop's root cause and its RCA record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.api.schemas.common import ShortText, StrictBody, Text


class DowntimePublic(BaseModel):
    """One stop with its duration (null while it lasts)."""

    event_id: str
    asset_id: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    planned: bool
    state: str
    reason_code: str | None
    reason: str | None
    crew: str | None
    shift: str


class ParetoRow(BaseModel):
    """One category of the Pareto."""

    key: str | None
    hours: float
    count: int
    share: float
    cumulative_share: float


class Pareto(BaseModel):
    """Downtime hours by category, largest first, with the cumulative share."""

    by: str
    total_hours: float
    rows: list[ParetoRow]


class SignalDeviation(BaseModel):
    """How far one signal's lookback window moved from the asset's own trailing baseline."""

    tag: str
    score: float
    level_z: float | None
    slope_z: float | None
    window_mean: float | None
    baseline_mean: float | None
    baseline_std: float | None
    samples: int


class SimilarStop(BaseModel):
    """A past stop of the same kind of asset with a near deviation signature."""

    event_id: str
    asset_id: str
    started_at: datetime
    duration_s: float | None
    reason_code: str | None
    distance: float


class RootCause(BaseModel):
    """What happened before one stop."""

    stop: DowntimePublic
    lookback_h: float
    signals: list[SignalDeviation]
    alarms: list[dict[str, Any]]
    dispatch: list[dict[str, Any]]
    preceding_alert: dict[str, Any] | None
    similar: list[SimilarStop]
    rca: dict[str, Any] | None = None  # revision / updated_by / updated_at when one is recorded


class Why(StrictBody):
    """One why / because pair of the five whys."""

    why: Text
    because: Text


class CauseNode(StrictBody):
    """A node of the cause tree."""

    cause: Text
    category: ShortText | None = None
    children: Annotated[list[CauseNode], Field(max_length=20)] = Field(default_factory=list)


class Action(StrictBody):
    """A corrective action with its owner and due date."""

    description: Text
    owner: ShortText
    due_date: Annotated[date, Field(ge=date(1970, 1, 1), le=date(2199, 12, 31))]
    status: Literal["open", "done"] = "open"


class RcaCreate(StrictBody):
    """A root-cause analysis: five whys and/or a cause tree, and actions."""

    summary: Text | None = None
    five_whys: Annotated[list[Why], Field(max_length=10)] = Field(default_factory=list)
    cause_tree: CauseNode | None = None
    actions: Annotated[list[Action], Field(max_length=50)] = Field(default_factory=list)


class RcaPublic(BaseModel):
    """The RCA record of a stop."""

    event_id: str
    summary: str | None
    five_whys: list[dict[str, Any]]
    cause_tree: dict[str, Any] | None
    actions: list[dict[str, Any]]
    revision: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


CauseNode.model_rebuild()
