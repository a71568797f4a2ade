"""The model registry as the API serves it, read from `model_versions` (kept by `train` and
the scorer), so the API process needs no MLflow client."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

MODEL_NAME = "precursor-risk"


def models_snapshot(conn: psycopg.Connection) -> dict:
    """Versions newest first, the champion, and why not ready when there is none."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT version, champion, created_at, run_id, metrics, threshold FROM model_versions "
            "ORDER BY length(version) DESC, version DESC"
        )
        .fetchall()
    )
    champion = next((r["version"] for r in rows if r["champion"]), None)
    detail = None if champion else {"error": "no champion model registered yet"}
    return {"name": MODEL_NAME, "champion": champion, "versions": rows, "detail": detail}
