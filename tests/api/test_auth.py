"""Keys and roles: 401 / 403 with the JSON error body, and every cell of the spec's route x
role matrix."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from services.api.keys import ROLES, create_key, list_keys, revoke_key
from tests.api.conftest import auth
from tests.api.seed import P01_ALERT

ANY = set(ROLES)
ALERT = P01_ALERT  # opened by the seeded scores

# The spec's HTTP API table (SPEC.md), with the outcome route; admin can do everything.
MATRIX = [
    ("GET", "/v1/assets", ANY),
    ("GET", "/v1/assets/P-01", ANY),
    ("GET", "/v1/assets/P-01/risk", ANY),
    ("GET", "/v1/assets/P-01/signals", ANY),
    ("GET", "/v1/forecast", {"hse", "reliability", "admin"}),
    ("GET", "/v1/alerts", ANY),
    ("GET", f"/v1/alerts/{ALERT}", ANY),
    ("POST", f"/v1/alerts/{ALERT}/ack", {"operator", "admin"}),
    ("POST", f"/v1/alerts/{ALERT}/outcome", {"reliability", "hse", "admin"}),
    ("GET", "/v1/risk-register", ANY),
    ("POST", "/v1/risk-register", {"hse", "admin"}),
    ("GET", "/v1/risk-register/{entry}", ANY),
    ("PATCH", "/v1/risk-register/{entry}", {"hse", "admin"}),
    ("GET", "/v1/risk-register/{entry}/history", ANY),
    ("GET", "/v1/downtime", {"reliability", "hse", "admin"}),
    ("GET", "/v1/downtime/pareto", {"reliability", "hse", "admin"}),
    ("GET", "/v1/downtime/P01-6/root-cause", {"reliability", "admin"}),
    ("POST", "/v1/downtime/P01-6/rca", {"reliability", "admin"}),
    ("GET", "/v1/downtime/P01-6/rca", {"reliability", "admin"}),
    ("POST", "/v1/incidents", {"hse", "admin"}),
    ("GET", "/v1/incidents", {"hse", "admin"}),
    ("GET", "/v1/kpis", {"hse", "admin"}),
    ("GET", "/v1/models", ANY),
    ("GET", "/v1/me", ANY),
]


def _body(method: str, path: str, client, keys) -> dict | None:
    """A valid body for the mutating routes, so only the role can make them fail."""
    if path.endswith("/ack"):
        return {"comment": "seen"}
    if path.endswith("/outcome"):
        return {"outcome": "true_positive"}
    if path == "/v1/risk-register" and method == "POST":
        return {"title": "Hot work near conveyor", "hazard": "fire", "likelihood": 2,
                "consequence": 4}  # fmt: skip
    if method == "PATCH":
        version = client.get(path, headers=auth(keys["admin"])).json()["version"]
        return {"version": version, "owner": "hse-lead"}
    if path.endswith("/rca"):
        return {"five_whys": [{"why": "bearing failed", "because": "no grease"}]}
    if path == "/v1/incidents":
        return {"incident_id": f"INC-{uuid.uuid4().hex[:8]}", "asset_id": "C-01",
                "ts": "2026-03-09T10:00:00Z", "kind": "near_miss", "severity": 2}  # fmt: skip
    return None


@pytest.fixture(scope="module")
def entry(client, keys) -> str:
    """A register entry to read and patch."""
    r = client.post(
        "/v1/risk-register",
        headers=auth(keys["hse"]),
        json={"title": "Dust", "hazard": "exposure", "likelihood": 3, "consequence": 2},
    )
    assert r.status_code == 201, r.text
    return r.json()["entry_id"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX]
)
def test_route_role_matrix_cell_allows_or_forbids(
    client, keys, entry, method, path, allowed, role
) -> None:
    path = path.format(entry=entry)
    r = client.request(
        method, path, headers=auth(keys[role]), json=_body(method, path, client, keys)
    )
    if role in allowed:
        assert r.status_code not in (401, 403), r.text
        assert r.status_code < 500, r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("method", "path", "allowed"), [*MATRIX, ("GET", "/v1/alerts/stream", ANY)]
)
def test_every_v1_route_without_key_is_401_json(client, entry, method, path, allowed) -> None:
    r = client.request(method, path.format(entry=entry))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_and_malformed_keys_are_401(client) -> None:
    for header in ("Bearer prc_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500):
        r = client.get("/v1/assets", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["error"]["code"] == "unauthorized"


def test_revoked_key_is_refused_and_listing_never_shows_secrets(client, api_db) -> None:
    with psycopg.connect(api_db) as conn:
        key_id, secret = create_key(conn, "temporary", "operator")
    assert client.get("/v1/assets", headers=auth(secret)).status_code == 200
    with psycopg.connect(api_db) as conn:
        revoke_key(conn, key_id)
        listed = {k["key_id"]: k for k in list_keys(conn)}
        stored = conn.execute("SELECT key_hash FROM api_keys WHERE key_id = %s", (key_id,))
        assert secret.encode() not in stored.fetchone()[0]
    assert listed[key_id]["revoked_at"] is not None
    assert listed[key_id]["last_used_at"] is not None
    assert "secret" not in listed[key_id] and secret not in str(listed)
    r = client.get("/v1/assets", headers=auth(secret))
    assert r.status_code == 401


def test_health_and_metrics_need_no_key(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
