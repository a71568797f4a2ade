"""Alerts in the database: load the open ones, persist transitions, tell listeners."""

from __future__ import annotations

from datetime import datetime

import orjson
import psycopg
from psycopg.rows import dict_row

from models.alerting import Alert, Transition

NOTIFY_CHANNEL = "precursor_alerts"
SCORES_CHANNEL = "precursor_scores"  # the scorer committed new risk scores
COLUMNS = (
    "alert_id",
    "asset_id",
    "opened_at",
    "updated_at",
    "closed_at",
    "status",
    "rating",
    "peak_rating",
    "probability",
    "model_version",
    "contributions",
    "acknowledged_by",
    "acknowledged_at",
    "ack_comment",
    "outcome",
    "below_since",
)


def open_alerts(conn: psycopg.Connection) -> dict[str, Alert]:
    """Asset -> its open alert, as the state machine needs it."""
    rows = conn.execute(
        "SELECT alert_id, asset_id, opened_at, rating, peak_rating, probability, updated_at, "
        "below_since FROM alerts WHERE closed_at IS NULL"
    ).fetchall()
    return {r[1]: Alert(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}


def alert_json(row: dict) -> dict:
    """The alert as the API and the alerts topic show it."""
    out = {k: row.get(k) for k in COLUMNS}
    for k in ("opened_at", "updated_at", "closed_at", "acknowledged_at", "below_since"):
        if isinstance(out[k], datetime):
            out[k] = out[k].isoformat()
    return out


def persist(
    conn: psycopg.Connection,
    transition: Transition | None,
    alert: Alert | None,
    model_version: str,
    contributions: list | None,
) -> dict | None:
    """Write one asset's step; returns the alert JSON when there was a transition."""
    contrib = orjson.dumps(contributions).decode() if contributions is not None else None
    changed = 1
    if transition is not None and transition.kind == "opened":
        a = transition.alert
        changed = conn.execute(
            "INSERT INTO alerts (alert_id, asset_id, opened_at, updated_at, status, rating, "
            "peak_rating, probability, model_version, contributions) "
            "VALUES (%s, %s, %s, %s, 'open', %s, %s, %s, %s, %s::jsonb) "
            "ON CONFLICT (alert_id) DO NOTHING",
            (
                a.alert_id,
                a.asset_id,
                a.opened_at,
                a.updated_at,
                a.rating,
                a.peak_rating,
                a.probability,
                model_version,
                contrib,
            ),
        ).rowcount
    elif transition is not None and transition.kind == "closed":
        a = transition.alert
        changed = conn.execute(
            "UPDATE alerts SET closed_at = %s, status = 'closed', updated_at = %s, rating = %s, "
            "probability = %s, below_since = %s WHERE alert_id = %s AND closed_at IS NULL",
            (a.closed_at, a.updated_at, a.rating, a.probability, a.below_since, a.alert_id),
        ).rowcount
    elif transition is not None and transition.kind == "escalated":
        a = transition.alert
        changed = conn.execute(
            "UPDATE alerts SET rating = %s, peak_rating = %s, probability = %s, updated_at = %s, "
            "below_since = NULL, contributions = coalesce(%s::jsonb, contributions) "
            "WHERE alert_id = %s AND closed_at IS NULL AND peak_rating <> %s",
            (
                a.rating,
                a.peak_rating,
                a.probability,
                a.updated_at,
                contrib,
                a.alert_id,
                a.peak_rating,
            ),
        ).rowcount
    elif alert is not None:
        # Keeps the cool-down clock in the database, so a restart continues it.
        conn.execute(
            "UPDATE alerts SET rating = %s, peak_rating = %s, probability = %s, updated_at = %s, "
            "below_since = %s, contributions = coalesce(%s::jsonb, contributions) "
            "WHERE alert_id = %s",
            (
                alert.rating,
                alert.peak_rating,
                alert.probability,
                alert.updated_at,
                alert.below_since,
                contrib,
                alert.alert_id,
            ),
        )
    if transition is None or not changed:
        return None  # a restarted scorer re-deriving a stored change: nothing new to tell
    row = load_alert(conn, transition.alert.alert_id)
    payload = alert_json(row)
    event_id = record_event(conn, transition.kind, transition.alert.updated_at, payload)
    return {"event": transition.kind, "event_id": event_id, **payload}


def load_alert(conn: psycopg.Connection, alert_id: str, *, lock: bool = False) -> dict | None:
    """One alert row with every contract column, or None."""
    suffix = " FOR UPDATE" if lock else ""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {', '.join(COLUMNS)}, outcome_by, outcome_at FROM alerts "
            f"WHERE alert_id = %s{suffix}",
            (alert_id,),
        )
        .fetchone()
    )


def record_event(conn: psycopg.Connection, kind: str, at: datetime, payload: dict) -> int:
    """Append an alert event and wake the stream listeners (delivered on commit)."""
    event_id = conn.execute(
        "INSERT INTO alert_events (alert_id, kind, at, payload) VALUES (%s, %s, %s, %s::jsonb) "
        "RETURNING event_id",
        (payload["alert_id"], kind, at, orjson.dumps(payload).decode()),
    ).fetchone()[0]
    conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(event_id)))
    return event_id
