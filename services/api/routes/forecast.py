"""GET /v1/forecast: assets ranked by risk for a horizon, with trend and an area summary."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Request, Response
from psycopg.rows import dict_row

from models.rating import RANK
from services.api.deps import AnalystCaller, Pool
from services.api.params import Horizon, TextFilter
from services.api.schemas.assets import Forecast
from services.api.schemas.common import ERRORS

router = APIRouter(prefix="/v1/forecast", tags=["forecast"], responses=ERRORS)

TREND_DAY_SQL = """
SELECT a.asset_id, a.name, a.kind, a.site, a.area, r.ts, r.probability, r.likelihood,
       r.consequence, r.rating, r.horizon_s, p.probability AS previous, al.alert_id
FROM assets a
JOIN LATERAL (
    SELECT * FROM risk_scores s WHERE s.asset_id = a.asset_id ORDER BY s.ts DESC LIMIT 1
) r ON true
LEFT JOIN LATERAL (
    SELECT probability FROM risk_scores s
    WHERE s.asset_id = a.asset_id AND s.ts <= r.ts - interval '24 hours'
    ORDER BY s.ts DESC LIMIT 1
) p ON true
LEFT JOIN alerts al ON al.asset_id = a.asset_id AND al.closed_at IS NULL
WHERE (%(site)s::text IS NULL OR a.site = %(site)s)
  AND (%(area)s::text IS NULL OR a.area = %(area)s)
"""


def over_horizon(p: float, model_h: float, horizon_h: float) -> float:
    """P(incident within horizon_h) from the model's P(within model_h), assuming a constant
    hazard over the horizon: 1 - (1 - p)^(h / H)."""
    return 1.0 - (1.0 - min(max(p, 0.0), 1.0)) ** (horizon_h / model_h)


def trend(now: float, before: float | None) -> str:
    """'rising' / 'falling' by a fifth or more (and half a point), else 'steady'; 'new' when
    there is no score 24 h earlier."""
    if before is None:
        return "new"
    if now >= before * 1.2 + 0.005:
        return "rising"
    if now <= before / 1.2 - 0.005:
        return "falling"
    return "steady"


@router.get("", response_model=Forecast, summary="Assets ranked by risk for a horizon")
async def forecast(
    request: Request,
    pool: Pool,
    _: AnalystCaller,
    horizon: Horizon,
    site: TextFilter = None,
    area: TextFilter = None,
) -> Response:
    """Largest risk first (likelihood x consequence, then probability), with the trend
    against 24 h earlier and each area's worst rating."""

    def compute() -> dict:
        with pool.connection() as conn:
            return ranked(conn, horizon, site, area)

    generation = request.app.state.hub.generation()
    return await request.app.state.cache.respond(
        ("forecast", horizon, site, area), generation, compute
    )


def ranked(conn: psycopg.Connection, horizon: float, site: str | None, area: str | None) -> dict:
    """The forecast document."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(TREND_DAY_SQL, {"site": site, "area": area})
        .fetchall()
    )
    items, model_h = [], None
    for r in rows:
        model_h = r["horizon_s"] / 3600
        p = over_horizon(r["probability"], model_h, horizon)
        prev = None if r["previous"] is None else over_horizon(r["previous"], model_h, horizon)
        items.append(
            {
                "asset_id": r["asset_id"],
                "name": r["name"],
                "kind": r["kind"],
                "site": r["site"],
                "area": r["area"],
                "ts": r["ts"].isoformat(),
                "probability": round(p, 6),
                "rating": r["rating"],
                "likelihood": r["likelihood"],
                "consequence": r["consequence"],
                "previous_probability": None if prev is None else round(prev, 6),
                "trend": trend(p, prev),
                "open_alert_id": r["alert_id"],
            }
        )
    items.sort(
        key=lambda i: (-i["likelihood"] * i["consequence"], -i["probability"], i["asset_id"])
    )
    return {
        "horizon_h": horizon,
        "model_horizon_h": model_h,
        "items": items,
        "areas": _areas(items),
    }


def _areas(items: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for i in items:
        groups.setdefault((i["site"], i["area"]), []).append(i)
    out = [
        {
            "site": site,
            "area": area,
            "assets": len(g),
            "worst_rating": max((i["rating"] for i in g), key=RANK.__getitem__),
            "high_or_critical": sum(i["rating"] in ("high", "critical") for i in g),
            "max_probability": max(i["probability"] for i in g),
        }
        for (site, area), g in groups.items()
    ]
    out.sort(key=lambda a: (-RANK[a["worst_rating"]], -a["max_probability"]))
    return out
