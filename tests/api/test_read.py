"""Assets, forecast, incidents, KPIs, models, errors and request metrics."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from services.api.routes.forecast import over_horizon, trend
from tests.api.conftest import auth
from tests.api.seed import ASSETS, END, P01_ALERT, at, registered_champion, stops


def test_assets_carry_their_latest_score(client, keys) -> None:
    h = auth(keys["operator"])
    assets = client.get("/v1/assets", headers=h).json()
    assert [a["asset_id"] for a in assets] == sorted(a["asset_id"] for a in ASSETS)
    p01 = client.get("/v1/assets/P-01", headers=h).json()
    assert p01["latest"]["ts"] == "2026-03-10T23:45:00Z"
    assert p01["latest"]["rating"] == "critical" and p01["latest"]["probability"] == 0.42
    r = client.get("/v1/assets/NOPE", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_risk_history_window_and_default(client, keys) -> None:
    h = auth(keys["operator"])
    default = client.get("/v1/assets/P-01/risk", headers=h).json()["points"]
    assert len(default) == 3 * 96  # the seeded three days fit the default 7-day window
    window = client.get(
        "/v1/assets/P-01/risk?from=2026-03-09T00:00:00Z&to=2026-03-09T01:00:00Z", headers=h
    ).json()["points"]
    assert [p["ts"] for p in window] == [f"2026-03-09T00:{m:02d}:00Z" for m in (0, 15, 30, 45)]
    assert client.get("/v1/assets/P-01/risk?from=3000-01-01", headers=h).status_code == 422
    assert client.get("/v1/assets/P-01/risk?from=yesterday", headers=h).status_code == 422
    assert client.get("/v1/assets/NOPE/risk", headers=h).status_code == 404


def test_risk_history_says_where_the_assets_alert_opens(client, keys, api_db) -> None:
    h = auth(keys["operator"])
    risk = lambda a: client.get(f"/v1/assets/{a}/risk", headers=h).json()  # noqa: E731
    assert risk("P-01")["alert_level"] is None  # no champion, no threshold to measure by
    with registered_champion(api_db):
        # A criticality-4 pump is high from likelihood 3 (0.8 p*), a criticality-2 one only
        # from likelihood 5 (2 p*).
        levels = {a: risk(a)["alert_level"] for a in ("P-01", "P-02", "C-01", "F-01")}
        assert levels == pytest.approx({"P-01": 0.08, "P-02": 0.2, "C-01": 0.06, "F-01": 0.1})
        # Where the line is drawn is where the real machine opened P-01's alert.
        points = risk("P-01")["points"]
        first = next(p for p in points if p["probability"] >= levels["P-01"])
        assert "P-01-" + first["ts"].replace("-", "").replace(":", "") == P01_ALERT


def test_forecast_ranks_by_rating_with_trend_and_area_summary(client, keys) -> None:
    f = client.get("/v1/forecast", headers=auth(keys["hse"])).json()
    assert [i["asset_id"] for i in f["items"]] == ["P-01", "C-01", "F-01", "P-02"]
    p01 = f["items"][0]
    assert p01["probability"] == pytest.approx(0.42) and p01["trend"] == "steady"
    assert p01["previous_probability"] == pytest.approx(0.02 + 0.4 * 23.75 / 24)
    assert p01["open_alert_id"] == P01_ALERT
    areas = {a["area"]: a for a in f["areas"]}
    assert areas["A"]["worst_rating"] == "critical" and areas["A"]["assets"] == 2
    assert areas["B"]["high_or_critical"] == 1


def test_forecast_trend_compares_with_a_day_earlier() -> None:
    assert trend(0.3, 0.1) == "rising"
    assert trend(0.1, 0.3) == "falling"
    assert trend(0.101, 0.1) == "steady"
    assert trend(0.2, None) == "new"
    assert over_horizon(0.5, 24, 48) == pytest.approx(0.75)


def test_forecast_horizon_and_filters(client, keys) -> None:
    h = auth(keys["reliability"])
    day = {
        i["asset_id"]: i["probability"]
        for i in client.get("/v1/forecast", headers=h).json()["items"]
    }
    week = client.get("/v1/forecast?horizon=week", headers=h).json()
    assert week["horizon_h"] == 168
    for i in week["items"]:
        assert i["probability"] == pytest.approx(1 - (1 - day[i["asset_id"]]) ** 7, abs=1e-6)
    shift = client.get("/v1/forecast?horizon=shift", headers=h).json()
    assert shift["horizon_h"] == 12  # the default pattern's two shifts
    assert all(i["probability"] <= day[i["asset_id"]] for i in shift["items"])
    s2 = client.get("/v1/forecast?site=S2", headers=h).json()["items"]
    assert [i["asset_id"] for i in s2] == ["F-01"]
    b = client.get("/v1/forecast?area=B", headers=h).json()["items"]
    assert [i["asset_id"] for i in b] == ["C-01"]
    for bad in ("fortnight", "0h", "1000h", "-3"):
        r = client.get(f"/v1/forecast?horizon={bad}", headers=h)
        assert r.status_code == 422, bad


def test_incidents_post_validates_like_the_topic(client, keys) -> None:
    h = auth(keys["hse"])
    body = {"incident_id": "INC-API-1", "asset_id": "P-01", "ts": "2026-03-10T07:30:00Z",
            "kind": "fire", "severity": 4, "description": "smoke at motor"}  # fmt: skip
    r = client.post("/v1/incidents", headers=h, json=body)
    assert r.status_code == 201 and r.json()["source"] == "api"
    assert client.post("/v1/incidents", headers=h, json=body).status_code == 409
    for bad in (
        {**body, "incident_id": "X1", "kind": "flood"},
        {**body, "incident_id": "X2", "severity": 9},
        {**body, "incident_id": "X3", "ts": "2026-03-10T07:30:00"},  # no offset
        {**body, "incident_id": "X4", "ts": "yesterday"},
        {k: v for k, v in body.items() if k != "asset_id"},
    ):
        r = client.post("/v1/incidents", headers=h, json=bad)
        assert r.status_code == 422, bad
    listed = client.get("/v1/incidents?asset_id=P-01", headers=h).json()
    assert [i["incident_id"] for i in listed] == ["INC-API-1"]
    everything = client.get("/v1/incidents", headers=h).json()
    assert [i["incident_id"] for i in everything] == ["INC-API-1", "INC-1"]


def test_kpis_match_the_seeded_plant(client, keys) -> None:
    k = client.get("/v1/kpis", headers=auth(keys["hse"])).json()
    assert k["alerts_raised"] == 3
    assert k["register_entries"] == 3 and k["register_with_measures_share"] == 0
    all_hours = sum(((s["ended_at"] or END) - s["started_at"]).total_seconds() for s in stops())
    assert k["downtime_hours"] == pytest.approx(all_hours / 3600)
    p01 = next(a for a in k["assets"] if a["asset_id"] == "P-01")
    # P-01: 2 unplanned stops (3 h, 2 h), 4 h planned maintenance, last event at day 9 22:30.
    running = 9 * 24 + 22.5 - 3 - 2 - 4
    assert p01["failures"] == 2
    assert p01["running_hours"] == pytest.approx(running)
    assert p01["mtbf_h"] == pytest.approx(running / 2) and p01["mttr_h"] == pytest.approx(2.5)
    fan = next(a for a in k["assets"] if a["asset_id"] == "F-01")
    assert fan["failures"] == 0 and fan["mtbf_h"] is None


def test_a_failure_is_a_stop_as_long_as_an_incident_and_short_stops_are_apart(api_db) -> None:
    from services.api.analysis.kpis import kpis
    from services.api.params import Window

    # A 10-minute unplanned stop of the fan, in a transaction rolled back at the end.
    with psycopg.connect(api_db) as conn:
        conn.execute(
            "INSERT INTO dispatch_events (event_id, asset_id, ts, state, planned) VALUES "
            "('F01-x1', 'F-01', %s, 'down', false), ('F01-x2', 'F-01', %s, 'running', false)",
            (at(8, 1), at(8, 1) + timedelta(minutes=10)),
        )
        fan = {m: next(a for a in kpis(conn, Window(None, None), m)["assets"]
                       if a["asset_id"] == "F-01") for m in (30, 5)}  # fmt: skip
        conn.rollback()
    assert (fan[30]["failures"], fan[30]["short_stops"], fan[30]["mttr_h"]) == (0, 1, None)
    assert (fan[5]["failures"], fan[5]["short_stops"]) == (1, 0)
    assert fan[5]["mttr_h"] == round(10 / 60, 3)  # the API rounds hours to 3 places


def test_kpis_count_acknowledgements(client, keys) -> None:
    client.post(f"/v1/alerts/{P01_ALERT}/ack", headers=auth(keys["operator"]))
    k = client.get("/v1/kpis", headers=auth(keys["hse"])).json()
    assert k["alerts_acknowledged"] == 1 and k["median_time_to_ack_min"] is not None
    window = client.get("/v1/kpis?from=2026-03-09T06:00:00Z", headers=auth(keys["hse"])).json()
    assert window["alerts_raised"] == 1  # only C-01's opened after 06:00 on the 9th


def test_models_and_readyz_without_a_champion(client, keys) -> None:
    m = client.get("/v1/models", headers=auth(keys["operator"])).json()
    assert m["champion"] is None and m["versions"] == []
    r = client.get("/readyz")
    assert r.status_code == 503 and "champion" in r.json()["error"]["message"]


def test_unknown_routes_and_methods_get_the_json_error(client, keys) -> None:
    h = auth(keys["admin"])
    r = client.get("/v1/nothing-here", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.delete("/v1/assets", headers=h)
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    as_json = {**h, "Content-Type": "application/json"}
    r = client.post("/v1/risk-register", headers=as_json, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    assert r.json()["error"]["message"].startswith("the request body is not valid JSON (at char")
    r = client.post("/v1/risk-register", headers=h, content=b'{"title": "x"}')  # no type
    assert r.status_code == 400 and "Content-Type: application/json" in r.text
    r = client.post("/v1/risk-register", headers=h, json={"title": 5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"  # JSON, bad field


def test_unknown_query_parameters_are_refused_not_ignored(client, keys) -> None:
    h = auth(keys["admin"])
    every = client.get("/v1/alerts", headers=h).json()["items"]
    assert {a["asset_id"] for a in every} != {"P-01"}  # so that a filter has something to drop
    r = client.get("/v1/alerts?asset=P-01", headers=h)  # misspelt asset_id
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    message = r.json()["error"]["message"]
    assert message.startswith("unknown query parameter asset;") and "asset_id" in message
    r = client.get("/v1/downtime/pareto?from=2026-03-01&by=crew&colour=red&x=1", headers=h)
    assert r.status_code == 422 and "parameters colour, x;" in r.json()["error"]["message"]
    assert "lookback" in client.get("/v1/downtime/E/root-cause?lookbak=2h", headers=h).text
    r = client.get("/v1/me?verbose=1", headers=h)
    assert r.status_code == 422 and "takes: none" in r.json()["error"]["message"]
    # Declared ones, including those of shared dependencies (from / to, horizon), still pass.
    assert client.get("/v1/alerts?asset_id=P-01", headers=h).status_code == 200
    assert client.get("/v1/downtime/pareto?from=2026-03-01&to=2026-03-20", headers=h).is_success
    assert client.get("/v1/forecast?horizon=week&area=A", headers=h).status_code == 200


def test_metrics_have_latency_by_route_template(client, keys) -> None:
    client.get(f"/v1/alerts/{P01_ALERT}", headers=auth(keys["operator"]))
    text = client.get("/metrics").text
    assert 'route="/v1/alerts/{alert_id}"' in text
    assert 'route="/v1/alerts/P-01' not in text
    assert "precursor_api_requests_in_flight" in text


def test_signals_are_bucketed_over_a_bounded_window(client, keys) -> None:
    h = auth(keys["operator"])
    r = client.get(
        "/v1/assets/P-01/signals?from=2026-03-10T00:00:00Z&to=2026-03-10T08:00:00Z&points=16",
        headers=h,
    ).json()
    assert r["bucket_s"] == 1800
    tags = {s["tag"]: s["points"] for s in r["series"]}
    assert set(tags) == {"vibration", "bearing_temp"}
    vib = tags["vibration"]
    assert len(vib) == 16 and all(lo <= mean <= hi for _, mean, lo, hi in vib)
    assert vib[-1][1] > vib[0][1] + 0.5  # the ramp before the 08:00 stop
    default = client.get("/v1/assets/P-01/signals", headers=h).json()
    assert default["series"] and default["bucket_s"] == 288  # 24 h / 300 points
    too_long = client.get("/v1/assets/P-01/signals?from=2026-03-01&to=2026-03-10", headers=h)
    assert too_long.status_code == 422
    assert client.get("/v1/assets/F-01/signals", headers=h).json()["series"] == []
