"""Schemathesis over /openapi.json of the live API (real database, admin key): bounded
examples per operation, zero server errors and responses that match the declared schemas."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from precursor.core.settings import Settings
from services.api.app import create_app
from services.api.keys import create_key
from tests.helpers import live_api

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(api_settings) -> Iterator[str]:
    """The API served over HTTP."""
    with live_api(create_app(api_settings)) as base:
        yield base


@pytest.fixture(scope="module")
def admin_key(api_db: str) -> str:
    """An admin key, so every operation gets past auth and exercises its handler."""
    with psycopg.connect(api_db) as conn:
        return create_key(conn, "schemathesis", "admin")[1]


# Built without connecting: the app's OpenAPI document is the one it serves. The endless
# event stream is covered by its own test.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi()).exclude(
    path="/v1/alerts/stream"
)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_answers_5xx_and_matches_its_schema(case, live: str, admin_key: str) -> None:
    case.call_and_validate(
        base_url=live,
        headers={"Authorization": f"Bearer {admin_key}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
