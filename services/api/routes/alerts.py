"""Alerts for operators: list, detail, acknowledge; outcomes from reliability and HSE."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
import psycopg
from fastapi import APIRouter, Body, Query, Request
from psycopg.rows import dict_row

from precursor.core.errors import Conflict, InvalidInput, NotFound
from services.api.analysis.root_cause import deviations
from services.api.deps import AnalystCaller, Caller, Conn, OperatorCaller, Pool
from services.api.params import AssetFilter, EntityId, Limit
from services.api.schemas.alerts import (
    AckCreate,
    AlertDetail,
    AlertPage,
    AlertPublic,
    AlertStatus,
    OutcomeCreate,
)
from services.api.schemas.common import ERRORS, Rating
from services.predict.alerts_store import COLUMNS, alert_json, load_alert, record_event

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=ERRORS)
# The window before an alert opened whose signals are set against their 7-day baseline: the
# model's longest trend window short of a day, long enough for a drift to show.
ALERT_LOOKBACK = timedelta(hours=6)


def encode_cursor(opened_at: datetime, alert_id: str) -> str:
    """An opaque position: the last row's (opened_at, alert_id)."""
    raw = orjson.dumps([opened_at.isoformat(), alert_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position back, or a 400 when the cursor was not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, alert_id = orjson.loads(raw)
        return datetime.fromisoformat(ts), str(alert_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidInput("cursor is not valid: pass `next_cursor` from a previous page") from None


@router.get("", response_model=AlertPage, summary="Alerts, newest first")
async def list_alerts(
    request: Request,
    pool: Pool,
    _: Caller,
    status: AlertStatus | None = None,
    asset_id: AssetFilter = None,
    rating: Annotated[
        Rating | None, Query(description="the latest rating (a closed alert's: the closing one)")
    ] = None,
    peak_rating: Annotated[
        Rating | None, Query(description="the highest rating the alert reached")
    ] = None,
    cursor: str | None = Query(default=None, max_length=500),
    limit: Limit = 100,
) -> dict:
    """Filter by status, asset, latest and peak rating; page with `cursor`."""
    after = decode_cursor(cursor) if cursor else None
    ratings = (rating, peak_rating)

    def compute() -> dict:
        with pool.connection() as conn:
            return alert_page(conn, status, asset_id, ratings, after, limit)

    key = ("alerts", status, asset_id, ratings, after, limit)
    return await request.app.state.cache.respond(key, request.app.state.hub.generation(), compute)


def alert_page(
    conn: psycopg.Connection,
    status: str | None,
    asset_id: str | None,
    ratings: tuple[str | None, str | None],
    after: tuple[datetime, str] | None,
    limit: int,
) -> dict:
    """One page of alerts, newest first; `ratings` filters the (latest, peak) rating."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {', '.join(COLUMNS)} FROM alerts "
            "WHERE (%(status)s::text IS NULL OR status = %(status)s) "
            "AND (%(asset)s::text IS NULL OR asset_id = %(asset)s) "
            "AND (%(rating)s::text IS NULL OR rating = %(rating)s) "
            "AND (%(peak)s::text IS NULL OR peak_rating = %(peak)s) "
            "AND (%(ts)s::timestamptz IS NULL OR (opened_at, alert_id) < (%(ts)s, %(id)s)) "
            "ORDER BY opened_at DESC, alert_id DESC LIMIT %(limit)s",
            {
                "status": status,
                "asset": asset_id,
                "rating": ratings[0],
                "peak": ratings[1],
                "ts": after[0] if after else None,
                "id": after[1] if after else None,
                "limit": limit + 1,
            },
        )
        .fetchall()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1]["opened_at"], rows[-1]["alert_id"]) if more else None
    return {"items": rows, "next_cursor": nxt}


@router.get("/{alert_id}", response_model=AlertDetail, summary="One alert with its events")
def get_alert(alert_id: EntityId, conn: Conn, _: Caller) -> dict:
    """The alert, its contributions, its event history and the register entries it feeds."""
    row = load_alert(conn, alert_id)
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    row["events"] = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT event_id, kind, at FROM alert_events WHERE alert_id = %s ORDER BY event_id",
            (alert_id,),
        )
        .fetchall()
    )
    row["register_entries"] = [
        r[0]
        for r in conn.execute(
            "SELECT entry_id FROM risk_register_alerts WHERE alert_id = %s ORDER BY entry_id",
            (alert_id,),
        )
    ]
    # What the signals did before it opened, in their own units, beside the model's odds.
    row["deviations"] = deviations(conn, row["asset_id"], row["opened_at"], ALERT_LOOKBACK)[0]
    return row


@router.post("/{alert_id}/ack", response_model=AlertPublic, summary="Acknowledge an alert")
def acknowledge(
    request: Request,
    alert_id: EntityId,
    conn: Conn,
    caller: OperatorCaller,
    body: Annotated[AckCreate | None, Body()] = None,
) -> dict:
    """Record who acknowledged and when; 409 when closed or already acknowledged."""
    row = load_alert(conn, alert_id, lock=True)
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    if row["status"] == "closed":
        raise Conflict(f"alert {alert_id} is closed")
    if row["status"] == "acknowledged":
        raise Conflict(
            f"alert {alert_id} was already acknowledged by {row['acknowledged_by']} at "
            f"{row['acknowledged_at'].isoformat()}"
        )
    now = datetime.now(UTC)
    conn.execute(
        "UPDATE alerts SET status = 'acknowledged', acknowledged_by = %s, acknowledged_at = %s, "
        "ack_comment = %s WHERE alert_id = %s",
        (caller.name, now, body.comment if body else None, alert_id),
    )
    updated = load_alert(conn, alert_id)
    assert updated is not None
    record_event(conn, "acknowledged", now, alert_json(updated))
    conn.commit()
    request.app.state.hub.changed()  # after the commit: cached alert lists are now stale
    return updated


@router.post("/{alert_id}/outcome", response_model=AlertPublic, summary="Record the outcome")
def set_outcome(
    request: Request, alert_id: EntityId, body: OutcomeCreate, conn: Conn, caller: AnalystCaller
) -> dict:
    """true_positive | false_alarm | too_late; exported as a label for the next training.
    Setting it again replaces it (the events keep every value)."""
    row = load_alert(conn, alert_id, lock=True)
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    now = datetime.now(UTC)
    conn.execute(
        "UPDATE alerts SET outcome = %s, outcome_by = %s, outcome_at = %s WHERE alert_id = %s",
        (body.outcome, caller.name, now, alert_id),
    )
    updated = load_alert(conn, alert_id)
    assert updated is not None
    record_event(conn, "outcome", now, {**alert_json(updated), "comment": body.comment})
    conn.commit()
    request.app.state.hub.changed()
    return updated
