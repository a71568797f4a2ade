"""`precursor score`: every interval, score each asset in service and run the alert machine."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import orjson
import polars as pl
import psycopg
from mlflow.exceptions import MlflowException

from models import registry
from models.drift import psi
from models.estimator import RiskModel
from models.features import build_features
from models.grid import GRID, scoring_grid
from models.rating import RANK, consequence
from precursor.core.db import open_pool
from precursor.core.errors import BrokerUnavailable, DatabaseUnavailable
from precursor.core.kafka import make_producer
from precursor.core.metrics import (
    ALERT_TRANSITIONS,
    CHAMPION_VERSION,
    FEATURE_PSI,
    LAST_SCORE_TIME,
    OPEN_ALERTS,
    SCORE_CYCLE_SECONDS,
    SCORES_WRITTEN,
    start_service,
)
from precursor.core.settings import Settings
from services.predict.alerts_store import SCORES_CHANNEL, open_alerts, persist
from services.predict.frames import load_frames
from services.predict.policy import policy_from
from services.predict.registry_sync import sync_registry
from services.predict.rollups import refresh_rollups
from services.predict.share import AssetShare
from services.register.store import feed_alert

logger = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=24)  # on a first start, score this much history
MAX_STEPS_PER_CYCLE = 96 * 7  # a long backlog is scored a week at a time
EXPLAIN_FROM_LIKELIHOOD = 3  # SHAP is ~230x slower than predict: explain only near the line
DRIFT_WINDOW = 5000  # the newest scored rows PSI compares with training
DRIFT_MIN_ROWS = 200
DRIFT_EVERY_S = 60.0  # PSI of every feature costs ~60 ms on a full window; it moves slowly


@dataclass(frozen=True)
class ScoredBatch:
    """One pass's scored rows: the features `x` (its t and asset_id) and, per row of x, the
    probability, likelihood, consequence, rating and contributions (None: not explained)."""

    x: pl.DataFrame
    prob: np.ndarray
    lik: np.ndarray
    cons: np.ndarray
    rating: np.ndarray
    contrib: list[list | None]

    def rows(self) -> list[tuple]:
        """One tuple per row, in x's order:
        (t, asset, probability, likelihood, consequence, rating, contributions)."""
        return list(
            zip(
                self.x.get_column("t").to_list(),
                self.x.get_column("asset_id").to_list(),
                self.prob,
                self.lik,
                self.cons,
                self.rating,
                self.contrib,
                strict=True,
            )
        )


class Scorer:
    """Holds the champion, the alert policy and the drift window between cycles."""

    def __init__(self, settings: Settings, share: AssetShare | None = None):
        self.settings = settings
        self.share = share  # None: this scorer scores every asset
        self.policy = policy_from(settings)
        self.model: RiskModel | None = None
        self.version: str | None = None
        self._unloadable: str | None = None  # a champion version that failed to load
        self.registry_down = False  # the last champion lookup failed (not: found none)
        self._drift: deque[np.ndarray] = deque(maxlen=DRIFT_WINDOW)
        self._drift_at = -np.inf  # monotonic time PSI was last exported
        self._producer = None

    # -- model -------------------------------------------------------------------------------

    def refresh_model(self, conn: psycopg.Connection | None = None) -> bool:
        """Load the champion when the alias has moved (and copy the registry into the
        database for the API); False while there is none."""
        try:
            version = registry.champion_version()
        except MlflowException as exc:
            # The registry down (a restart, maintenance) is no reason to stop warning: the
            # loaded champion keeps scoring. Said once, and again when it answers.
            if not self.registry_down:
                self.registry_down = True
                logger.warning(
                    "model registry not answering (%s); %s",
                    str(exc).splitlines()[0][:200],
                    f"version {self.version} keeps scoring" if self.model else "no scores yet",
                )
            return self.model is not None
        if self.registry_down:
            self.registry_down = False  # the last champion lookup failed (not: found none)
            logger.info("model registry answers again")
        if version is None:
            return False
        if version != self.version:
            try:
                model = registry.load_version(version)
            except (MlflowException, OSError) as exc:
                # Said once per version, then retried quietly each cycle: the artefact store
                # may come back; until then the previous champion, if any, keeps scoring.
                if version != self._unloadable:
                    self._unloadable = version
                    keep = f"version {self.version} keeps scoring" if self.model else "no scores"
                    logger.error(
                        "cannot load champion version %s (%s); %s until it loads",
                        version,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                        keep,
                    )
                return self.model is not None
            if conn is not None:
                sync_registry(conn)  # the API shows the champion this scorer now uses
            self.model = model
            self.version = version
            self._unloadable = None
            self._drift.clear()
            self._drift_at = -np.inf
            FEATURE_PSI.clear()  # the old champion's features may not be this one's
            CHAMPION_VERSION.set(float(version))
            logger.info("scoring with precursor-risk version %s", version)
        return True

    # -- one cycle -----------------------------------------------------------------------------

    def cycle(self, conn: psycopg.Connection, stop: Callable[[], bool] | None = None) -> int:
        """Roll up, then score every grid time not scored yet; returns rows written. `stop` is
        asked between rollup chunks and before scoring."""
        refresh_rollups(conn, stop=stop)
        conn.commit()
        if stop is not None and stop():
            return 0
        if not self.refresh_model(conn):
            return 0
        mine = self._my_assets(conn)
        if mine is not None and not mine:
            return 0  # no assets assigned to this scorer (yet)
        latest = conn.execute("SELECT max(bucket) FROM signal_rollup_15m").fetchone()[0]
        if latest is None:
            return 0
        t_end = latest  # the newest bucket may still fill: features at t use buckets before t
        if mine is None:
            done = conn.execute(
                "SELECT max(ts) FROM risk_scores WHERE model_version = %s", (self.version,)
            ).fetchone()[0]
        else:  # scorers sharing the plant each go at their own pace
            done = conn.execute(
                "SELECT max(ts) FROM risk_scores WHERE model_version = %s AND asset_id = ANY(%s)",
                (self.version, mine),
            ).fetchone()[0]
        t_start = (done + GRID) if done is not None else t_end - CATCH_UP
        if t_start > t_end:
            return 0
        t_end = min(t_end, t_start + GRID * (MAX_STEPS_PER_CYCLE - 1))
        return self.score_span(conn, t_start, t_end, only=mine)

    def _my_assets(self, conn: psycopg.Connection) -> list[str] | None:
        """The assets this scorer owns under the group's current assignment; None: all."""
        if self.share is None:
            return None
        ids = [r[0] for r in conn.execute("SELECT asset_id FROM assets").fetchall()]
        return [a for a in ids if self.share.owns(a)]

    def score_span(
        self,
        conn: psycopg.Connection,
        t_start: datetime,
        t_end: datetime,
        only: list[str] | None = None,
    ) -> int:
        """Score grid times t_start..t_end (inclusive) in time order, then advance alerts; with
        `only`, just those assets (a scale-out scorer's share, fixed for the whole cycle)."""
        frames = load_frames(conn, t_start, t_end, only=only)
        assets = frames.assets.get_column("asset_id").to_list()
        grid = scoring_grid(assets, t_start, t_end, frames.dispatch)
        if grid.is_empty():
            return 0
        x = build_features(frames, grid).sort("t", "asset_id")
        model = self.model
        assert model is not None
        prob = model.predict(x)
        crit = x.select("asset_id").join(
            frames.assets.select("asset_id", "criticality"), on="asset_id", how="left"
        )
        cons = consequence(crit.get_column("criticality").to_numpy())
        lik = self.policy.matrix.likelihood(prob, model.threshold)
        rating = self.policy.matrix.rating(lik, cons)
        # Every alert-worthy row is explained; so is anything close to the line.
        explain = np.flatnonzero(
            (lik >= EXPLAIN_FROM_LIKELIHOOD) | np.isin(rating, ["high", "critical"])
        )
        contrib: list[list | None] = [None] * x.height
        if explain.size:
            told = model.contributions(x[explain], alarms=frames.alarms)
            for i, c in zip(explain, told, strict=True):
                contrib[i] = c
        self._track_drift(x)
        batch = ScoredBatch(x, prob, lik, cons, rating, contrib)
        written = self._write_scores(conn, batch)
        self.advance_alerts(conn, batch.rows())
        conn.execute("SELECT pg_notify(%s, %s)", (SCORES_CHANNEL, t_end.isoformat()))
        conn.commit()
        LAST_SCORE_TIME.set(t_end.timestamp())
        SCORES_WRITTEN.inc(written)
        return written

    def _write_scores(self, conn: psycopg.Connection, batch: ScoredBatch) -> int:
        # One statement over the columns as arrays, not executemany's pipeline of one INSERT per
        # row: 15 ms against 26 ms for 1,000 rows on the embedded server, and small servers that
        # cannot take pipelines (PGlite + TimescaleDB in the tests) take it too.
        assert self.model is not None
        x = batch.x
        if x.is_empty():
            return 0
        conn.execute(
            "INSERT INTO risk_scores (ts, asset_id, model_version, horizon_s, probability, "
            "likelihood, consequence, rating, contributions) "
            "SELECT ts, asset_id, %s, %s, p, li, c, r, k::jsonb FROM unnest("
            "%s::timestamptz[], %s::text[], %s::float8[], %s::int2[], %s::int2[], %s::text[], "
            "%s::text[]) AS u(ts, asset_id, p, li, c, r, k) ON CONFLICT DO NOTHING",
            (
                self.version,
                int(self.model.horizon_s),
                x.get_column("t").to_list(),
                x.get_column("asset_id").to_list(),
                np.asarray(batch.prob, dtype=float).tolist(),
                np.asarray(batch.lik, dtype=int).tolist(),
                np.asarray(batch.cons, dtype=int).tolist(),
                [str(r) for r in batch.rating],
                [orjson.dumps(k).decode() if k is not None else None for k in batch.contrib],
            ),
        )
        return x.height

    def advance_alerts(self, conn: psycopg.Connection, rows: list[tuple]) -> None:
        """Step the alert machine through ScoredBatch.rows() tuples in time order:
        persist transitions, feed the risk register on openings, publish the events."""
        current = open_alerts(conn)
        open_rank = RANK[self.policy.machine.open_rating]
        published = []
        for t, asset, p, li, c, r, k in rows:
            alert = current.get(asset)
            if alert is not None and t <= alert.updated_at:
                continue  # already applied to this alert (a span re-scored after a restart)
            if alert is None and RANK[str(r)] < open_rank:
                continue  # nothing open, nothing to open: the common case
            alert, transition = self.policy.machine.step(alert, asset, t, str(r), float(p))
            out = persist(conn, transition, alert, self.version, k)
            current[asset] = alert
            if transition is not None:
                ALERT_TRANSITIONS.labels(transition.kind).inc()
            if out is not None:
                published.append(out)
                if out["event"] == "opened":
                    # Same transaction as the alert: an opening never lacks its register entry.
                    feed_alert(conn, out, int(li), int(c), self.policy.matrix)
        # A scale-out scorer counts the alerts of its own assets, so the gauges sum to the plant.
        mine = self.share.owns if self.share is not None else (lambda _: True)
        OPEN_ALERTS.set(sum(1 for a, alert in current.items() if alert is not None and mine(a)))
        if published:
            self._publish(published)

    def _publish(self, events: list[dict]) -> None:
        if not self.settings.kafka_bootstrap:
            return  # no broker configured: the database and its NOTIFY carry the events
        try:
            if self._producer is None:
                self._producer = make_producer(self.settings, acks=1)
            for e in events:
                self._producer.send(
                    self.settings.topic_alerts, key=e["asset_id"].encode(), value=orjson.dumps(e)
                )
            self._producer.flush(10)
        except (BrokerUnavailable, Exception) as exc:  # the database already holds the alert
            logger.warning("could not publish %d alert events: %s", len(events), exc)

    def _track_drift(self, x: pl.DataFrame) -> None:
        """Keep the newest scored rows and, at most every DRIFT_EVERY_S, export each feature's
        PSI against the champion's training reference."""
        model = self.model
        if not model or not model.reference:
            return
        names = [n for n in model.features if n in model.reference]
        sub = model.matrix(x)[:, [model.features.index(n) for n in names]]
        self._drift.extend(sub)
        now = time.monotonic()
        if len(self._drift) < DRIFT_MIN_ROWS or now - self._drift_at < DRIFT_EVERY_S:
            return
        self._drift_at = now
        window = np.vstack(self._drift)
        for j, name in enumerate(names):
            value = psi(model.reference[name], window[:, j])
            if value is not None:
                FEATURE_PSI.labels(name).set(value)


def run_scorer(
    settings: Settings,
    stop: threading.Event | None = None,
    *,
    install_signal_handlers: bool = True,
    metrics: bool = True,
) -> int:
    """Loop until stopped: a cycle every PRECURSOR_SCORE_INTERVAL_S."""
    stop = start_service(settings, stop, handle_signals=install_signal_handlers, metrics=metrics)
    # MLflow retries a failed request up to 7 times with growing pauses (minutes in all): with
    # the registry down, each cycle would stall that long before scoring with the loaded model.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    registry.configure(settings.resolved_mlflow_uri, settings.data_dir.resolve() / "mlartifacts")
    scorer = Scorer(settings)
    pool = None
    waiting_logged = False
    while not stop.is_set():
        started = time.perf_counter()
        try:
            if settings.score_scale_out and scorer.share is None:
                scorer.share = AssetShare(settings)
            if pool is None:
                pool = open_pool(settings, max_size=2)
            with pool.connection() as conn:
                written = scorer.cycle(conn, stop.is_set)
            if scorer.model is None and not scorer.registry_down and not waiting_logged:
                logger.info("no champion model yet: rollups kept current; run `precursor train`")
                waiting_logged = True
            if written:
                SCORE_CYCLE_SECONDS.observe(time.perf_counter() - started)
                logger.info("scored %d rows", written)
                continue  # more backlog may wait
        except (DatabaseUnavailable, psycopg.OperationalError) as exc:
            logger.warning("scorer: database unavailable (%s); retrying", exc)
        except BrokerUnavailable as exc:  # only with scale-out: the group needs the broker
            logger.warning("scorer: %s; retrying", exc)
        stop.wait(settings.score_interval_s)
    if pool is not None:
        pool.close()
    if scorer.share is not None:
        scorer.share.close()
    return 0
