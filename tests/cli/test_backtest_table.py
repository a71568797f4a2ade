"""The backtest's terminal tables: one metric a line, recalls with their 95 % interval; one
incident a line with its alert, lead, whether it was still open and what it named."""

from __future__ import annotations

import pytest

from models.evaluation import recall_interval
from precursor.cli.commands.model import print_incidents, print_table


def test_table_shows_recalls_with_their_interval_and_dashes_for_what_is_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = {
        "incidents": 19,
        "recall_at_1h": 7 / 19,
        "recall_at_1h_ci95": recall_interval(7, 19),
        "recall_at_1h_precursor": 1.0,
        "recall_at_1h_precursor_ci95": recall_interval(6, 6),
        "median_lead_h": 5.2,
        "false_alerts_per_asset_week": 0.43,
        "pr_auc": None,
    }
    threshold = {"incidents": 19, "recall_at_1h": 0.0, "recall_at_1h_ci95": recall_interval(0, 19)}
    print_table({**model, "baselines": {"threshold": threshold}})
    out = capsys.readouterr().out.splitlines()
    # Label in the first 28 characters, then one right-aligned cell of 18 per column.
    cells = {ln[:28].strip(): [ln[i : i + 18].strip() for i in (28, 46)] for ln in out[1:]}
    assert cells["recall >= 1 h ahead"] == ["0.37 (0.19-0.59)", "0.00 (0.00-0.17)"]
    assert cells["with a precursor"] == ["1.00 (0.61-1.00)", "-"]
    assert cells["median lead (h)"] == ["5.2", "-"]
    assert cells["PR-AUC (rows)"] == ["-", "-"]


def test_incident_list_shows_onset_alert_and_lead_and_marks_what_came_too_late(
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = {"source": "dispatch", "ref": "x", "available_lead_h": None, "alert_id": None}
    rows = [
        {**common, "asset_id": "CV-01", "ts": "2026-04-05T12:00:00+00:00", "precursor": True,
         "precursor_onset": "2026-04-05T03:36:00+00:00", "alert_id": "a",
         "alert_opened_at": "2026-04-05T08:42:00+00:00", "lead_h": 3.3, "warned_1h": True,
         "open_at_incident": True, "alert_signals": [
             {"signal": "motor_current_a", "contribution": 2.7},
             {"signal": "signals:all", "contribution": 0.3}]},
        {**common, "asset_id": "CR-02", "ts": "2026-04-06T01:15:00+00:00", "precursor": False,
         "precursor_onset": None, "alert_id": "b", "alert_opened_at": "2026-04-06T00:45:00+00:00",
         "lead_h": 0.5, "warned_1h": False, "open_at_incident": False, "alert_signals": []},
        {**common, "asset_id": "PU-03", "ts": "2026-04-07T09:00:00+00:00", "precursor": None,
         "source": "hse", "precursor_onset": None, "alert_opened_at": None, "lead_h": None,
         "warned_1h": False},
    ]  # fmt: skip
    print_incidents(rows)
    head, *lines = capsys.readouterr().out.splitlines()
    assert head.split()[:2] == ["incident", "(UTC)"]
    assert lines[0].split() == [
        "2026-04-05", "12:00", "CV-01", "dispatch", "2026-04-05", "03:36", "2026-04-05", "08:42",
        "3.3", "yes", "motor_current_a,", "signals:all",
    ]  # fmt: skip
    # Closed before the incident came, and explained by nothing above zero.
    assert lines[1].split()[-6:] == ["00:45", "0.5", "(<1", "h)", "no", "-"]
    assert "none" in lines[1].split()
    assert lines[2].split()[2:] == ["PU-03", "hse", "?", "-", "-", "-", "-"]
