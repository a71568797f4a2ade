"""The cross-plant evaluation's judgement of the quality bar, and its seed lists."""

from __future__ import annotations

import argparse

import pytest

from pipelines.bench.quality import beats_baseline, explained_openings, meets, summarise
from precursor.cli.commands.args import seed_list


def _matched(recall: float, recall_p: float, within: bool = True) -> dict:
    return {"recall_at_1h": recall, "recall_at_1h_precursor": recall_p, "within": within}


def _baseline(recall: float, recall_p: float, matched: dict) -> dict:
    return {
        "recall_at_1h": recall,
        "recall_at_1h_precursor": recall_p,
        "model_at_same_false_alerts": matched,
    }


def _figures(**over) -> dict:
    fig = {
        "incidents_with_precursor": 6,
        "recall_at_1h_precursor": 0.83,
        "median_lead_h": 6.5,
        "false_alerts_per_asset_week": 0.4,
        "baselines": {
            "threshold": _baseline(0.1, 0.2, _matched(0.2, 0.5)),
            "isolation_forest": _baseline(0.2, 0.3, _matched(0.3, 0.6)),
        },
        "explained_at_opening": {"named": 4, "first": 3, "warned": 5},
        "warned_1h": 7,
        "warned_1h_open_at_incident": 6,
    }
    return fig | over


def test_beats_a_baseline_only_with_more_precursor_recall_at_no_more_false_alerts() -> None:
    assert beats_baseline(_baseline(0.1, 0.2, _matched(0.2, 0.5)))
    assert not beats_baseline(_baseline(0.1, 0.2, _matched(0.2, 0.5, within=False)))
    assert not beats_baseline(_baseline(0.1, 0.5, _matched(0.2, 0.5)))  # equal: not better
    assert not beats_baseline(_baseline(0.3, 0.2, _matched(0.2, 0.5)))  # fewer of all incidents
    assert beats_baseline(_baseline(None, None, _matched(0.0, 0.5)))


def test_each_point_of_the_bar_is_judged_on_its_own() -> None:
    assert meets(_figures(), 0.5) == dict.fromkeys(
        ("recall_at_1h_precursor", "median_lead_h", "false_alerts", "beats_baselines"), True
    )
    assert meets(_figures(median_lead_h=5.9), 0.5)["median_lead_h"] is False
    assert meets(_figures(recall_at_1h_precursor=0.79), 0.5)["recall_at_1h_precursor"] is False
    assert meets(_figures(false_alerts_per_asset_week=0.51), 0.5)["false_alerts"] is False
    worse = _figures()
    worse["baselines"]["threshold"] = _baseline(0.1, 0.6, _matched(0.2, 0.5))
    assert meets(worse, 0.5)["beats_baselines"] is False
    quiet = meets(_figures(incidents_with_precursor=0, recall_at_1h_precursor=None), 0.5)
    assert quiet == {
        "recall_at_1h_precursor": None,
        "median_lead_h": None,
        "false_alerts": True,
        "beats_baselines": None,
    }


def test_summary_counts_only_points_met() -> None:
    plants = [
        {"meets": meets(_figures(), 0.5)} | _figures(median_available_lead_h=8.0),
        {"meets": meets(_figures(median_lead_h=4.0), 0.5)}
        | _figures(median_lead_h=4.0, median_available_lead_h=5.0),
        {"meets": meets(_figures(incidents_with_precursor=0), 0.5)}
        | _figures(median_lead_h=None, median_available_lead_h=None),
    ]
    s = summarise(plants)
    assert s["plants"] == 3 and s["meet_all"] == 1
    assert s["meet"] == {
        "recall_at_1h_precursor": 2,
        "median_lead_h": 1,
        "false_alerts": 3,
        "beats_baselines": 2,
    }
    assert s["median_lead_h"] == {"min": 4.0, "median": 5.25, "max": 6.5}
    assert s["explained_at_opening"] == {"named": 12, "first": 9, "warned": 15}  # pooled
    assert (s["warned_1h"], s["warned_1h_open_at_incident"]) == (21, 18)


def _incident(ref: str, signals: list[str] | None, precursor=True, warned=True) -> dict:
    told = None if signals is None else [{"signal": s, "contribution": 1.0} for s in signals]
    return {"ref": ref, "precursor": precursor, "warned_1h": warned, "alert_signals": told}


def test_openings_are_judged_by_the_signals_the_failing_mechanism_moves() -> None:
    records = [
        {"type": "incident", "event_id": "bw", "mechanism": "bearing_wear"},
        {"type": "incident", "event_id": "oc", "mechanism": "overload_clogging"},
        {"type": "incident", "event_id": "ef", "mechanism": "electrical_fault"},
        {"type": "incident", "incident_id": "hl", "mechanism": "hydraulic_leak"},
        {"type": "episode", "event_id": "ep", "mechanism": "bearing_wear"},
        {"type": "incident", "event_id": "fo", "mechanism": None},  # foreign object: no precursor
    ]
    rows = [
        _incident("bw", ["hydraulic_pressure_bar", "bearing_temp_c"]),  # bearing temp: named
        _incident("oc", ["vibration_mm_s", "signals:all"]),  # neither moves with clogging
        _incident("ef", ["alarms:FAULT"]),  # the relay's fault alarms: named
        _incident("hl", ["hydraulic_pressure_bar"], warned=False),  # too late: not judged
        _incident("ep", ["vibration_mm_s"]),  # not an incident in the ground truth
        _incident("fo", ["motor_current_a"], precursor=False),
    ]
    missed = {"ref": "bw", "mechanism": "bearing_wear",
              "named": ["hydraulic_pressure_bar", "bearing_temp_c"]}  # fmt: skip
    clogging = {"ref": "oc", "mechanism": "overload_clogging",
                "named": ["vibration_mm_s", "signals:all"]}  # fmt: skip
    told = explained_openings(rows, records)
    assert told == {"named": 2, "first": 1, "warned": 3, "not_first": [missed, clogging]}
    rows[1]["alert_signals"] = [{"signal": "winding_temp_c", "contribution": 0.1}]
    told = explained_openings(rows, records)
    assert told == {"named": 3, "first": 2, "warned": 3, "not_first": [missed]}
    told = explained_openings([_incident("bw", None)], records)
    unexplained = {"ref": "bw", "mechanism": "bearing_wear", "named": []}
    assert told == {"named": 0, "first": 0, "warned": 1, "not_first": [unexplained]}


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("8-15", list(range(8, 16))), ("7", [7]), ("7,9,11", [7, 9, 11]), ("7,8-10,8", [7, 8, 9, 10])],
)
def test_seed_lists(text: str, seeds: list[int]) -> None:
    assert seed_list(text) == seeds


@pytest.mark.parametrize("text", ["", "9-3", "-1", "seven", "1,,2", "3-"])
def test_bad_seed_lists_are_argument_errors(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="seeds are whole numbers"):
        seed_list(text)


@pytest.mark.parametrize("text", ["0-1000", "0-99999999999", "1000,0-999"])
def test_seed_lists_are_bounded(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="at most 1000 seeds"):
        seed_list(text)
    assert len(seed_list("0-999")) == 1000
