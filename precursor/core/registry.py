"""The asset registry (assets table): upserts from simulators, replays and the API."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
import psycopg

FIELDS = ("asset_id", "name", "kind", "site", "area", "criticality", "attributes")


def upsert_assets(conn: psycopg.Connection, records: Iterable[dict]) -> int:
    """Insert or update assets by asset_id; returns how many records were given."""
    rows = [
        (r["asset_id"], r.get("name"), r.get("kind"), r.get("site"), r.get("area"),
         int(r.get("criticality", 3)), orjson.dumps(r.get("attributes", {})).decode())
        for r in records
    ]  # fmt: skip
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO assets (asset_id, name, kind, site, area, criticality, attributes) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb) "
            "ON CONFLICT (asset_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, "
            "site = EXCLUDED.site, area = EXCLUDED.area, criticality = EXCLUDED.criticality, "
            "attributes = EXCLUDED.attributes",
            rows,
        )
    conn.commit()
    return len(rows)
