"""Shapes shared by several resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Rating = Literal["low", "medium", "high", "critical"]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]
ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


class StrictBody(BaseModel):
    """Request bodies reject unknown fields, so typos are errors rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Contribution(BaseModel):
    """One signal or event family and its summed SHAP value (log-odds)."""

    signal: str
    contribution: float


class RiskPoint(BaseModel):
    """One risk score."""

    ts: datetime
    probability: float
    likelihood: int
    consequence: int
    rating: Rating
    model_version: str
    contributions: list[Contribution] | None = None


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


ERRORS = {
    s: {"model": ErrorBody, "description": d}
    for s, d in {
        400: "The body is not JSON (or was sent without Content-Type: application/json)",
        401: "Missing, unknown or revoked API key",
        403: "The key's role may not do this",
        404: "Not found",
        409: "Conflict with the current state",
        422: "Invalid parameters",
    }.items()
}
