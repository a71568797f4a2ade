"""Risk rating: probability -> likelihood band 1-5, criticality -> consequence, 5x5 matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATINGS = ("low", "medium", "high", "critical")
RANK = {r: i for i, r in enumerate(RATINGS)}


@dataclass(frozen=True)
class RiskMatrix:
    """Likelihood bands are multiples of the model's alert threshold p*: a probability at p* is
    likelihood 4, at 2 p* likelihood 5. The rating of likelihood x consequence (1-25) is low
    below `medium_at`, medium below `high_at`, high below `critical_at`, else critical."""

    bands: tuple[float, float, float, float] = (0.6, 0.8, 1.0, 2.0)  # lower bounds of L2..L5
    medium_at: int = 5
    high_at: int = 10
    critical_at: int = 20

    def likelihood(self, probability: np.ndarray | float, threshold: float) -> np.ndarray:
        """Band 1..5 for each probability."""
        edges = np.asarray(self.bands) * threshold
        return 1 + np.searchsorted(edges, np.asarray(probability, dtype=float), side="right")

    def rating(self, likelihood: np.ndarray | int, consequence: np.ndarray | int) -> np.ndarray:
        """'low' | 'medium' | 'high' | 'critical' for each (likelihood, consequence)."""
        score = np.asarray(likelihood) * np.asarray(consequence)
        idx = np.searchsorted([self.medium_at, self.high_at, self.critical_at], score, "right")
        return np.asarray(RATINGS, dtype=object)[idx]

    def level_for(self, rating: str, consequence: int, threshold: float) -> float | None:
        """The lowest probability rated at least `rating` for this consequence (where an
        asset's alert opens, for the opening rating); None when no probability is."""
        for likelihood in range(1, 6):
            if RANK[str(self.rating(likelihood, consequence))] >= RANK[rating]:
                return 0.0 if likelihood == 1 else self.bands[likelihood - 2] * threshold
        return None


def consequence(criticality: np.ndarray | int | None) -> np.ndarray:
    """The asset's criticality is its consequence class (3 when unknown)."""
    c = np.asarray(criticality if criticality is not None else 3, dtype=float)
    return np.clip(np.nan_to_num(c, nan=3.0), 1, 5).astype(int)
