"""The API against a real PostgreSQL seeded with the hand-made plant, one key per role."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from precursor.core.settings import Settings
from services.api.app import create_app
from services.api.keys import ROLES, create_key
from tests.api.seed import seed
from tests.conftest import drop_database, fresh_database


@pytest.fixture(scope="module")
def api_db(pg_server) -> Iterator[str]:
    """A migrated database with the seeded plant, for one test module."""
    url = fresh_database(pg_server)
    seed(url)
    yield url
    drop_database(pg_server, url)


@pytest.fixture(scope="module")
def api_settings(api_db: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the app: this database, an empty MLflow store, no key cache."""
    tmp = tmp_path_factory.mktemp("api")
    return Settings(
        database_url=SecretStr(api_db),
        data_dir=tmp,
        mlflow_tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
        api_key_cache_s=0,
    )


@pytest.fixture(scope="module")
def keys(api_db: str) -> dict[str, str]:
    """role -> a fresh API key secret."""
    with psycopg.connect(api_db) as conn:
        return {role: create_key(conn, f"{role}-tester", role)[1] for role in ROLES}


@pytest.fixture(scope="module")
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The real app (lifespan included) over the seeded database."""
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as c:
        yield c


def auth(secret: str) -> dict[str, str]:
    """The bearer header for a key."""
    return {"Authorization": f"Bearer {secret}"}
