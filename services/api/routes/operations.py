"""Incidents (POST validated like the topic), KPIs and the model registry."""

from __future__ import annotations

from fastapi import APIRouter, status
from psycopg.rows import dict_row

from precursor.core.contracts import Incident, incident_row
from precursor.core.errors import Conflict
from services.api.analysis.kpis import kpis
from services.api.deps import Caller, Conn, HseCaller, SettingsDep
from services.api.models_view import models_snapshot
from services.api.params import AssetFilter, Limit, TimeWindow
from services.api.schemas.common import ERRORS
from services.api.schemas.operations import IncidentPublic, Kpis, Me, Models

router = APIRouter(tags=["operations"], responses=ERRORS)

INCIDENT_COLUMNS = "incident_id, ts, asset_id, kind, severity, description, source"


@router.post(
    "/v1/incidents",
    response_model=IncidentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Report an HSE incident",
)
def report_incident(body: Incident, conn: Conn, _: HseCaller) -> dict:
    """The same contract as `plant.hse.incidents`; a known incident_id is a 409."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"INSERT INTO incidents ({INCIDENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            f"ON CONFLICT (incident_id) DO NOTHING RETURNING {INCIDENT_COLUMNS}",
            incident_row(body, source="api"),
        )
        .fetchone()
    )
    if row is None:
        raise Conflict(f"incident {body.incident_id} already exists")
    return row


@router.get("/v1/incidents", response_model=list[IncidentPublic], summary="HSE incidents")
def list_incidents(
    conn: Conn, _: HseCaller, window: TimeWindow, asset_id: AssetFilter = None, limit: Limit = 100
) -> list[dict]:
    """Incidents in the window, newest first."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {INCIDENT_COLUMNS} FROM incidents "
            "WHERE (%(a)s::text IS NULL OR asset_id = %(a)s) "
            "AND (%(s)s::timestamptz IS NULL OR ts >= %(s)s) "
            "AND (%(e)s::timestamptz IS NULL OR ts < %(e)s) "
            "ORDER BY ts DESC, incident_id DESC LIMIT %(n)s",
            {"a": asset_id, "s": window.start, "e": window.end, "n": limit},
        )
        .fetchall()
    )


@router.get("/v1/kpis", response_model=Kpis, summary="Proactive indicators")
def get_kpis(conn: Conn, _: HseCaller, window: TimeWindow, settings: SettingsDep) -> dict:
    """Alerts raised and acknowledged, median time to acknowledge, share of register
    entries with compensating measures, MTBF and MTTR per asset (a failure being an unplanned
    stop as long as an incident), downtime hours."""
    return kpis(conn, window, settings.min_downtime_min)


@router.get("/v1/me", response_model=Me, summary="Who the key belongs to")
def me(caller: Caller) -> dict:
    """The calling key's id, name and role (the console shows what the role may do)."""
    return {"key_id": caller.key_id, "name": caller.name, "role": caller.role}


@router.get("/v1/models", response_model=Models, summary="Model versions and the champion")
def models(conn: Conn, _: Caller) -> dict:
    """Registered versions of precursor-risk (newest first) with their backtest metrics."""
    return models_snapshot(conn)
