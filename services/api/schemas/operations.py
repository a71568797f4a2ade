"""Incidents, KPIs and model versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class IncidentPublic(BaseModel):
    """An HSE incident as stored."""

    incident_id: str
    ts: datetime
    asset_id: str
    kind: str
    severity: int
    description: str | None
    source: str


class AssetReliability(BaseModel):
    """Reliability of one asset over the window."""

    asset_id: str
    failures: int = Field(
        description="unplanned stops of at least PRECURSOR_MIN_DOWNTIME_MIN (the incident length)"
    )
    short_stops: int = Field(description="unplanned stops shorter than that")
    running_hours: float
    downtime_hours: float
    mtbf_h: float | None = Field(description="running hours per failure")
    mttr_h: float | None = Field(description="hours down per failure (short stops left out)")


class Kpis(BaseModel):
    """Proactive indicators over the window."""

    start: datetime | None
    end: datetime | None
    alerts_raised: int
    alerts_acknowledged: int
    median_time_to_ack_min: float | None
    register_entries: int
    register_with_measures_share: float | None
    downtime_hours: float
    unplanned_downtime_hours: float
    incidents: int
    assets: list[AssetReliability]


class ModelVersion(BaseModel):
    """One registered version of precursor-risk."""

    version: str
    champion: bool
    created_at: int | None
    run_id: str | None
    metrics: dict[str, float]
    threshold: float | None = Field(
        description="the alert threshold p* chosen on validation: the likelihood bands are "
        "multiples of it"
    )


class Models(BaseModel):
    """The registry: versions newest first and the champion."""

    name: str
    champion: str | None
    versions: list[ModelVersion]
    detail: dict[str, Any] | None = None


class Me(BaseModel):
    """The caller."""

    key_id: str
    name: str
    role: str
