"""Labels: spec incidents, plus alert outcomes recorded by people as extra positives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from models.labels import label, outcome_incidents

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DT = pl.Datetime("us", "UTC")


def _grid(asset: str, hours: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"asset_id": [asset] * hours, "t": [T0 + timedelta(hours=h) for h in range(hours)]},
        schema={"asset_id": pl.String, "t": DT},
    )


def _outcomes(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"asset_id": pl.String, "alert_id": pl.String, "opened_at": DT,
                "closed_at": DT, "outcome": pl.String},
        orient="row",
    )  # fmt: skip


def test_true_positive_outcome_labels_the_hours_before_it_closed() -> None:
    out = _outcomes(
        [("A", "A-1", T0 + timedelta(hours=30), T0 + timedelta(hours=36), "true_positive")]
    )
    extra = outcome_incidents(out, T0 + timedelta(days=10), timedelta(hours=24))
    assert extra.get_column("ts").to_list() == [T0 + timedelta(hours=36)]
    labelled = label(_grid("A", 48), extra, timedelta(hours=24))
    positive = [t for t, y in zip(labelled["t"], labelled["label"], strict=True) if y == 1]
    assert positive[0] == T0 + timedelta(hours=12) and positive[-1] == T0 + timedelta(hours=35)
    assert len(positive) == 24


def test_open_alert_counts_one_horizon_after_opening_and_never_past_the_data() -> None:
    out = _outcomes([("A", "A-1", T0, None, "true_positive")])
    assert outcome_incidents(out, T0 + timedelta(days=5), timedelta(hours=24))["ts"][0] == (
        T0 + timedelta(hours=24)
    )
    assert outcome_incidents(out, T0 + timedelta(hours=3), timedelta(hours=24))["ts"][0] == (
        T0 + timedelta(hours=3)
    )


def test_false_alarms_and_late_alerts_add_no_label() -> None:
    out = _outcomes([
        ("A", "A-1", T0, T0 + timedelta(hours=5), "false_alarm"),
        ("A", "A-2", T0, T0 + timedelta(hours=5), "too_late"),
    ])  # fmt: skip
    extra = outcome_incidents(out, T0 + timedelta(days=5), timedelta(hours=24))
    assert extra.is_empty()
    assert label(_grid("A", 24), extra, timedelta(hours=24))["label"].sum() == 0
