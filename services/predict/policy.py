"""The alerting policy (rating matrix, alert machine, horizon, shift length) from settings."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from models.rating import RiskMatrix
from precursor.core.settings import Settings, parse_floats

if TYPE_CHECKING:
    from models.evaluation import Policy


def matrix_from(settings: Settings) -> RiskMatrix:
    """The rating matrix alone (the API needs no more, and stays light)."""
    bands = parse_floats(settings.likelihood_bands, 4, "PRECURSOR_LIKELIHOOD_BANDS")
    medium, high, critical = parse_floats(settings.rating_bands, 3, "PRECURSOR_RATING_BANDS")
    return RiskMatrix(bands, int(medium), int(high), int(critical))  # type: ignore[arg-type]


def policy_from(settings: Settings) -> Policy:
    """Build the policy every scorer, trainer and backtest uses."""
    from models.alerting import AlertMachine
    from models.evaluation import Policy

    return Policy(
        matrix=matrix_from(settings),
        machine=AlertMachine(
            settings.alert_open_rating, timedelta(hours=settings.alert_cooldown_h)
        ),
        horizon=timedelta(hours=settings.horizon_h),
        shift_h=settings.shift_pattern.mean_hours,
    )
