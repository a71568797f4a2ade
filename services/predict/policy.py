"""The alerting policy (rating matrix, alert machine, horizon) as configured in settings."""

from __future__ import annotations

from datetime import timedelta

from models.alerting import AlertMachine
from models.evaluation import Policy
from models.rating import RiskMatrix
from precursor.core.settings import Settings, parse_floats


def policy_from(settings: Settings) -> Policy:
    """Build the policy every scorer, trainer and backtest uses."""
    bands = parse_floats(settings.likelihood_bands, 4, "PRECURSOR_LIKELIHOOD_BANDS")
    medium, high, critical = parse_floats(settings.rating_bands, 3, "PRECURSOR_RATING_BANDS")
    return Policy(
        matrix=RiskMatrix(bands, int(medium), int(high), int(critical)),  # type: ignore[arg-type]
        machine=AlertMachine(
            settings.alert_open_rating, timedelta(hours=settings.alert_cooldown_h)
        ),
        horizon=timedelta(hours=settings.horizon_h),
    )
