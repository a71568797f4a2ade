"""The risk register: fed by alert openings, rated by the matrix, versioned, audited."""

from __future__ import annotations

import psycopg

from models.rating import RiskMatrix
from services.register.store import feed_alert
from tests.api.conftest import auth
from tests.api.seed import MODEL_VERSION, P01_ALERT


def _create(client, keys, **extra) -> dict:
    body = {"title": "Fall from height at chute", "hazard": "fall", "area": "B",
            "likelihood": 4, "consequence": 4, **extra}  # fmt: skip
    r = client.post("/v1/risk-register", headers=auth(keys["hse"]), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_alert_openings_created_entries_linked_to_their_alerts(client, keys) -> None:
    items = client.get("/v1/risk-register?asset_id=P-01", headers=auth(keys["operator"])).json()[
        "items"
    ]
    assert len(items) == 1
    e = items[0]
    assert e["source"] == "alert" and e["hazard"] == "equipment failure"
    assert e["alert_ids"] == [P01_ALERT]
    history = client.get(
        f"/v1/risk-register/{e['entry_id']}/history", headers=auth(keys["operator"])
    ).json()
    assert [h["action"] for h in history] == ["created", "alert_linked"]
    assert history[1]["after"]["alert_ids"] == e["alert_ids"]
    # P-02's alert opened and closed, C-01's is open: one entry each, three in all.
    all_items = client.get("/v1/risk-register", headers=auth(keys["hse"])).json()["items"]
    assert sorted(i["asset_id"] for i in all_items if i["source"] == "alert") == [
        "C-01", "P-01", "P-02"
    ]  # fmt: skip


def test_create_derives_rating_from_the_matrix(client, keys) -> None:
    e = _create(client, keys)
    assert (e["rating"], e["residual_rating"], e["status"], e["version"]) == (
        "high",
        "high",
        "identified",
        1,
    )  # fmt: skip 4 x 4 = 16: high (bands 5, 10, 20)
    assert e["created_by"] == "hse-tester"
    low = _create(client, keys, likelihood=1, consequence=2)
    assert low["rating"] == "low"
    crit = _create(client, keys, likelihood=5, consequence=4)
    assert crit["rating"] == "critical"


def test_done_measures_lower_the_residual_rating(client, keys) -> None:
    e = _create(
        client, keys,
        measures=[{"description": "install guard rail", "reduces": "likelihood", "steps": 2}],
    )  # fmt: skip
    assert e["residual_rating"] == "high"
    measures = e["measures"]
    measures[0]["status"] = "done"
    r = client.patch(
        f"/v1/risk-register/{e['entry_id']}",
        headers=auth(keys["hse"]),
        json={"version": e["version"], "measures": measures, "status": "mitigating"},
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["residual_likelihood"], after["residual_consequence"]) == (2, 4)
    assert after["residual_rating"] == "medium" and after["rating"] == "high"


def test_stale_version_is_409_and_changes_nothing(client, keys) -> None:
    e = _create(client, keys)
    url = f"/v1/risk-register/{e['entry_id']}"
    h = auth(keys["hse"])
    ok = client.patch(url, headers=h, json={"version": 1, "owner": "alice"})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.patch(url, headers=h, json={"version": 1, "owner": "bob"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    assert client.get(url, headers=h).json()["owner"] == "alice"


def test_status_workflow_forward_and_reopen(client, keys) -> None:
    e = _create(client, keys)
    url = f"/v1/risk-register/{e['entry_id']}"
    h = auth(keys["hse"])
    v = e["version"]
    for status in ("assessed", "mitigating", "closed", "identified"):
        r = client.patch(url, headers=h, json={"version": v, "status": status})
        assert r.status_code == 200, (status, r.text)
        v = r.json()["version"]
    back = client.patch(url, headers=h, json={"version": v, "status": "assessed"})
    assert back.status_code == 200
    v = back.json()["version"]
    backwards = client.patch(url, headers=h, json={"version": v, "status": "identified"})
    assert backwards.status_code == 409


def test_history_records_every_change_with_who_and_before_after(client, keys) -> None:
    e = _create(client, keys)
    url = f"/v1/risk-register/{e['entry_id']}"
    h = auth(keys["hse"])
    client.patch(url, headers=h, json={"version": 1, "owner": "carol"})
    client.patch(url, headers=h, json={"version": 2, "likelihood": 2, "due_date": "2026-12-01"})
    client.patch(url, headers=h, json={"version": 1, "owner": "stale"})  # refused: not audited
    history = client.get(f"{url}/history", headers=auth(keys["operator"])).json()
    assert [(x["action"], x["version"], x["actor"]) for x in history] == [
        ("created", 1, "hse-tester"), ("updated", 2, "hse-tester"), ("updated", 3, "hse-tester"),
    ]  # fmt: skip
    assert history[0]["before"] is None
    assert history[1]["before"]["owner"] is None and history[1]["after"]["owner"] == "carol"
    assert history[2]["before"]["likelihood"] == 4 and history[2]["after"]["likelihood"] == 2
    assert history[2]["after"]["rating"] == "medium"  # 2 x 4 = 8
    assert history[2]["after"]["due_date"] == "2026-12-01"


def test_register_input_errors_are_json_4xx(client, keys) -> None:
    h = auth(keys["hse"])
    bad = [
        {"title": "x", "hazard": "y", "likelihood": 6, "consequence": 1},
        {"title": "x", "hazard": "y", "likelihood": 1},
        {"title": "", "hazard": "y", "likelihood": 1, "consequence": 1},
        {"title": "x", "hazard": "y", "likelihood": 1, "consequence": 1, "colour": "red"},
    ]
    for body in bad:
        r = client.post("/v1/risk-register", headers=h, json=body)
        assert r.status_code == 422, body
        assert r.json()["error"]["code"] == "invalid"
    e = _create(client, keys)
    r = client.patch(
        f"/v1/risk-register/{e['entry_id']}", headers=h, json={"version": 1, "title": None}
    )
    assert r.status_code == 422
    assert client.get("/v1/risk-register/RR-999999", headers=h).status_code == 404
    missing = client.patch("/v1/risk-register/RR-999999", headers=h, json={"version": 1})
    assert missing.status_code == 404


def test_an_alert_entry_title_names_signals_not_the_assets_context(api_db: str) -> None:
    contributions = [
        {"signal": s, "contribution": c}
        for s, c in [("context:kind", 0.9), ("fan_vibration", 0.6), ("context:hour", 0.4),
                     ("alarms:HI", 0.3), ("dispatch:unplanned_stops_24h", 0.2), ("hse", 0.1)]
    ]  # fmt: skip
    alert = {"alert_id": "F-01-probe", "asset_id": "F-01", "model_version": MODEL_VERSION,
             "contributions": contributions}  # fmt: skip
    with psycopg.connect(api_db) as conn:
        conn.execute(
            "INSERT INTO alerts (alert_id, asset_id, opened_at, updated_at, status, rating, "
            "peak_rating, probability, model_version) "
            "VALUES ('F-01-probe', 'F-01', now(), now(), 'open', 'high', 'high', 0.5, %s)",
            (MODEL_VERSION,),
        )
        entry_id = feed_alert(conn, alert, 4, 3, RiskMatrix())
        title = conn.execute(
            "SELECT title FROM risk_register WHERE entry_id = %s", (entry_id,)
        ).fetchone()[0]
        conn.rollback()  # the module's other tests see the seed as it was
    assert title == (
        "Fan 1: early warning of failure (fan_vibration, alarms:HI, dispatch:unplanned_stops_24h)"
    )
