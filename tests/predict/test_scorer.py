"""The live scorer against the real database: scores, explanations, idempotent alerts."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from pydantic import SecretStr

from precursor.core.metrics import FEATURE_PSI
from precursor.core.settings import Settings
from services.predict.scorer import Scorer
from tests.conftest import drop_database, fresh_database
from tests.models.plant import register_champion, seed_database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plant(pg_server, tmp_path_factory, small_model):
    """A seeded database and a registered champion whose threshold makes alerts certain."""
    model, sim, _, frames = small_model
    url = fresh_database(pg_server)
    seed_database(url, sim)
    tmp = tmp_path_factory.mktemp("mlflow")
    settings = Settings(
        database_url=SecretStr(url),
        data_dir=tmp,
        mlflow_tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
    )
    register_champion(settings, model, frames)
    yield settings, url
    drop_database(pg_server, url)


def _counts(url: str) -> tuple[int, int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM risk_scores), (SELECT count(*) FROM alerts), "
            "(SELECT count(*) FROM alerts WHERE closed_at IS NULL), "
            "(SELECT count(*) FROM alert_events)"
        ).fetchone()


def test_scorer_scores_assets_in_service_explains_and_alerts(plant) -> None:
    settings, url = plant
    scorer = Scorer(settings)
    with psycopg.connect(url) as conn:
        while scorer.cycle(conn):
            pass
        rows = conn.execute(
            "SELECT asset_id, ts, probability, likelihood, consequence, rating, contributions "
            "FROM risk_scores"
        ).fetchall()
        state = dict(
            conn.execute(
                "SELECT DISTINCT ON (asset_id) asset_id, state FROM dispatch_events "
                "WHERE ts <= (SELECT max(ts) FROM risk_scores) ORDER BY asset_id, ts DESC"
            ).fetchall()
        )
        events = conn.execute("SELECT kind, payload FROM alert_events ORDER BY event_id").fetchall()
        unlinked = conn.execute(
            "SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM risk_register_alerts "
            "r JOIN risk_register e USING (entry_id) WHERE r.alert_id = a.alert_id "
            "AND e.asset_id = a.asset_id)"
        ).fetchone()[0]
    scored_times = {r[1] for r in rows}
    assert len(scored_times) == 97  # a first start catches up 24 h: both ends included
    assert all(0 <= r[2] <= 1 and 1 <= r[3] <= 5 and 1 <= r[4] <= 5 for r in rows)
    explained = [r for r in rows if r[3] >= 3 or r[5] in ("high", "critical")]
    assert explained and all(r[6] for r in explained)
    assert all(c["contribution"] > 0 for r in explained for c in r[6])
    latest = max(scored_times)
    down_now = {a for a, s in state.items() if s in ("down", "maintenance")}
    assert not any(r[0] in down_now and r[1] == latest for r in rows)
    assert events and events[0][0] == "opened"
    opened = events[0][1]
    assert opened["status"] == "open" and opened["contributions"]
    assert opened["rating"] in ("high", "critical")
    assert unlinked == 0  # every opening fed the risk register
    drift = {s.labels["feature"]: s.value for s in FEATURE_PSI.collect()[0].samples}
    assert set(drift) == set(scorer.model.features)  # PSI per feature, not just the top ones
    assert all(np.isfinite(v) and v >= 0 for v in drift.values())


def test_scorer_restart_opens_no_duplicate_alert(plant) -> None:
    settings, url = plant
    before = _counts(url)
    with psycopg.connect(url) as conn:
        assert Scorer(settings).cycle(conn) == 0  # nothing new since the last grid time
        conn.execute("DELETE FROM risk_scores")  # force a full re-score of the same span
        conn.commit()
        again = Scorer(settings)
        while again.cycle(conn):
            pass
        per_asset_open = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM alerts WHERE closed_at IS NULL "
            "GROUP BY asset_id) c"
        ).fetchone()[0]
    after = _counts(url)
    assert after[0] == before[0]  # the same scores again
    assert after[1:] == before[1:]  # no new alert, no new event
    assert per_asset_open == 1


def test_contributions_name_signals_that_exist(plant) -> None:
    _settings, url = plant
    with psycopg.connect(url) as conn:
        tags = {r[0] for r in conn.execute("SELECT DISTINCT tag FROM signal_rollup_15m")}
        contrib = [
            c
            for (cs,) in conn.execute(
                "SELECT contributions FROM risk_scores WHERE contributions IS NOT NULL"
            )
            for c in cs
        ]
    names = {c["signal"] for c in contrib}
    assert names
    assert all(n in tags or ":" in n or n == "hse_incidents" for n in names)
    assert not any(n.startswith("context:") and "_max" in n for n in names)
    assert np.isfinite([c["contribution"] for c in contrib]).all()
