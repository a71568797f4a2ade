"""The default split of a history: its windows, and a clear error when the history is short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.dataset import span_windows
from precursor.core.errors import PrecursorError

LO = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("horizon", "needed_days"), [(timedelta(hours=24), 22.0), (timedelta(hours=2), 10.1)]
)
def test_a_short_history_is_one_error_saying_how_much_is_needed(
    horizon: timedelta, needed_days: float
) -> None:
    with pytest.raises(PrecursorError) as caught:
        span_windows(LO, LO + 4 * DAY, horizon)
    message = str(caught.value)
    assert "the data spans 4.0 days" in message
    assert f"needs more than {needed_days:.1f} days" in message
    # just past what it asked for, the same history splits
    w = span_windows(LO, LO + timedelta(days=needed_days) + DAY / 4, horizon)
    assert LO < w.start < w.train_end < w.valid_start < w.valid_end < w.test_start < w.test_end


def test_windows_keep_a_horizon_between_them_and_leave_the_last_one_unlabelled() -> None:
    horizon = timedelta(hours=24)
    hi = LO + 120 * DAY
    w = span_windows(LO, hi, horizon)
    assert w.start >= LO + 9 * DAY  # the baseline warm-up
    assert w.valid_start - w.train_end == horizon
    assert w.test_start - w.valid_end == horizon
    assert w.test_end == hi - horizon
