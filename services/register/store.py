"""The HSE risk register in the database: entries, measures, alert links and the audit trail.

Shared by the API (people edit entries) and the scorer (alert openings feed entries), so both
write the same history in the same transaction as the change."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from models.rating import RiskMatrix
from precursor.core.errors import Conflict, NotFound

STATUSES = ("identified", "assessed", "mitigating", "closed")
# The hazard the model warns about; an asset's open entry for it collects its alerts.
MODEL_HAZARD = "equipment failure"
EDITABLE = (
    "title",
    "hazard",
    "asset_id",
    "area",
    "likelihood",
    "consequence",
    "status",
    "owner",
    "due_date",
    "measures",
)
COLUMNS = (
    "entry_id",
    "title",
    "hazard",
    "asset_id",
    "area",
    "likelihood",
    "consequence",
    "rating",
    "residual_rating",
    "status",
    "owner",
    "due_date",
    "measures",
    "source",
    "version",
    "created_at",
    "created_by",
    "updated_at",
)


def allowed_transition(old: str, new: str) -> bool:
    """Forward along identified -> assessed -> mitigating -> closed, or reopen a closed entry."""
    if old == new:
        return True
    if old == "closed":
        return True
    return STATUSES.index(new) > STATUSES.index(old)


def residual(
    likelihood: int, consequence: int, measures: list[dict], matrix: RiskMatrix
) -> tuple[int, int, str]:
    """Residual likelihood, consequence and rating after the measures that are done."""
    cut = {"likelihood": 0, "consequence": 0}
    for m in measures:
        if m.get("status") == "done":
            cut[m.get("reduces", "likelihood")] += int(m.get("steps", 1))
    rl = max(1, likelihood - cut["likelihood"])
    rc = max(1, consequence - cut["consequence"])
    return rl, rc, str(matrix.rating(rl, rc))


def get_entry(conn: psycopg.Connection, entry_id: str, *, lock: bool = False) -> dict | None:
    """One entry with its linked alerts, or None."""
    query = sql.SQL("SELECT {} FROM risk_register WHERE entry_id = %s{}").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.SQL(" FOR UPDATE") if lock else sql.SQL(""),
    )
    row = conn.cursor(row_factory=dict_row).execute(query, (entry_id,)).fetchone()
    if row is None:
        return None
    row["alert_ids"] = [
        r[0]
        for r in conn.execute(
            "SELECT alert_id FROM risk_register_alerts WHERE entry_id = %s ORDER BY linked_at, "
            "alert_id",
            (entry_id,),
        )
    ]
    return row


def _jsonable(entry: dict) -> dict:
    out = {}
    for k, v in entry.items():
        out[k] = v.isoformat() if isinstance(v, datetime | date) else v
    return out


def _history(
    conn: psycopg.Connection,
    entry_id: str,
    version: int,
    actor: str,
    action: str,
    before: dict | None,
    after: dict,
) -> None:
    conn.execute(
        "INSERT INTO risk_register_history (entry_id, version, actor, action, before, after) "
        "VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb)",
        (
            entry_id,
            version,
            actor,
            action,
            orjson.dumps(_jsonable(before)).decode() if before is not None else None,
            orjson.dumps(_jsonable(after)).decode(),
        ),
    )


def create_entry(
    conn: psycopg.Connection,
    data: dict[str, Any],
    actor: str,
    matrix: RiskMatrix,
    *,
    source: str = "manual",
) -> dict:
    """Insert an entry (rating and residual derived), record 'created'; returns the entry."""
    measures = data.get("measures") or []
    lik, cons = int(data["likelihood"]), int(data["consequence"])
    _, _, residual_rating = residual(lik, cons, measures, matrix)
    entry_id = conn.execute(
        "INSERT INTO risk_register (title, hazard, asset_id, area, likelihood, consequence, "
        "rating, residual_rating, status, owner, due_date, measures, source, created_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s) "
        "RETURNING entry_id",
        (
            data["title"],
            data["hazard"],
            data.get("asset_id"),
            data.get("area"),
            lik,
            cons,
            str(matrix.rating(lik, cons)),
            residual_rating,
            data.get("status") or "identified",
            data.get("owner"),
            data.get("due_date"),
            orjson.dumps(measures).decode(),
            source,
            actor,
        ),
    ).fetchone()[0]
    entry = get_entry(conn, entry_id)
    assert entry is not None
    _history(conn, entry_id, 1, actor, "created", None, entry)
    return entry


def update_entry(
    conn: psycopg.Connection,
    entry_id: str,
    changes: dict[str, Any],
    expected_version: int,
    actor: str,
    matrix: RiskMatrix,
) -> dict:
    """Apply a partial update if `expected_version` is current; record before/after."""
    before = get_entry(conn, entry_id, lock=True)
    if before is None:
        raise NotFound(f"risk register entry {entry_id} not found")
    if before["version"] != expected_version:
        raise Conflict(
            f"entry {entry_id} is at version {before['version']}, not {expected_version}: "
            "reload it and apply your change again"
        )
    new = {k: before[k] for k in EDITABLE} | {k: v for k, v in changes.items() if k in EDITABLE}
    if not allowed_transition(before["status"], new["status"]):
        raise Conflict(f"status cannot go from {before['status']} to {new['status']}")
    lik, cons = int(new["likelihood"]), int(new["consequence"])
    _, _, residual_rating = residual(lik, cons, new["measures"], matrix)
    assignments = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in EDITABLE]
    conn.execute(
        sql.SQL(
            "UPDATE risk_register SET {}, rating = %s, residual_rating = %s, "
            "version = version + 1, updated_at = now() WHERE entry_id = %s"
        ).format(sql.SQL(", ").join(assignments)),
        (
            *[orjson.dumps(new[k]).decode() if k == "measures" else new[k] for k in EDITABLE],
            str(matrix.rating(lik, cons)),
            residual_rating,
            entry_id,
        ),
    )
    after = get_entry(conn, entry_id)
    assert after is not None
    _history(conn, entry_id, after["version"], actor, "updated", before, after)
    return after


def feed_alert(
    conn: psycopg.Connection,
    alert: dict,
    likelihood: int,
    consequence: int,
    matrix: RiskMatrix,
) -> str:
    """An alert opened: link it to the asset's open entry for the model's hazard, or create
    one; returns the entry id. Runs in the scorer's transaction that stored the alert."""
    asset_id = alert["asset_id"]
    row = conn.execute(
        "SELECT entry_id FROM risk_register WHERE asset_id = %s AND hazard = %s "
        "AND status <> 'closed' ORDER BY created_at LIMIT 1 FOR UPDATE",
        (asset_id, MODEL_HAZARD),
    ).fetchone()
    actor = f"scorer (model {alert['model_version']})"
    if row is None:
        asset = conn.execute(
            "SELECT coalesce(name, asset_id), area FROM assets WHERE asset_id = %s", (asset_id,)
        ).fetchone() or (asset_id, None)
        # The title names what moved; `context:*` (the asset's kind, the hour, the shift) is
        # how the model reads the asset, not a warning sign an HSE lead can act on.
        named = [c["signal"] for c in alert.get("contributions") or []]
        signals = ", ".join([n for n in named if not n.startswith("context:")][:3])
        title = f"{asset[0]}: early warning of failure" + (f" ({signals})" if signals else "")
        entry = create_entry(
            conn,
            {
                "title": title,
                "hazard": MODEL_HAZARD,
                "asset_id": asset_id,
                "area": asset[1],
                "likelihood": likelihood,
                "consequence": consequence,
            },
            actor,
            matrix,
            source="alert",
        )
        entry_id = entry["entry_id"]
    else:
        entry_id = row[0]
    before = get_entry(conn, entry_id)
    assert before is not None
    inserted = conn.execute(
        "INSERT INTO risk_register_alerts (entry_id, alert_id) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING",
        (entry_id, alert["alert_id"]),
    ).rowcount
    if inserted:
        conn.execute(
            "UPDATE risk_register SET version = version + 1, updated_at = now() "
            "WHERE entry_id = %s",
            (entry_id,),
        )
        after = get_entry(conn, entry_id)
        assert after is not None
        _history(conn, entry_id, after["version"], actor, "alert_linked", before, after)
    return entry_id


def history(conn: psycopg.Connection, entry_id: str) -> list[dict]:
    """The audit trail of one entry, oldest first."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT history_id, version, at, actor, action, before, after "
            "FROM risk_register_history WHERE entry_id = %s ORDER BY history_id",
            (entry_id,),
        )
        .fetchall()
    )
