"""Training and backtest data: time-ordered windows, feature rows, labels, ground truth."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import psycopg

from models.features import BASELINE_DAYS, BASELINE_LAG_DAYS, Frames, build_features
from models.grid import GRID
from models.grid import scoring_grid as make_grid
from models.labels import incidents as find_incidents
from models.labels import label, outcome_incidents
from precursor.core.errors import PrecursorError
from services.predict.frames import data_span, load_frames
from services.predict.rollups import refresh_rollups

TRAIN_SHARE, VALID_SHARE = 0.55, 0.2
NEGATIVE_KEEP = 0.3  # neighbouring 15-min rows are near duplicates; calibration undoes the skew


@dataclass(frozen=True)
class Windows:
    """Train, validation and test spans, separated by gaps of one horizon (no label overlap)."""

    start: datetime
    train_end: datetime
    valid_start: datetime
    valid_end: datetime
    test_start: datetime
    test_end: datetime

    def to_dict(self) -> dict[str, str]:
        """ISO strings, for MLflow and model metadata."""
        return {k: v.isoformat() for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, raw: dict[str, str]) -> Windows:
        """Inverse of to_dict."""
        return cls(**{k: datetime.fromisoformat(v) for k, v in raw.items()})


def align(t: datetime) -> datetime:
    """The first scoring-grid time at or after t."""
    step = GRID.total_seconds()
    return datetime.fromtimestamp(math.ceil(t.timestamp() / step) * step, t.tzinfo)


WINDOW_HORIZONS = 12  # train, validation and test need more than 12 horizons between them


def split(start: datetime, end: datetime, horizon: timedelta) -> Windows:
    """55 / 20 / 25 by time, with a horizon-long gap before validation and before test (the
    caller has checked that more than WINDOW_HORIZONS horizons lie between start and end)."""
    usable = (end - start) - 2 * horizon
    train_end = align(start + usable * TRAIN_SHARE)
    valid_start = train_end + horizon
    valid_end = align(valid_start + usable * VALID_SHARE)
    test_start = valid_end + horizon
    return Windows(start, train_end, valid_start, valid_end, test_start, end)


@dataclass
class Dataset:
    """Everything a training or backtest run reads from the database."""

    frames: Frames
    grid: pl.DataFrame  # asset_id, t, label
    incidents: pl.DataFrame  # asset_id, ts, source, ref, precursor (None when unknown)
    windows: Windows
    horizon: timedelta

    @property
    def n_assets(self) -> int:
        """Assets with any scored row."""
        return self.grid.get_column("asset_id").n_unique()

    def rows(self, a: datetime, b: datetime) -> pl.DataFrame:
        """Grid rows with a <= t < b."""
        return self.grid.filter((pl.col("t") >= a) & (pl.col("t") < b))

    def planned_maintenance(self) -> pl.DataFrame:
        """asset_id, ts: when planned maintenance began (never an incident)."""
        d = self.frames.dispatch
        return d.filter((pl.col("state") == "maintenance") & pl.col("planned")).select(
            "asset_id", "ts"
        )

    def criticality(self) -> pl.DataFrame:
        """asset_id, criticality."""
        return self.frames.assets.select("asset_id", "criticality")


def read_truth(path: Path | None) -> dict[str, str | None]:
    """Incident ref -> when the simulator started its precursor (RFC 3339), None for none;
    from a ground-truth JSON-lines file."""
    if path is None or not Path(path).exists():
        return {}
    return truth_from(orjson.loads(line) for line in Path(path).read_bytes().splitlines())


def truth_from(records: Iterable[dict]) -> dict[str, str | None]:
    """read_truth over ground-truth records already in memory."""
    out = {}
    for rec in records:
        if rec.get("type") != "incident":
            continue
        ref = rec.get("event_id") or rec.get("incident_id")
        if ref and rec.get("precursor") != "unknown":
            out[ref] = rec.get("precursor_onset")
    return out


def with_truth(incident_rows: pl.DataFrame, known: dict[str, str | None]) -> pl.DataFrame:
    """Add `precursor` (did the incident have one; null when unknown) and `onset` (when it
    began) from the ground truth."""
    refs = pl.col("ref")
    onset = refs.replace_strict(
        {k: v for k, v in known.items() if v is not None}, default=None, return_dtype=pl.String
    )
    return incident_rows.with_columns(
        pl.when(refs.is_in(list(known))).then(onset.is_not_null()).alias("precursor"),
        onset.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC").alias("onset"),
    )


def _days(span: timedelta) -> str:
    return f"{max(span.total_seconds(), 0.0) / 86400:.1f}"


WARM_UP = timedelta(days=BASELINE_DAYS + BASELINE_LAG_DAYS)


def min_history(horizon: timedelta) -> timedelta:
    """The history training needs more than: the baseline warm-up, the windows' horizons and
    the last horizon, which has no labels yet."""
    return WARM_UP + (WINDOW_HORIZONS + 1) * horizon


def span_windows(lo: datetime, hi: datetime, horizon: timedelta) -> Windows:
    """The default split of data from `lo` to `hi` (first and last 15-min bucket), after the
    baseline warm-up and leaving the last horizon unlabelled."""
    warm_up, needed = WARM_UP, min_history(horizon)
    start = align(lo + warm_up)
    # the one check of the history's length, after the warm-up's start is aligned to the grid
    if hi - start <= needed - warm_up:
        raise PrecursorError(
            f"not enough history to train: the data spans {_days(hi - lo)} days; with a "
            f"{horizon.total_seconds() / 3600:g} h horizon training needs more than "
            f"{_days(needed)} days (a {warm_up.days}-day baseline warm-up, {WINDOW_HORIZONS} "
            "horizons for the train, validation and test windows, and the last horizon, which "
            "has no labels yet)"
        )
    return split(start, hi - horizon, horizon)


def dataset_from_frames(
    frames: Frames,
    windows: Windows,
    hi: datetime,
    horizon: timedelta,
    truth: dict[str, str | None],
    min_downtime: timedelta = timedelta(minutes=30),
    outcomes: pl.DataFrame | None = None,
) -> Dataset:
    """Label the scoring grid of `windows` from what the frames recorded (and the verdicts on
    alerts in `outcomes`, if any). `hi` is the last bucket with data."""
    assets = frames.assets.get_column("asset_id").to_list()
    grid = make_grid(assets, windows.start, hi - horizon, frames.dispatch)
    incident_rows = find_incidents(frames.dispatch, frames.incidents, hi, min_downtime)
    incident_rows = with_truth(incident_rows, truth)
    found = incident_rows.select("asset_id", "ts")
    if outcomes is not None:
        # People's verdicts on alerts label training rows, but never count as incidents to
        # find: the backtest judges the model on what the plant recorded.
        extra = outcome_incidents(outcomes, hi, horizon)
        found = pl.concat([incident_rows.select(extra.columns), extra])
    return Dataset(frames, label(grid, found, horizon), incident_rows, windows, horizon)


def load_dataset(
    conn: psycopg.Connection,
    horizon: timedelta,
    truth: Path | None = None,
    windows: Windows | None = None,
    min_downtime: timedelta = timedelta(minutes=30),
) -> Dataset:
    """Roll up what is pending, load the span with data, label it, split it."""
    refresh_rollups(conn)
    lo, hi = data_span(conn)
    if lo is None:
        raise PrecursorError("no signal data in the database: ingest or replay some first")
    if windows is None:
        windows = span_windows(lo, hi, horizon)
    frames = load_frames(conn, windows.start, hi)
    return dataset_from_frames(
        frames, windows, hi, horizon, read_truth(truth), min_downtime, load_outcomes(conn)
    )


def load_outcomes(conn: psycopg.Connection) -> pl.DataFrame:
    """Alerts with an outcome recorded through the API."""
    rows = conn.execute(
        "SELECT asset_id, alert_id, opened_at, closed_at, outcome FROM alerts "
        "WHERE outcome IS NOT NULL"
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={
            "asset_id": pl.String,
            "alert_id": pl.String,
            "opened_at": pl.Datetime("us", "UTC"),
            "closed_at": pl.Datetime("us", "UTC"),
            "outcome": pl.String,
        },
        orient="row",
    )


def feature_rows(ds: Dataset, rows: pl.DataFrame) -> pl.DataFrame:
    """Features for grid rows, with their labels."""
    if rows.is_empty():
        raise PrecursorError("a data window has no scorable rows")
    features = build_features(ds.frames, rows.select("asset_id", "t"))
    return features.join(rows.select("asset_id", "t", "label"), on=["asset_id", "t"], how="left")


def subsample_negatives(rows: pl.DataFrame, keep: float = NEGATIVE_KEEP, seed: int = 7):
    """All positives and a deterministic share of negatives."""
    rng = np.random.default_rng(seed)
    mask = (rows.get_column("label").to_numpy() == 1) | (rng.uniform(size=rows.height) < keep)
    return rows.filter(pl.Series(mask))


def scored(ds: Dataset, features: pl.DataFrame, scores: np.ndarray) -> pl.DataFrame:
    """asset_id, t, probability (or baseline score), criticality, label, score."""
    return (
        features.select("asset_id", "t", "label")
        .with_columns(pl.Series("probability", scores), pl.Series("score", scores))
        .join(ds.criticality(), on="asset_id", how="left")
    )
