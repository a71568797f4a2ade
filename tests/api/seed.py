"""A small hand-made plant for the API tests, so expected answers can be worked out by hand:
four assets, their dispatch history with known stops, pump signals with a vibration ramp
before the bearing stops, an alarm, an incident, three days of risk scores and the alerts the
real alert machine opens from them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import psycopg

from precursor.core.registry import upsert_assets
from precursor.core.settings import Settings
from services.predict.scorer import ScoredBatch, Scorer

T0 = datetime(2026, 3, 1, tzinfo=UTC)
THRESHOLD = 0.1  # the alert threshold p* the seeded scores were rated with
# The alert the seeded scores open on P-01 as its risk climbs (at 0.8 p*, criticality 4).
P01_ALERT = "P-01-20260309T034500Z"
MODEL_VERSION = "1"


def at(day: float, hour: float = 0.0) -> datetime:
    """T0 + days + hours."""
    return T0 + timedelta(days=day, hours=hour)


ASSETS = [
    {"asset_id": "P-01", "name": "Pump 1", "kind": "pump", "site": "S1", "area": "A",
     "criticality": 4},
    {"asset_id": "P-02", "name": "Pump 2", "kind": "pump", "site": "S1", "area": "A",
     "criticality": 2},
    {"asset_id": "C-01", "name": "Conveyor 1", "kind": "conveyor", "site": "S1", "area": "B",
     "criticality": 5},
    {"asset_id": "F-01", "name": "Fan 1", "kind": "fan", "site": "S2", "area": "C",
     "criticality": 3},
]  # fmt: skip

# (event_id, asset, ts, state, planned, reason_code, crew)
DISPATCH = [
    ("P01-1", "P-01", at(0), "running", False, None, "A"),
    ("P01-2", "P-01", at(2, 10), "down", False, "BEARING", "A"),
    ("P01-3", "P-01", at(2, 13), "running", False, None, "A"),
    ("P01-4", "P-01", at(5, 20), "maintenance", True, "PM", "B"),
    ("P01-5", "P-01", at(6), "running", False, None, "B"),
    ("P01-6", "P-01", at(9, 8), "down", False, "BEARING", "C"),
    ("P01-7", "P-01", at(9, 10), "running", False, None, "C"),
    ("P02-1", "P-02", at(0), "running", False, None, "A"),
    ("P02-2", "P-02", at(3, 14), "down", False, "SEAL", "B"),
    ("P02-3", "P-02", at(3, 15), "running", False, None, "B"),
    ("P02-4", "P-02", at(9, 22), "down", False, "ELEC", "D"),
    ("P02-5", "P-02", at(9, 22.5), "running", False, None, "D"),
    ("C01-1", "C-01", at(0), "running", False, None, "A"),
    ("C01-2", "C-01", at(4, 7), "down", False, "BELT", "A"),
    ("C01-3", "C-01", at(4, 13), "running", False, None, "A"),
    ("C01-4", "C-01", at(8, 3), "down", False, "BEARING", "C"),
    ("C01-5", "C-01", at(8, 4.5), "running", False, None, "C"),
    ("F01-1", "F-01", at(0), "running", False, None, "A"),
    ("F01-2", "F-01", at(7, 12), "idle", False, None, "B"),
    ("F01-3", "F-01", at(7, 14), "running", False, None, "B"),
]
END = at(10)  # signals and scores run to here

RAMP_H = 12.0  # pump signals drift for this long before an unplanned stop


def stops() -> list[dict]:
    """Down / maintenance intervals derived from DISPATCH here, independently of the SQL."""
    out = []
    by_asset: dict[str, list] = {}
    for e in DISPATCH:
        by_asset.setdefault(e[1], []).append(e)
    for events in by_asset.values():
        events.sort(key=lambda e: (e[2], e[0]))
        for i, e in enumerate(events):
            if e[3] in ("down", "maintenance"):
                end = events[i + 1][2] if i + 1 < len(events) else None
                out.append(
                    {"event_id": e[0], "asset_id": e[1], "started_at": e[2], "ended_at": end,
                     "planned": e[4], "reason_code": e[5], "crew": e[6]}
                )  # fmt: skip
    return out


def _signals() -> list[tuple]:
    """10-minute pump samples: vibration ramps before P-01's bearing stops, bearing
    temperature before P-02's seal stop; otherwise steady with noise."""
    rng = np.random.default_rng(7)
    ramps = {
        ("P-01", "vibration"): [at(2, 10), at(9, 8)],
        ("P-02", "bearing_temp"): [at(3, 14)],
    }
    base = {"vibration": (2.0, 0.1, 1.5), "bearing_temp": (60.0, 1.0, 12.0)}
    rows = []
    n = int((END - T0).total_seconds() // 600)
    times = [T0 + timedelta(minutes=10 * i) for i in range(n)]
    for asset in ("P-01", "P-02"):
        for tag, (mean, std, rise) in base.items():
            values = mean + std * rng.standard_normal(n)
            for stop in ramps.get((asset, tag), []):
                for i, t in enumerate(times):
                    h = (stop - t).total_seconds() / 3600
                    if 0 < h <= RAMP_H:
                        values[i] += rise * (1 - h / RAMP_H)
            rows += [(t, asset, tag, float(v), "good") for t, v in zip(times, values, strict=True)]
    return rows


def _probability(asset: str, t: datetime) -> float:
    """P-01 climbs through day 8 to day 9; P-02 has one short spike (opens and closes an
    alert); C-01 sits just high enough for a critical asset; F-01 stays low."""
    h = (t - at(7)).total_seconds() / 3600
    if asset == "P-01":
        return float(min(0.02 + 0.4 * max(0.0, h - 24) / 24, 0.42))
    if asset == "P-02":
        return 0.3 if 6 <= h < 7 else 0.01
    if asset == "C-01":
        return 0.07 if h >= 36 else 0.02
    return 0.01


def seed(url: str) -> None:
    """Write the plant into a migrated, empty database."""
    settings = Settings(database_url=url, data_dir=".")  # type: ignore[arg-type]
    scorer = Scorer(settings)
    scorer.version = MODEL_VERSION
    matrix = scorer.policy.matrix
    with psycopg.connect(url) as conn:
        upsert_assets(conn, ASSETS)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dispatch_events (event_id, asset_id, ts, state, planned, "
                "reason_code, crew) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                DISPATCH,
            )
            with cur.copy(
                "COPY signal_samples (ts, asset_id, tag, value, quality) FROM STDIN"
            ) as copy:
                for row in _signals():
                    copy.write_row(row)
            cur.execute(
                "INSERT INTO alarms (ts, asset_id, tag, kind, priority, state, code) VALUES "
                "(%s, 'P-01', 'vibration', 'HI', 2, 'active', 'VIB-HI'), "
                "(%s, 'P-01', 'vibration', 'HI', 2, 'cleared', 'VIB-HI')",
                (at(9, 6), at(9, 7)),
            )
            cur.execute(
                "INSERT INTO incidents (incident_id, ts, asset_id, kind, severity, description) "
                "VALUES ('INC-1', %s, 'C-01', 'near_miss', 3, 'belt tracking')",
                (at(4, 9),),
            )
        # Three days of scores, rated by the real matrix and run through the real machine.
        times = [at(7) + timedelta(minutes=15 * i) for i in range(3 * 96)]
        crit = {a["asset_id"]: a["criticality"] for a in ASSETS}
        rows = [(t, a["asset_id"]) for t in times for a in ASSETS]
        prob = np.array([_probability(a, t) for t, a in rows])
        lik = matrix.likelihood(prob, THRESHOLD)
        cons = np.array([crit[a] for _, a in rows])
        rating = matrix.rating(lik, cons)
        contrib = [
            [{"signal": "vibration", "contribution": 0.8}, {"signal": "dispatch", "contribution":
             0.1}] if r in ("high", "critical") else None
            for r in rating
        ]  # fmt: skip
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO risk_scores (ts, asset_id, model_version, horizon_s, probability, "
                "likelihood, consequence, rating, contributions) "
                "VALUES (%s, %s, %s, 86400, %s, %s, %s, %s, %s)",
                [
                    (t, a, MODEL_VERSION, float(p), int(li), int(c), str(r),
                     psycopg.types.json.Jsonb(k) if k else None)
                    for (t, a), p, li, c, r, k in zip(rows, prob, lik, cons, rating, contrib,
                                                      strict=True)
                ],
            )  # fmt: skip
        x = pl.DataFrame({"t": [t for t, _ in rows], "asset_id": [a for _, a in rows]})
        scorer.advance_alerts(conn, ScoredBatch(x, prob, lik, cons, rating, contrib).rows())
        conn.commit()


@contextmanager
def registered_champion(url: str) -> Iterator[None]:
    """The seed's model as the registry sync would record it (champion, threshold p*), for the
    duration of a test: the alert level needs both."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO model_versions (version, champion, threshold) VALUES (%s, true, %s)",
            (MODEL_VERSION, THRESHOLD),
        )
    try:
        yield
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM model_versions")
