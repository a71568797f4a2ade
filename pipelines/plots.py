"""PNG plots logged with each training run: PR curve, calibration, feature importance."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve


def pr_curve(labels: np.ndarray, scores: dict[str, np.ndarray], path: Path) -> None:
    """Precision-recall curves of the model and baselines on the test rows."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, s in scores.items():
        p, r, _ = precision_recall_curve(labels, s)
        ax.plot(r, p, label=name)
    ax.set_xlabel("recall (rows)")
    ax.set_ylabel("precision")
    ax.set_title("Test window, per 15-min row")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def calibration(labels: np.ndarray, probs: np.ndarray, path: Path) -> None:
    """Reliability diagram of the calibrated probabilities on the test rows."""
    frac, mean = calibration_curve(labels, probs, n_bins=10, strategy="quantile")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, max(mean.max(), frac.max())], [0, max(mean.max(), frac.max())], "k:", lw=1)
    ax.plot(mean, frac, "o-")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed incident share")
    ax.set_title("Calibration (test)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def importance(names: list[str], gains: np.ndarray, path: Path, top: int = 25) -> None:
    """Top features by total gain."""
    order = np.argsort(gains)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.barh([names[i] for i in order], gains[order])
    ax.set_xlabel("total gain")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
