"""Copy the MLflow registry's versions, champion and run metrics into `model_versions`."""

from __future__ import annotations

import logging
import math

import orjson
import psycopg

from models import registry

logger = logging.getLogger(__name__)


def sync_registry(conn: psycopg.Connection) -> str | None:
    """Replace the snapshot with the registry as it is now; returns the champion version.
    Call after registering or promoting, and whenever the champion moves."""
    versions = registry.versions()
    with conn.transaction():
        conn.execute("DELETE FROM model_versions")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO model_versions (version, champion, created_at, run_id, metrics, "
                "threshold) VALUES (%s, %s, %s, %s, %s::jsonb, %s)",
                [
                    (
                        v["version"],
                        v["champion"],
                        v["created_at"],
                        v["run_id"],
                        orjson.dumps(
                            {k: float(x) for k, x in v["metrics"].items() if math.isfinite(x)}
                        ).decode(),
                        v["threshold"],
                    )
                    for v in versions
                ],
            )
    champion = next((v["version"] for v in versions if v["champion"]), None)
    logger.info("model registry synced: %d versions, champion %s", len(versions), champion)
    return champion
