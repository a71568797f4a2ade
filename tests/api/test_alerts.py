"""Alerts for operators: newest first, filters, cursor pages, detail, ack, outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from tests.api.conftest import auth
from tests.api.seed import P01_ALERT, at

P01 = P01_ALERT
C01 = "C-01-20260309T120000Z"


def test_alerts_list_newest_first_with_filters(client, keys) -> None:
    h = auth(keys["operator"])
    items = client.get("/v1/alerts", headers=h).json()["items"]
    opened = [a["opened_at"] for a in items]
    assert opened == sorted(opened, reverse=True)
    assert {a["asset_id"] for a in items} == {"P-01", "P-02", "C-01"}
    closed = client.get("/v1/alerts?status=closed", headers=h).json()["items"]
    assert [a["asset_id"] for a in closed] == ["P-02"] and closed[0]["closed_at"] is not None
    # P-02's spike fell below the line at hour 7; the alert closed 4 h (the cool-down) later,
    # with the score that closed it, and still says when the easing began.
    assert (closed[0]["below_since"], closed[0]["closed_at"], closed[0]["rating"]) == (
        at(7, 7).isoformat(), at(7, 11).isoformat(), "low"
    )  # fmt: skip
    assert next(a for a in items if a["asset_id"] == "P-01")["below_since"] is None
    only = client.get("/v1/alerts?asset_id=P-01", headers=h).json()["items"]
    assert [a["alert_id"] for a in only] == [P01]
    crit = client.get("/v1/alerts?rating=critical", headers=h).json()["items"]
    assert [a["asset_id"] for a in crit] == ["P-01"]
    # By the peak: P-02's spike closed at low but had been high, as C-01 is.
    peak = client.get("/v1/alerts?peak_rating=high", headers=h).json()["items"]
    assert {a["asset_id"] for a in peak} == {"P-02", "C-01"}
    both = client.get("/v1/alerts?rating=low&peak_rating=high", headers=h).json()["items"]
    assert [a["asset_id"] for a in both] == ["P-02"]


def test_alerts_cursor_pages_cover_everything_once(client, keys) -> None:
    h = auth(keys["operator"])
    everything = [a["alert_id"] for a in client.get("/v1/alerts", headers=h).json()["items"]]
    seen, cursor = [], None
    while True:
        url = "/v1/alerts?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=h).json()
        seen += [a["alert_id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything


def test_alerts_bad_parameters_are_4xx_json(client, keys) -> None:
    h = auth(keys["operator"])
    for url in (
        "/v1/alerts?cursor=not-a-cursor",
        "/v1/alerts?limit=501",
        "/v1/alerts?limit=0",
        "/v1/alerts?status=burning",
        "/v1/alerts?rating=extreme",
        "/v1/alerts?peak_rating=extreme",
    ):
        r = client.get(url, headers=h)
        assert 400 <= r.status_code < 500, url
        assert "message" in r.json()["error"], url
    assert client.get("/v1/alerts/nope", headers=h).status_code == 404


def test_alert_detail_has_contributions_events_and_register_entry(client, keys, api_db) -> None:
    d = client.get(f"/v1/alerts/{P01}", headers=auth(keys["operator"])).json()
    assert d["contributions"][0]["signal"] == "vibration"
    kinds = [e["kind"] for e in d["events"]]
    assert kinds[0] == "opened" and "escalated" in kinds  # high, then critical
    assert len(d["register_entries"]) == 1
    # Each tag over the 6 h before the alert opened against the 7 days before those, most
    # deviating first: here recomputed from the stored samples, independently of the API.
    opened = datetime.fromisoformat(d["opened_at"])
    with psycopg.connect(api_db) as conn:
        want = {
            tag: (n, mean, base, std)
            for tag, n, mean, base, std in conn.execute(
                "SELECT tag, count(*) FILTER (WHERE ts >= %(w)s), avg(value) FILTER (WHERE ts >= "
                "%(w)s), avg(value) FILTER (WHERE ts < %(w)s), stddev_samp(value) FILTER (WHERE "
                "ts < %(w)s) FROM signal_samples WHERE asset_id = 'P-01' AND ts >= %(b)s AND "
                "ts < %(t)s GROUP BY tag",
                {"w": opened - timedelta(hours=6), "b": opened - timedelta(days=7, hours=6),
                 "t": opened},
            )
        }  # fmt: skip
    got = {x["tag"]: x for x in d["deviations"]}
    assert set(got) == set(want) == {"vibration", "bearing_temp"}
    for tag, (n, mean, base, std) in want.items():
        assert got[tag]["samples"] == n == 36  # 10-minute samples
        assert got[tag]["window_mean"] == pytest.approx(mean)
        assert got[tag]["level_z"] == pytest.approx((mean - base) / std, abs=1e-4)
    scores = [x["score"] for x in d["deviations"]]
    assert scores == sorted(scores, reverse=True)


def test_acknowledge_records_who_and_when_once(client, keys) -> None:
    h = auth(keys["operator"])
    r = client.post(f"/v1/alerts/{C01}/ack", headers=h, json={"comment": "crew sent"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "operator-tester" and body["ack_comment"] == "crew sent"
    assert body["acknowledged_at"] is not None
    again = client.post(f"/v1/alerts/{C01}/ack", headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    events = client.get(f"/v1/alerts/{C01}", headers=h).json()["events"]
    assert [e["kind"] for e in events][-1] == "acknowledged"


def test_acknowledging_a_closed_alert_is_409(client, keys) -> None:
    h = auth(keys["operator"])
    closed = client.get("/v1/alerts?status=closed", headers=h).json()["items"][0]
    r = client.post(f"/v1/alerts/{closed['alert_id']}/ack", headers=h)
    assert r.status_code == 409


def test_outcome_is_recorded_and_validated(client, keys) -> None:
    h = auth(keys["reliability"])
    r = client.post(f"/v1/alerts/{P01}/outcome", headers=h, json={"outcome": "true_positive"})
    assert r.status_code == 200 and r.json()["outcome"] == "true_positive"
    bad = client.post(f"/v1/alerts/{P01}/outcome", headers=h, json={"outcome": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    extra = client.post(
        f"/v1/alerts/{P01}/outcome", headers=h, json={"outcome": "false_alarm", "x": 1}
    )
    assert extra.status_code == 422
    detail = client.get(f"/v1/alerts/{P01}", headers=h).json()
    assert detail["outcome"] == "true_positive" and detail["outcome_by"] == "reliability-tester"


def test_cached_lists_follow_changes_made_by_other_processes(client, keys, api_db) -> None:
    import psycopg

    from services.predict.alerts_store import SCORES_CHANNEL, alert_json, load_alert, record_event
    from tests.helpers import wait_for

    h = auth(keys["hse"])
    before = client.get("/v1/alerts?asset_id=P-02", headers=h).json()["items"][0]
    assert before["outcome"] is None
    client.get("/v1/forecast", headers=h)  # cached now
    with psycopg.connect(api_db) as conn:  # what the scorer does, from another connection
        conn.execute(
            "UPDATE alerts SET outcome = 'false_alarm' WHERE alert_id = %s", (before["alert_id"],)
        )
        record_event(conn, "outcome", before["updated_at"], alert_json(
            load_alert(conn, before["alert_id"])
        ))  # fmt: skip
        conn.execute(
            "INSERT INTO risk_scores (ts, asset_id, model_version, horizon_s, probability, "
            "likelihood, consequence, rating) VALUES ('2026-03-11T00:00:00Z', 'F-01', '1', "
            "86400, 0.9, 5, 3, 'high')"
        )
        conn.execute("SELECT pg_notify(%s, '')", (SCORES_CHANNEL,))
    wait_for(
        lambda: client.get("/v1/alerts?asset_id=P-02", headers=h).json()["items"][0]["outcome"]
        == "false_alarm",
        10, "the alert list to show the change",
    )  # fmt: skip
    wait_for(
        lambda: next(
            i for i in client.get("/v1/forecast", headers=h).json()["items"]
            if i["asset_id"] == "F-01"
        )["probability"] == 0.9,
        10, "the forecast to show the new score",
    )  # fmt: skip


def test_acknowledged_alert_shows_in_the_list_at_once(client, keys) -> None:
    h = auth(keys["operator"])
    listed = client.get("/v1/alerts?status=acknowledged", headers=h).json()["items"]
    assert [a["alert_id"] for a in listed] == [C01]  # acknowledged by an earlier test
