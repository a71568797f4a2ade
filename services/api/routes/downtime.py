"""Downtime for reliability engineers: stops, Pareto, a stop's root cause, its RCA record."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status
from psycopg.rows import dict_row

from models.shifts import ShiftPattern
from precursor.core.errors import InvalidInput, NotFound
from services.api.analysis.downtime import ParetoBy, get_stop, list_stops, pareto
from services.api.analysis.root_cause import root_cause
from services.api.deps import AnalystCaller, Conn, ReliabilityCaller, Shifts
from services.api.params import AssetFilter, EntityId, Limit, Lookback, TimeWindow
from services.api.schemas.common import ERRORS
from services.api.schemas.downtime import (
    DowntimePublic,
    Pareto,
    RcaCreate,
    RcaPublic,
    RootCause,
)

router = APIRouter(prefix="/v1/downtime", tags=["downtime"], responses=ERRORS)

RCA_COLUMNS = (
    "event_id, summary, five_whys, cause_tree, actions, revision, created_by, created_at, "
    "updated_by, updated_at"
)


@router.get("", response_model=list[DowntimePublic], summary="Stops with durations")
def downtime(
    conn: Conn,
    _: AnalystCaller,
    window: TimeWindow,
    shifts: Shifts,
    asset_id: AssetFilter = None,
    planned: bool | None = None,
    limit: Limit = 100,
) -> list[dict]:
    """Stops (down and maintenance) that started in the window, newest first, each with the
    shift it started in (PRECURSOR_SHIFTS in PRECURSOR_PLANT_TIMEZONE)."""
    return list_stops(conn, window, asset_id, planned, limit, shifts)


@router.get("/pareto", response_model=Pareto, summary="Downtime Pareto")
def downtime_pareto(
    conn: Conn,
    _: AnalystCaller,
    window: TimeWindow,
    shifts: Shifts,
    by: Annotated[ParetoBy, Query(description="category")] = "reason_code",
    planned: bool | None = None,
) -> dict:
    """Hours and counts by reason_code, asset_id, crew or shift; largest first."""
    return pareto(conn, window, by, planned, shifts)


def _stop_or_404(conn, event_id: str, shifts: ShiftPattern) -> dict:
    stop = get_stop(conn, event_id, shifts)
    if stop is None:
        raise NotFound(f"no stop with event id {event_id}")
    return stop


def _require_stop(conn, event_id: str) -> None:
    if conn.execute("SELECT 1 FROM downtime WHERE event_id = %s", (event_id,)).fetchone() is None:
        raise NotFound(f"no stop with event id {event_id}")


@router.get("/{event_id}/root-cause", response_model=RootCause, summary="Root cause of a stop")
def stop_root_cause(
    event_id: EntityId, conn: Conn, _: ReliabilityCaller, lookback: Lookback, shifts: Shifts
) -> dict:
    """Signals ranked by how far the lookback deviates from the asset's trailing 7-day
    baseline (z of level and of drift), alarms and dispatch events in the lookback, the alert
    that preceded the stop with its lead time, and the 5 most similar past stops."""
    return root_cause(conn, _stop_or_404(conn, event_id, shifts), lookback)


@router.post(
    "/{event_id}/rca",
    response_model=RcaPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record the RCA of a stop",
    responses={200: {"model": RcaPublic, "description": "an existing RCA replaced"}},
)
def record_rca(
    event_id: EntityId,
    body: RcaCreate,
    conn: Conn,
    caller: ReliabilityCaller,
    response: Response,
) -> dict:
    """Five whys and/or a cause tree, with actions. Posting again replaces the record and
    raises its revision (200); the first post creates it (201)."""
    _require_stop(conn, event_id)
    if not body.five_whys and body.cause_tree is None:
        raise InvalidInput("an RCA needs five_whys or a cause_tree")
    data = body.model_dump(mode="json")
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "INSERT INTO rca_records (event_id, summary, five_whys, cause_tree, actions, "
            "created_by, updated_by) VALUES (%s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s, %s) "
            "ON CONFLICT (event_id) DO UPDATE SET summary = EXCLUDED.summary, "
            "five_whys = EXCLUDED.five_whys, cause_tree = EXCLUDED.cause_tree, "
            "actions = EXCLUDED.actions, revision = rca_records.revision + 1, "
            "updated_by = EXCLUDED.updated_by, updated_at = now() "
            f"RETURNING {RCA_COLUMNS}",
            (
                event_id,
                data["summary"],
                orjson.dumps(data["five_whys"]).decode(),
                orjson.dumps(data["cause_tree"]).decode() if data["cause_tree"] else None,
                orjson.dumps(data["actions"]).decode(),
                caller.name,
                caller.name,
            ),
        )
        .fetchone()
    )
    if row["revision"] > 1:
        response.status_code = status.HTTP_200_OK
    return row


@router.get("/{event_id}/rca", response_model=RcaPublic, summary="The RCA of a stop")
def get_rca(event_id: EntityId, conn: Conn, _: ReliabilityCaller) -> dict:
    """The recorded analysis; 404 when none was recorded."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(f"SELECT {RCA_COLUMNS} FROM rca_records WHERE event_id = %s", (event_id,))
        .fetchone()
    )
    if row is None:
        _require_stop(conn, event_id)
        raise NotFound(f"no RCA recorded for stop {event_id}")
    return row
