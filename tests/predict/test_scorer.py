"""The live scorer against the real database: scores, explanations, idempotent alerts."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import psycopg
import pytest
from pydantic import SecretStr

from precursor.core.metrics import FEATURE_PSI, OPEN_ALERTS
from precursor.core.settings import Settings
from services.predict.scorer import Scorer
from services.predict.share import AssetShare
from tests.conftest import drop_database, fresh_database
from tests.helpers import wait_for
from tests.models.plant import register_champion

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plant(pg_server, tmp_path_factory, small_model, seeded_plant_template):
    """A seeded database and a registered champion whose threshold makes alerts certain."""
    model, _, _, frames = small_model
    url = fresh_database(pg_server, template=seeded_plant_template)
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
    with psycopg.connect(url) as conn:
        _score_until_done([Scorer(settings)], conn)  # a no-op when an earlier test scored
    before = _counts(url)
    assert before[1] > 0  # the plant fixture makes alerts certain: there is something to repeat
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


OPEN_ASSETS = "SELECT asset_id FROM alerts WHERE closed_at IS NULL"


def _score_until_done(scorers: list[Scorer], conn: psycopg.Connection) -> list[int]:
    written = [0] * len(scorers)
    while True:
        step = [s.cycle(conn) for s in scorers]
        if not any(step):
            return written
        written = [w + n for w, n in zip(written, step, strict=True)]


def _split(shares: list[AssetShare], parts: int) -> bool:
    return all(s.owned for s in shares) and sum(len(s.owned) for s in shares) == parts


def test_scale_out_scorers_split_the_assets_and_write_what_one_scorer_writes(
    plant, broker, tmp_path
) -> None:
    settings, url = plant
    scores = "SELECT asset_id, ts, probability, rating FROM risk_scores"
    with psycopg.connect(url) as conn:
        _score_until_done([Scorer(settings)], conn)  # a no-op when an earlier test scored
        expected = set(conn.execute(scores).fetchall())
        assets = [r[0] for r in conn.execute("SELECT asset_id FROM assets")]
        conn.execute("DELETE FROM risk_scores")
        conn.commit()
    shared = settings.model_copy(
        update={
            "kafka_bootstrap": broker.bootstrap,
            "topic_signals": f"scale-out-{tmp_path.name}",  # its own topic: a fresh group
            "score_scale_out": True,
        }
    )
    # No topic yet (ingest creates it, and a scorer may start first): the share creates it.
    shares = [AssetShare(shared), AssetShare(shared)]
    try:
        wait_for(lambda: _split(shares, shared.partitions), 90, "two scorers to split")
        assert not shares[0].owned & shares[1].owned
        assert all(sum(s.owns(a) for s in shares) == 1 for a in assets)  # one owner each
        mine = [sum(s.owns(a) for a in assets) for s in shares]
        scorers = [Scorer(shared, share) for share in shares]
        with psycopg.connect(url) as conn:
            written = _score_until_done(scorers, conn)
            got = set(conn.execute(scores).fetchall())
        assert got == expected  # together, exactly what one scorer writes
        per_time = len({t for _, t, _, _ in expected})
        for n, owned in zip(written, mine, strict=True):
            assert n <= owned * per_time  # each scored its own assets only
        assert sum(written) == len(expected)
        with psycopg.connect(url) as conn:
            open_by_asset = [r[0] for r in conn.execute(OPEN_ASSETS)]
            assert open_by_asset  # the plant fixture makes alerts certain
            for scorer, share in zip(scorers, shares, strict=True):
                scorer.advance_alerts(conn, [])  # sets the gauge from the open alerts
                own = sum(share.owns(a) for a in open_by_asset)
                assert OPEN_ALERTS._value.get() == own  # its own assets only: gauges add up

        shares[1].close()  # a scorer leaves: the other takes all its assets
        wait_for(lambda: _split(shares[:1], shared.partitions), 90, "the survivor to take all")
        assert all(shares[0].owns(a) for a in assets)
    finally:
        for share in shares:
            share.close()


def test_a_champion_that_cannot_be_loaded_is_said_once_and_retried(
    small_model, tmp_path, caplog
) -> None:
    """An artefact store that lost (or cannot serve) the champion's files: the scorer says so
    in one line, once, scores nothing meanwhile and keeps trying, instead of crash-looping."""
    import mlflow

    from models import registry

    model, _, _, frames = small_model
    before = mlflow.get_tracking_uri()
    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    try:
        version = register_champion(settings, model, frames)
        shutil.rmtree(tmp_path / "artifacts")
        scorer = Scorer(settings)
        with caplog.at_level(logging.ERROR, logger="services.predict.scorer"):
            assert scorer.refresh_model() is False
            assert scorer.refresh_model() is False
        said = [r.getMessage() for r in caplog.records if "cannot load" in r.getMessage()]
        assert len(said) == 1
        assert said[0].startswith(f"cannot load champion version {version} (")
        assert said[0].endswith("no scores until it loads")
    finally:
        registry.use_store(before)  # the module's plant fixture keeps its own store


def test_a_registry_that_stops_answering_does_not_stop_scoring(
    small_model, tmp_path, caplog, monkeypatch
) -> None:
    """MLflow down (a restart, maintenance): the loaded champion keeps scoring, the scorer says
    so once, and says when the registry answers again; no champion is no reason to stop."""
    import mlflow

    from models import registry
    from precursor.core.runtime.processes import free_port

    model, _, _, frames = small_model
    before = mlflow.get_tracking_uri()
    store = f"sqlite:///{tmp_path / 'm.db'}"
    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri=store)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    try:
        version = register_champion(settings, model, frames)
        scorer = Scorer(settings)
        assert scorer.refresh_model() and scorer.version == version
        registry.use_store(f"http://127.0.0.1:{free_port()}")  # nobody answers there
        with caplog.at_level(logging.INFO, logger="services.predict.scorer"):
            assert scorer.refresh_model() is True  # keeps scoring with the loaded version
            assert scorer.refresh_model() is True
            registry.use_store(store)
            assert scorer.refresh_model() is True
        said = [r.getMessage() for r in caplog.records]
        down = [m for m in said if m.startswith("model registry not answering")]
        assert len(down) == 1 and down[0].endswith(f"version {version} keeps scoring")
        assert said[-1] == "model registry answers again"
    finally:
        registry.use_store(before)
