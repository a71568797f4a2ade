"""The API started while its database is down answers 503 with the JSON error, and serves
again once the database is back, without a restart."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from precursor.core.migrate import migrate
from precursor.core.runtime.postgres import EmbeddedPostgres
from precursor.core.runtime.processes import free_port
from precursor.core.settings import Settings
from services.api.app import create_app
from services.api.keys import create_key
from tests.helpers import live_api, wait_for

pytestmark = pytest.mark.slow


def test_api_started_without_its_database_recovers_when_it_comes_up(tmp_path) -> None:
    pg = EmbeddedPostgres(tmp_path / "own-pg", port=free_port()).start()
    try:
        with psycopg.connect(pg.url) as conn:
            migrate(conn)
            secret = create_key(conn, "outage", "operator")[1]
            conn.commit()
        pg.stop()
        settings = Settings(database_url=SecretStr(pg.url), data_dir=tmp_path, api_key_cache_s=0)
        headers = {"Authorization": f"Bearer {secret}"}
        with live_api(create_app(settings)) as base:
            down = httpx.get(f"{base}/v1/assets", headers=headers, timeout=30)
            assert down.status_code == 503 and down.json()["error"]["code"] == "unavailable"
            assert httpx.get(f"{base}/readyz", timeout=30).status_code == 503
            pg.start()
            wait_for(
                lambda: (
                    httpx.get(f"{base}/v1/assets", headers=headers, timeout=30).status_code == 200
                ),
                60,
                "the API to serve again",
            )
    finally:
        pg.stop()
