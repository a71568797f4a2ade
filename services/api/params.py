"""Query parameters shared by routes: validated time windows, identifiers and page sizes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from precursor.core.contracts import ID_PATTERN
from precursor.core.errors import InvalidInput

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

AssetId = Annotated[str, Path(min_length=1, max_length=200, pattern=ID_PATTERN)]
EntityId = Annotated[str, Path(min_length=1, max_length=200, pattern=ID_PATTERN)]
AssetFilter = Annotated[
    str | None, Query(min_length=1, max_length=200, pattern=ID_PATTERN, description="asset id")
]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=ID_PATTERN)]


def utc(value: datetime | None, name: str) -> datetime | None:
    """Naive times are UTC; times outside 1970-2200 are a 422."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST <= value <= LATEST:
        raise InvalidInput(f"{name} must be between 1970 and 2200")
    return value


@dataclass(frozen=True)
class Window:
    """A half-open time window [start, end); either side may be open."""

    start: datetime | None
    end: datetime | None


async def time_window(
    from_: Annotated[
        datetime | None, Query(alias="from", description="start, ISO 8601 (UTC if no zone)")
    ] = None,
    to: Annotated[datetime | None, Query(description="end (exclusive), ISO 8601")] = None,
) -> Window:
    """`from` / `to` as a validated window: from before to."""
    start, end = utc(from_, "from"), utc(to, "to")
    if start is not None and end is not None and start >= end:
        raise InvalidInput("`from` must be before `to`")
    return Window(start, end)


TimeWindow = Annotated[Window, Depends(time_window)]


async def lookback_hours(
    lookback: Annotated[
        str, Query(description="window before the stop: hours, or e.g. '24h', '2d'")
    ] = "24h",
) -> timedelta:
    """A lookback of 1 h to 7 days."""
    text = lookback.strip().lower()
    try:
        hours = float(text[:-1]) * 24 if text.endswith("d") else float(text.removesuffix("h"))
    except ValueError:
        raise InvalidInput(f"lookback {lookback!r} is not a duration like '24h' or '2d'") from None
    if not 1 <= hours <= 168:
        raise InvalidInput("lookback must be between 1 hour and 7 days")
    return timedelta(hours=hours)


Lookback = Annotated[timedelta, Depends(lookback_hours)]

HORIZONS = {"day": 24.0, "week": 168.0}


async def horizon_hours(
    request: Request,
    horizon: Annotated[
        str,
        Query(
            description="'shift' (one shift: 24 h over the number of PRECURSOR_SHIFTS, 12 h by "
            "default), 'day', 'week', or hours such as '12h'"
        ),
    ] = "day",
) -> float:
    """A forecast horizon of 1 h to 30 days."""
    text = horizon.strip().lower()
    if text == "shift":
        return request.app.state.settings.shift_pattern.mean_hours
    if text in HORIZONS:
        return HORIZONS[text]
    try:
        hours = float(text.removesuffix("h"))
    except ValueError:
        raise InvalidInput(
            f"horizon {horizon!r}: use shift, day, week or a number of hours"
        ) from None
    if not 1 <= hours <= 720:
        raise InvalidInput("horizon must be between 1 hour and 30 days")
    return hours


Horizon = Annotated[float, Depends(horizon_hours)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size, at most 500")]


def _declared_query(route: object) -> set[str]:
    """The query parameter names a route and its dependencies declare (aliases included)."""
    # A walk of the Dependant tree (its query_params and dependencies fields), a handful of
    # nodes per request: FastAPI's own flattening helpers are private and were renamed.
    names: set[str] = set()
    todo = [getattr(route, "dependant", None)]
    while todo:
        dependant = todo.pop()
        if dependant is not None:
            names.update(f.alias for f in dependant.query_params)
            todo.extend(dependant.dependencies)
    return names


async def known_query_only(request: Request) -> None:
    """422 for a query parameter the route does not take: a misspelt filter (`?asset=` for
    `?asset_id=`) would otherwise be ignored and answer with everything."""
    declared = _declared_query(request.scope.get("route"))
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        raise InvalidInput(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; this endpoint takes: {takes}"
        )
