"""Downtime for reliability engineers: durations, Pareto, root cause, RCA records."""

from __future__ import annotations

from collections import defaultdict
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from precursor.core.settings import Settings
from services.api.analysis import root_cause as root_cause_module
from services.api.app import create_app
from tests.api.conftest import auth
from tests.api.seed import END, P01_ALERT, at, stops


def _hours(stop: dict) -> float:
    end = stop["ended_at"] or END
    return (end - stop["started_at"]).total_seconds() / 3600


def test_downtime_lists_stops_with_their_durations(client, keys) -> None:
    got = client.get("/v1/downtime?limit=500", headers=auth(keys["reliability"])).json()
    expected = {s["event_id"]: _hours(s) for s in stops()}
    assert {d["event_id"]: d["duration_s"] / 3600 for d in got} == expected
    assert [d["started_at"] for d in got] == sorted((d["started_at"] for d in got), reverse=True)
    unplanned = client.get(
        "/v1/downtime?planned=false&asset_id=P-01", headers=auth(keys["hse"])
    ).json()
    assert [d["event_id"] for d in unplanned] == ["P01-6", "P01-2"]
    window = client.get(
        "/v1/downtime", params={"from": at(8).isoformat(), "to": at(9).isoformat()},
        headers=auth(keys["hse"]),
    ).json()  # fmt: skip
    assert [d["event_id"] for d in window] == ["C01-4"]


@pytest.mark.parametrize("by", ["reason_code", "asset_id", "crew", "shift"])
def test_pareto_matches_hours_worked_out_by_hand(client, keys, by) -> None:
    hours, counts = defaultdict(float), defaultdict(int)
    for s in stops():
        key = ("day" if 6 <= s["started_at"].hour <= 17 else "night") if by == "shift" else s[by]
        hours[key] += _hours(s)
        counts[key] += 1
    p = client.get(f"/v1/downtime/pareto?by={by}", headers=auth(keys["reliability"])).json()
    assert p["total_hours"] == pytest.approx(sum(hours.values()))
    assert {r["key"]: r["hours"] for r in p["rows"]} == pytest.approx(dict(hours))
    assert {r["key"]: r["count"] for r in p["rows"]} == counts
    listed = [r["hours"] for r in p["rows"]]
    assert listed == sorted(listed, reverse=True)
    assert p["rows"][-1]["cumulative_share"] == pytest.approx(1.0)
    running = 0.0
    for r in p["rows"]:
        running += r["hours"]
        assert r["cumulative_share"] == pytest.approx(running / p["total_hours"], abs=1e-5)


def test_pareto_unplanned_only_and_bad_category(client, keys) -> None:
    h = auth(keys["reliability"])
    p = client.get("/v1/downtime/pareto?by=reason_code&planned=false", headers=h).json()
    assert "PM" not in {r["key"] for r in p["rows"]}
    assert p["rows"][0]["key"] == "BEARING"  # 3 h + 2 h + 1.5 h
    assert p["rows"][0]["hours"] == pytest.approx(6.5)
    assert client.get("/v1/downtime/pareto?by=colour", headers=h).status_code == 422
    r = client.get("/v1/downtime/pareto?from=2026-03-05&to=2026-03-01", headers=h)
    assert r.status_code == 422 and "before" in r.json()["error"]["message"]


def _new_york_shift(stop: dict) -> str:
    """Worked out independently of the SQL: New York's clock went from UTC-5 to UTC-4 on
    2026-03-08, which moves P02-4 (22:00 UTC on 03-10) from 17:00 to 18:00 local."""
    local = stop["started_at"].astimezone(ZoneInfo("America/New_York")).time()
    if local >= time(18):
        return "night"
    if local >= time(14):
        return "late"
    return "early" if local >= time(6) else "night"  # before 06:00: the night before


def test_shifts_follow_the_plant_clock_and_daylight_saving(api_settings, keys) -> None:
    local = Settings(
        **api_settings.model_dump(exclude={"plant_timezone", "shifts"}),
        plant_timezone="America/New_York",
        shifts="night=18:00,early=06:00,late=14:00",  # unequal, listed out of order
    )
    expected = {s["event_id"]: _new_york_shift(s) for s in stops()}
    assert expected["P02-4"] == "night" and set(expected.values()) == {"early", "late", "night"}
    h = auth(keys["reliability"])
    with TestClient(create_app(local), raise_server_exceptions=False) as c:
        listed = c.get("/v1/downtime?limit=500", headers=h).json()
        assert {d["event_id"]: d["shift"] for d in listed} == expected
        p = c.get("/v1/downtime/pareto?by=shift", headers=h).json()
        hours = defaultdict(float)
        for s in stops():
            hours[expected[s["event_id"]]] += _hours(s)
        assert {r["key"]: r["hours"] for r in p["rows"]} == pytest.approx(dict(hours))
        rc = c.get("/v1/downtime/P02-4/root-cause", headers=h).json()
        assert rc["stop"]["shift"] == "night"
        forecast = c.get("/v1/forecast?horizon=shift", headers=h).json()
        assert forecast["horizon_h"] == 8  # three shifts a day


def test_root_cause_ranks_the_drifting_signal_and_finds_the_context(client, keys) -> None:
    rc = client.get("/v1/downtime/P01-6/root-cause", headers=auth(keys["reliability"])).json()
    assert rc["stop"]["event_id"] == "P01-6" and rc["lookback_h"] == 24
    top = rc["signals"][0]
    assert top["tag"] == "vibration"
    assert top["slope_z"] > 3 and top["level_z"] > 1
    assert rc["signals"][1]["tag"] == "bearing_temp" and rc["signals"][1]["score"] < 2
    assert [a["kind"] for a in rc["alarms"]] == ["HI", "HI"]
    assert [d["event_id"] for d in rc["dispatch"]] == ["P01-6"]
    alert = rc["preceding_alert"]
    assert alert["alert_id"] == P01_ALERT
    assert alert["lead_h"] == pytest.approx(28.25)  # opened 03:45 the day before the 08:00 stop
    # The other bearing stop with the same vibration ramp is the nearest past stop.
    assert rc["similar"][0]["event_id"] == "P01-2"
    assert [s["event_id"] for s in rc["similar"]] == ["P01-2", "P02-2"]


def test_similar_stops_reach_past_a_run_of_recent_stops_of_other_causes(
    api_db: str, monkeypatch
) -> None:
    # Two later seal stops fill a candidate limit of two; the bearing stop before them, the
    # one whose signature matches, must still be compared.
    monkeypatch.setattr(root_cause_module, "SIMILAR_CANDIDATES", 2)
    monkeypatch.setattr(root_cause_module, "SIMILAR_PER_REASON", 1, raising=False)
    extra = [
        ("X-1", "P-02", at(5, 10), "down", "SEAL"), ("X-2", "P-02", at(5, 11), "running", None),
        ("X-3", "P-02", at(6, 10), "down", "SEAL"), ("X-4", "P-02", at(6, 11), "running", None),
    ]  # fmt: skip
    with psycopg.connect(api_db) as conn:
        conn.cursor().executemany(
            "INSERT INTO dispatch_events (event_id, asset_id, ts, state, planned, reason_code) "
            "VALUES (%s, %s, %s, %s, false, %s)",
            extra,
        )
        stop = (
            conn.cursor(row_factory=dict_row)
            .execute("SELECT * FROM downtime WHERE event_id = 'P01-6'")
            .fetchone()
        )
        similar = root_cause_module.root_cause(conn, stop, timedelta(hours=24))["similar"]
        conn.rollback()  # the module's other tests see the seed as it was
    assert similar[0]["event_id"] == "P01-2"
    assert {s["reason_code"] for s in similar} == {"BEARING", "SEAL"}


def test_root_cause_lookback_is_bounded_and_stops_must_exist(client, keys) -> None:
    h = auth(keys["reliability"])
    short = client.get("/v1/downtime/P01-6/root-cause?lookback=6h", headers=h)
    assert short.status_code == 200 and short.json()["lookback_h"] == 6
    for bad in ("0.5h", "8d", "soon", "nan", "inf"):
        r = client.get(f"/v1/downtime/P01-6/root-cause?lookback={bad}", headers=h)
        assert r.status_code == 422, bad
    assert client.get("/v1/downtime/P01-1/root-cause", headers=h).status_code == 404
    assert client.get("/v1/downtime/nope/root-cause", headers=h).status_code == 404


def test_rca_record_round_trips_and_revises(client, keys) -> None:
    h = auth(keys["reliability"])
    assert client.get("/v1/downtime/C01-2/rca", headers=h).status_code == 404
    body = {
        "summary": "belt mistracking",
        "five_whys": [
            {"why": "belt stopped", "because": "tracking switch tripped"},
            {"why": "belt mistracked", "because": "idler seized"},
        ],
        "cause_tree": {"cause": "belt stop", "children": [
            {"cause": "idler seized", "category": "equipment",
             "children": [{"cause": "no lubrication route"}]}]},
        "actions": [{"description": "add idlers to lube route", "owner": "maint",
                     "due_date": "2026-04-01"}],
    }  # fmt: skip
    first = client.post("/v1/downtime/C01-2/rca", headers=h, json=body)
    assert first.status_code == 201, first.text
    got = client.get("/v1/downtime/C01-2/rca", headers=h).json()
    assert got["five_whys"] == body["five_whys"]
    assert got["cause_tree"]["children"][0]["children"][0]["cause"] == "no lubrication route"
    assert got["actions"][0]["owner"] == "maint" and got["revision"] == 1
    second = client.post("/v1/downtime/C01-2/rca", headers=h, json={**body, "summary": "v2"})
    assert second.status_code == 200 and second.json()["revision"] == 2
    assert client.get("/v1/downtime/C01-2/rca", headers=h).json()["summary"] == "v2"


def test_rca_rejects_empty_or_malformed_records(client, keys) -> None:
    h = auth(keys["reliability"])
    assert client.post("/v1/downtime/C01-4/rca", headers=h, json={}).status_code == 422
    r = client.post("/v1/downtime/C01-4/rca", headers=h, json={"five_whys": [{"why": "x"}]})
    assert r.status_code == 422
    r = client.post(
        "/v1/downtime/C01-4/rca", headers=h,
        json={"five_whys": [{"why": "a", "because": "b"}],
              "actions": [{"description": "d", "owner": "o", "due_date": "tomorrow"}]},
    )  # fmt: skip
    assert r.status_code == 422
    missing = client.post(
        "/v1/downtime/nope/rca", headers=h, json={"five_whys": [{"why": "a", "because": "b"}]}
    )
    assert missing.status_code == 404
