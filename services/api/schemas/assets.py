"""Assets with their latest risk, and the forecast."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.api.schemas.common import Rating, RiskPoint


class AssetPublic(BaseModel):
    """An asset from the registry with its latest risk score."""

    asset_id: str
    name: str | None
    kind: str | None
    site: str | None
    area: str | None
    criticality: int
    latest: RiskPoint | None


class RiskHistory(BaseModel):
    """Risk scores of one asset, oldest first."""

    asset_id: str
    points: list[RiskPoint]
    alert_level: float | None = Field(
        description="the probability at which this asset's alert opens under the champion "
        "model (its threshold, the rating matrix and the asset's criticality); null without a "
        "champion, or when the asset's criticality keeps every probability below the opening "
        "rating"
    )


class TagSeries(BaseModel):
    """One tag: [bucket start, mean, min, max] per bucket."""

    tag: str
    points: list[tuple[datetime, float, float, float]]


class SignalSeries(BaseModel):
    """An asset's signals over a window, bucketed."""

    asset_id: str
    bucket_s: int
    series: list[TagSeries]


class ForecastItem(BaseModel):
    """One asset's risk for the horizon asked, and how it moved against 24 h earlier."""

    asset_id: str
    name: str | None
    kind: str | None
    site: str | None
    area: str | None
    ts: str
    probability: float
    rating: Rating
    likelihood: int
    consequence: int
    previous_probability: float | None
    trend: str
    open_alert_id: str | None


class AreaSummary(BaseModel):
    """An area at a glance: its worst rating and how many assets are high or critical."""

    site: str | None
    area: str | None
    assets: int
    worst_rating: Rating
    high_or_critical: int
    max_probability: float


class Forecast(BaseModel):
    """Assets ranked by risk, largest first, with the per-area summary."""

    horizon_h: float
    model_horizon_h: float | None
    items: list[ForecastItem]
    areas: list[AreaSummary]
