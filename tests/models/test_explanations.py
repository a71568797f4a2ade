"""Explanations: a feature that sums up others is credited to what it sums up, row by row."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.explain import signal_contributions

FEATURES = ["agg.z_6h_max", "agg.z_6h_min", "agg.tags_z6h_above_2", "sig.current.z_6h"]


def _explain(
    frame: pl.DataFrame,
    shap: np.ndarray,
    features: list[str] = FEATURES,
    kind_tags: dict[str, list[str]] | None = None,
) -> list[dict[str, float]]:
    names, summed = signal_contributions(frame, features, shap, kind_tags)
    return [dict(zip(names, row.tolist(), strict=True)) for row in summed]


def _assert_credited(
    frame: pl.DataFrame, shap: np.ndarray, expected: list[dict], features: list[str] = FEATURES
) -> None:
    """Each row's explanation is as expected and still sums to the row's contributions."""
    rows = _explain(frame, shap, features)
    for row, want, contributions in zip(rows, expected, shap, strict=True):
        assert row == pytest.approx(want)
        assert sum(row.values()) == pytest.approx(contributions.sum())


def test_extremes_go_to_their_tag_and_sums_are_kept() -> None:
    frame = pl.DataFrame(
        {
            "sig.current.z_6h": [4.0, -1.0, None],
            "sig.temp.z_6h": [1.0, 3.0, None],
            "sig.vibration.z_6h": [None, -2.5, None],  # a tag this asset kind lacks: null
        }
    )
    shap = np.array(
        [
            [0.8, 0.1, 0.3, 0.2],  # current holds the max, temp the min
            [0.5, -0.2, 0.0, 0.1],  # temp the max, vibration the min
            [0.4, 0.4, 0.1, 0.0],  # no tag known: the extremes stay shared
        ]
    )
    expected = [  # row 0: current alone has z_6h > 2, so the count is its too
        {"signals:all": 0.0, "current": 1.3, "temp": 0.1, "vibration": 0.0},
        {"signals:all": 0.0, "current": 0.1, "temp": 0.5, "vibration": -0.2},
        {"signals:all": 0.9, "current": 0.0, "temp": 0.0, "vibration": 0.0},
    ]
    _assert_credited(frame, shap, expected)


def test_a_count_of_deviating_tags_is_split_between_them() -> None:
    frame = pl.DataFrame(
        {
            "sig.current.z_6h": [2.5, 0.5, None],
            "sig.temp.z_6h": [3.0, 1.0, 2.1],
            "sig.vibration.z_6h": [1.0, -2.5, None],
        }
    )
    shap = np.array(
        [
            [0.0, 0.0, 0.6, 0.0],  # current and temp above 2: 0.3 each, vibration none
            [0.0, 0.0, -0.4, 0.0],  # nothing deviates: the (negative) count stays shared
            [0.0, 0.0, 0.2, 0.0],  # temp alone, the other tags unknown
        ]
    )
    expected = [
        {"signals:all": 0.0, "current": 0.3, "temp": 0.3, "vibration": 0.0},
        {"signals:all": -0.4, "current": 0.0, "temp": 0.0, "vibration": 0.0},
        {"signals:all": 0.0, "current": 0.0, "temp": 0.2, "vibration": 0.0},
    ]
    _assert_credited(frame, shap, expected)


def test_the_alarms_of_every_kind_go_to_each_kind_by_its_share() -> None:
    features = ["alarm.all.1h", "alarm.FAULT.1h", "alarm.HI.1h", "alarm.P2.1h", "alarm.all.6h"]
    frame = pl.DataFrame(
        {
            "alarm.all.1h": [4.0, 0.0, 1.0],
            "alarm.FAULT.1h": [3.0, 0.0, 0.0],
            "alarm.HI.1h": [1.0, 0.0, 1.0],
            "alarm.P2.1h": [3.0, 0.0, 0.0],
            "alarm.all.6h": [4.0, 2.0, 1.0],  # no kind counted over 6 h: it stays on alarms:all
        }
    )
    shap = np.array(
        [
            [0.8, 0.1, 0.0, 0.3, 0.2],  # 3 FAULT and 1 HI alarms: 0.6 and 0.2 of the 0.8
            [-0.3, 0.0, 0.0, 0.0, 0.0],  # no alarm in the hour: the (negative) total stays
            [0.5, 0.0, 0.1, 0.0, 0.0],  # one HI alarm: all of it
        ]
    )
    expected = [
        {"alarms:all": 0.2, "alarms:FAULT": 0.7, "alarms:HI": 0.2, "alarms:P2": 0.3},
        {"alarms:all": -0.3, "alarms:FAULT": 0.0, "alarms:HI": 0.0, "alarms:P2": 0.0},
        {"alarms:all": 0.0, "alarms:FAULT": 0.0, "alarms:HI": 0.6, "alarms:P2": 0.0},
    ]
    _assert_credited(frame, shap, expected, features)


def test_alarm_counts_go_to_the_tags_that_raised_them_when_known() -> None:
    features = ["alarm.all.1h", "alarm.HI.1h", "alarm.P2.1h", "alarm.FAULT.1h"]
    frame = pl.DataFrame(
        {
            "alarm.all.1h": [4.0, 0.0],
            "alarm.HI.1h": [1.0, 0.0],
            "alarm.P2.1h": [3.0, 0.0],
            "alarm.FAULT.1h": [3.0, 0.0],
            # alarm_sources: who raised them (one HI on current, three FAULT on earth)
            "alarmsrc.all.1h.current": [1.0, 0.0],
            "alarmsrc.all.1h.earth": [3.0, 0.0],
            "alarmsrc.HI.1h.current": [1.0, 0.0],
            "alarmsrc.P2.1h.earth": [3.0, 0.0],
            "alarmsrc.FAULT.1h.earth": [3.0, 0.0],
        }
    )
    shap = np.array(
        [
            [0.8, 0.1, 0.3, 0.2],  # all: 1 part current, 3 earth; HI: current; P2, FAULT: earth
            [-0.3, 0.0, 0.0, 0.1],  # no alarm: each count stays where it was
        ]
    )
    expected = [
        {"alarms:all": 0.0, "alarms:HI": 0.0, "alarms:P2": 0.0, "alarms:FAULT": 0.0,
         "current": 0.3, "earth": 1.1},
        {"alarms:all": -0.3, "alarms:HI": 0.0, "alarms:P2": 0.0, "alarms:FAULT": 0.1,
         "current": 0.0, "earth": 0.0},
    ]  # fmt: skip
    _assert_credited(frame, shap, expected, features)


def test_a_tag_the_rows_kind_lacks_speaks_for_the_kind() -> None:
    features = ["sig.belt_speed.z_6h", "sig.current.z_6h", "ctx.kind"]
    frame = pl.DataFrame(
        {
            "sig.belt_speed.z_6h": [None, 0.5, None],
            "sig.current.z_6h": [1.0, 2.0, 1.0],
            "ctx.kind": ["crusher", "conveyor", "new_kind"],
        }
    )
    shap = np.array(
        [
            [0.4, 0.3, 0.1],  # a crusher has no belt: its 0.4 is the kind's
            [0.4, 0.3, 0.1],  # a conveyor has one: it keeps it
            [0.4, 0.3, 0.1],  # a kind training never saw keeps what the booster said
        ]
    )
    kinds = {"crusher": ["current"], "conveyor": ["belt_speed", "current"]}
    rows = _explain(frame, shap, features, kinds)
    assert rows[0] == pytest.approx({"belt_speed": 0.0, "current": 0.3, "context:kind": 0.5})
    assert rows[1] == pytest.approx({"belt_speed": 0.4, "current": 0.3, "context:kind": 0.1})
    assert rows[2] == pytest.approx({"belt_speed": 0.4, "current": 0.3, "context:kind": 0.1})


def test_a_tag_whose_name_holds_dots_or_a_window_keeps_its_whole_name() -> None:
    """OPC tags such as AREA1.FIC-101.PV are named whole, credited as any tag, and a tag named
    like a window (flow_1h) does not make its 24 h statistics fast evidence."""
    from models.features import is_fast

    features = ["agg.z_6h_max", "sig.AREA1.FIC-101.PV.z_6h", "sig.AREA1.FIC-101.SP.z_6h"]
    frame = pl.DataFrame(
        {"sig.AREA1.FIC-101.PV.z_6h": [3.0, 1.0], "sig.AREA1.FIC-101.SP.z_6h": [0.5, 2.0]}
    )
    shap = np.array([[0.6, 0.2, 0.1], [0.4, 0.0, 0.3]])
    expected = [
        {"signals:all": 0.0, "AREA1.FIC-101.PV": 0.8, "AREA1.FIC-101.SP": 0.1},
        {"signals:all": 0.0, "AREA1.FIC-101.PV": 0.0, "AREA1.FIC-101.SP": 0.7},
    ]
    _assert_credited(frame, shap, expected, features)
    assert not is_fast("sig.flow_1h.z_24h") and is_fast("sig.flow_1h.z_6h")
    assert is_fast("sig.AREA1.FIC-101.PV.slope_z_1h")
