"""GET /v1/assets, /v1/assets/{asset_id} and its risk history."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from psycopg.rows import dict_row

from models.rating import consequence
from precursor.core.errors import InvalidInput, NotFound
from services.api.deps import Caller, Conn, Matrix, SettingsDep
from services.api.params import AssetId, TimeWindow
from services.api.schemas.assets import AssetPublic, RiskHistory, SignalSeries
from services.api.schemas.common import ERRORS

router = APIRouter(prefix="/v1/assets", tags=["assets"], responses=ERRORS)

LATEST_SQL = """
SELECT a.asset_id, a.name, a.kind, a.site, a.area, a.criticality,
       r.ts, r.probability, r.likelihood, r.consequence, r.rating, r.model_version,
       r.contributions
FROM assets a
LEFT JOIN LATERAL (
    SELECT * FROM risk_scores s WHERE s.asset_id = a.asset_id ORDER BY s.ts DESC LIMIT 1
) r ON true
"""
POINT = (
    "ts",
    "probability",
    "likelihood",
    "consequence",
    "rating",
    "model_version",
    "contributions",
)


def asset_public(row: dict) -> dict:
    """Registry columns plus the latest score (or null when never scored)."""
    out = {k: row[k] for k in ("asset_id", "name", "kind", "site", "area", "criticality")}
    out["latest"] = {k: row[k] for k in POINT} if row["ts"] is not None else None
    return out


@router.get("", response_model=list[AssetPublic], summary="Assets with their latest risk")
def list_assets(conn: Conn, _: Caller) -> list[dict]:
    """Every asset in the registry, by id, with its latest risk score."""
    rows = conn.cursor(row_factory=dict_row).execute(LATEST_SQL + " ORDER BY a.asset_id")
    return [asset_public(r) for r in rows]


@router.get("/{asset_id}", response_model=AssetPublic, summary="One asset with its latest risk")
def get_asset(asset_id: AssetId, conn: Conn, _: Caller) -> dict:
    """One asset; 404 when unknown."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(LATEST_SQL + " WHERE a.asset_id = %s", (asset_id,))
        .fetchone()
    )
    if row is None:
        raise NotFound(f"asset {asset_id} not found")
    return asset_public(row)


@router.get("/{asset_id}/risk", response_model=RiskHistory, summary="Risk score history")
def risk_history(
    asset_id: AssetId,
    window: TimeWindow,
    conn: Conn,
    _: Caller,
    matrix: Matrix,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="at most this many points")] = 2000,
) -> dict:
    """Scores with contributions, oldest first. Without `from`, the 7 days before `to` (or
    before the latest score)."""
    found = conn.execute(
        "SELECT a.criticality, (SELECT threshold FROM model_versions WHERE champion) "
        "FROM assets a WHERE a.asset_id = %s",
        (asset_id,),
    ).fetchone()
    if found is None:
        raise NotFound(f"asset {asset_id} not found")
    criticality, threshold = found
    level = (
        None
        if threshold is None
        else matrix.level_for(settings.alert_open_rating, int(consequence(criticality)), threshold)
    )
    end = window.end
    start = window.start
    if start is None:
        anchor = (
            end
            or conn.execute(
                "SELECT max(ts) FROM risk_scores WHERE asset_id = %s", (asset_id,)
            ).fetchone()[0]
        )
        if anchor is None:
            return {"asset_id": asset_id, "points": [], "alert_level": level}
        start = anchor - timedelta(days=7)
        end = end or anchor + timedelta(microseconds=1)
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT * FROM (SELECT ts, probability, likelihood, consequence, rating, "
            "model_version, contributions FROM risk_scores WHERE asset_id = %s AND ts >= %s "
            "AND (%s::timestamptz IS NULL OR ts < %s) ORDER BY ts DESC LIMIT %s) s ORDER BY ts",
            (asset_id, start, end, end, limit),
        )
        .fetchall()
    )
    return {"asset_id": asset_id, "points": rows, "alert_level": level}


@router.get("/{asset_id}/signals", response_model=SignalSeries, summary="Signals over a window")
def signals(
    asset_id: AssetId,
    window: TimeWindow,
    conn: Conn,
    _: Caller,
    points: Annotated[int, Query(ge=10, le=2000, description="about this many per tag")] = 300,
) -> dict:
    """Each tag's mean, min and max per time bucket, sized so a tag has about `points` of them.
    The window defaults to the 24 h before `to` (or before the newest sample) and may span at
    most 7 days."""
    if conn.execute("SELECT 1 FROM assets WHERE asset_id = %s", (asset_id,)).fetchone() is None:
        raise NotFound(f"asset {asset_id} not found")
    end = (
        window.end
        or conn.execute(
            "SELECT max(ts) + interval '1 microsecond' FROM signal_samples WHERE asset_id = %s",
            (asset_id,),
        ).fetchone()[0]
    )
    if end is None:
        return {"asset_id": asset_id, "bucket_s": 0, "series": []}
    start = window.start or end - timedelta(hours=24)
    if end - start > timedelta(days=7):
        raise InvalidInput("a signal window may span at most 7 days")
    bucket = max(60, int((end - start).total_seconds() / points))
    rows = conn.execute(
        "SELECT tag, date_bin(make_interval(secs => %s), ts, '2000-01-01'::timestamptz) AS b, "
        "avg(value), min(value), max(value) FROM signal_samples "
        "WHERE asset_id = %s AND ts >= %s AND ts < %s GROUP BY tag, b ORDER BY tag, b",
        (bucket, asset_id, start, end),
    ).fetchall()
    series: dict[str, list] = {}
    for tag, b, mean, lo, hi in rows:
        series.setdefault(tag, []).append([b, mean, lo, hi])
    return {
        "asset_id": asset_id,
        "bucket_s": bucket,
        "series": [{"tag": t, "points": p} for t, p in series.items()],
    }
