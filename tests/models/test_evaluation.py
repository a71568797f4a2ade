"""Per-incident evaluation: leads, precursor recall and the lead the ground truth allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from models.alerting import Alert
from models.evaluation import evaluate
from pipelines.dataset import with_truth

T0 = datetime(2026, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _alert(asset: str, opened: datetime) -> Alert:
    return Alert(f"{asset}-a", asset, opened, "high", "high", 0.5, opened)


def test_leads_precursor_recall_and_available_lead_from_the_ground_truth() -> None:
    rows = pl.DataFrame(
        {
            "asset_id": ["A", "B", "C"],
            "ts": [T0 + 10 * H, T0 + 20 * H, T0 + 30 * H],
            "ref": ["a1", "b1", "c1"],
        }
    )
    known = {"a1": "2026-03-01T02:00:00Z", "b1": "2026-03-01T16:00:00Z", "c1": None}
    incidents = with_truth(rows, known)
    assert incidents.get_column("precursor").to_list() == [True, True, False]
    # A warned 6 h ahead (8 h were possible); B warned only 30 min ahead (4 h possible).
    alerts = [_alert("A", T0 + 4 * H), _alert("B", T0 + 19.5 * H)]
    m = evaluate(alerts, incidents, T0, T0 + 48 * H, 3, timedelta(hours=24))
    assert m["recall_at_1h"] == pytest.approx(1 / 3)
    assert m["recall_at_1h_precursor"] == pytest.approx(1 / 2)
    assert m["median_lead_h"] == pytest.approx(6.0)
    assert m["median_available_lead_h"] == pytest.approx((8.0 + 4.0) / 2)
    assert m["false_alerts"] == 0


def test_unknown_truth_leaves_precursor_and_onset_empty() -> None:
    rows = pl.DataFrame({"asset_id": ["A"], "ts": [T0], "ref": ["x"]})
    incidents = with_truth(rows, {})
    assert incidents.get_column("precursor").to_list() == [None]
    assert incidents.get_column("onset").to_list() == [None]
