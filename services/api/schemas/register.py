"""The HSE risk register: entries, compensating measures, history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.api.schemas.common import Rating, ShortText, StrictBody, Text

Status = Literal["identified", "assessed", "mitigating", "closed"]
Level = Annotated[int, Field(ge=1, le=5)]
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2199, 12, 31))]


class Measure(StrictBody):
    """A compensating measure; once `done` it lowers the residual likelihood or consequence."""

    id: ShortText = Field(default_factory=lambda: uuid.uuid4().hex[:8])
    description: Text
    status: Literal["planned", "in_progress", "done"] = "planned"
    owner: ShortText | None = None
    due_date: Day | None = None
    reduces: Literal["likelihood", "consequence"] = "likelihood"
    steps: Annotated[int, Field(ge=1, le=4)] = 1


class EntryCreate(StrictBody):
    """A new register entry; the rating is derived from likelihood x consequence."""

    title: Text
    hazard: ShortText
    asset_id: ShortText | None = None
    area: ShortText | None = None
    likelihood: Level
    consequence: Level
    status: Status = "identified"
    owner: ShortText | None = None
    due_date: Day | None = None
    measures: Annotated[list[Measure], Field(max_length=100)] = Field(default_factory=list)


class EntryUpdate(StrictBody):
    """A partial update; `version` must be the version you read (else 409)."""

    version: Annotated[int, Field(ge=1, le=2_000_000_000)]
    title: Text | None = None
    hazard: ShortText | None = None
    asset_id: ShortText | None = None
    area: ShortText | None = None
    likelihood: Level | None = None
    consequence: Level | None = None
    status: Status | None = None
    owner: ShortText | None = None
    due_date: Day | None = None
    measures: Annotated[list[Measure], Field(max_length=100)] | None = None


class EntryPublic(BaseModel):
    """A register entry as stored, with its linked alerts and residual figures."""

    entry_id: str
    title: str
    hazard: str
    asset_id: str | None
    area: str | None
    likelihood: int
    consequence: int
    rating: Rating
    residual_likelihood: int
    residual_consequence: int
    residual_rating: Rating
    status: Status
    owner: str | None
    due_date: date | None
    measures: list[dict[str, Any]]
    source: str
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    alert_ids: list[str]


class EntryPage(BaseModel):
    """Register entries, most recently changed first."""

    items: list[EntryPublic]


class HistoryItem(BaseModel):
    """One audited change: who, when, what it was before and after."""

    history_id: int
    version: int
    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any]
