"""The backtest's terminal table: one metric a line, recalls with their 95 % interval."""

from __future__ import annotations

import pytest

from models.evaluation import recall_interval
from precursor.cli.commands.model import print_table


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
