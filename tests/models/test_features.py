"""Features: no leakage from the future, exact rollups, batch features equal live features."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import diurnal
from models.features import DIRECT_MAX_TIMES, Frames, build_features, running_buckets
from models.grid import GRID, scoring_grid
from pipelines.simulate.frames import frames_from, rollups, samples_frame
from services.predict.frames import data_span, load_frames
from services.predict.rollups import refresh_rollups
from tests.models.plant import seed_database, small_plant

SIM, SINK = small_plant()
FRAMES = frames_from(SINK.messages, SIM.registry())
START = FRAMES.r15.get_column("bucket").min() + timedelta(days=9)
END = FRAMES.r15.get_column("bucket").max()
ASSETS = FRAMES.assets.get_column("asset_id").to_list()
GRID_TIMES = pl.datetime_range(START, END, "15m", eager=True, time_zone="UTC").to_list()


def _cut(frames: Frames, t, *, scale: float, drop_events: bool) -> Frames:
    """Change everything at or after t: signal values scaled, later events dropped or doubled."""
    samples = samples_frame(SINK.messages["signals"]).with_columns(
        pl.when(pl.col("ts") >= t)
        .then(pl.col("value") * scale)
        .otherwise(pl.col("value"))
        .alias("value")
    )

    def events(df: pl.DataFrame) -> pl.DataFrame:
        later = df.filter(pl.col("ts") >= t)
        kept = df.filter(pl.col("ts") < t)
        return (
            kept
            if drop_events
            else pl.concat([kept, later, later.with_columns(pl.col("ts") + timedelta(minutes=7))])
        )

    dispatch = events(frames.dispatch).sort("asset_id", "ts", "event_id")
    r15, rday = rollups(samples, dispatch)
    return Frames(
        r15, rday, events(frames.alarms), dispatch, events(frames.incidents), frames.assets
    )


def _row(frames: Frames, asset: str, t, *, dense: bool = False) -> dict:
    """The asset's features at t, computed for t alone (the live path, windows summed) or
    `dense`ly, for t and the grid times before it (training's path, windows rolled)."""
    times = [t - GRID * i for i in range(DIRECT_MAX_TIMES + 1 if dense else 1)]
    grid = pl.DataFrame({"asset_id": asset, "t": times}).with_columns(
        pl.col("t").cast(pl.Datetime("us", "UTC"))
    )
    return build_features(frames, grid).filter(pl.col("t") == t).row(0, named=True)


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) or isinstance(y, float):
            if x is None or y is None or np.isnan(x) or np.isnan(y):
                assert (x is None or np.isnan(x)) and (y is None or np.isnan(y)), key
            else:
                assert x == pytest.approx(y, rel=1e-6, abs=1e-9), key
        else:
            assert x == y, key


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    asset=st.sampled_from(ASSETS),
    t=st.sampled_from(GRID_TIMES),
    scale=st.floats(min_value=0.1, max_value=10, allow_nan=False),
    drop=st.booleans(),
)
def test_features_at_t_ignore_any_change_after_t(asset, t, scale, drop) -> None:
    """On both paths; and the live path (t alone) gives what training's path gives."""
    cut = _cut(FRAMES, t, scale=scale, drop_events=drop)
    before = _row(FRAMES, asset, t)
    _same(before, _row(cut, asset, t))
    dense = _row(FRAMES, asset, t, dense=True)
    _same(dense, _row(cut, asset, t, dense=True))
    _same(before, dense)


def test_features_do_change_when_data_before_t_changes() -> None:
    """The guard for the test above: it would notice a change that does matter."""
    t = GRID_TIMES[len(GRID_TIMES) // 2]
    earlier = t - timedelta(hours=2)
    before = _row(FRAMES, ASSETS[0], t)
    after = _row(_cut(FRAMES, earlier, scale=3.0, drop_events=True), ASSETS[0], t)
    changed = [k for k in before if k.startswith("sig.") and before[k] != after[k]]
    assert changed


def _same_daily_rollups(got_rday: pl.DataFrame, want_rday: pl.DataFrame) -> None:
    """The database's daily rollups equal the reference over the days the database holds."""
    dkey = ["asset_id", "tag", "day"]
    got = got_rday.sort(dkey)
    want = want_rday.filter(pl.col("day") >= got.get_column("day").min()).sort(dkey)
    assert got.height == want.height > 0
    for col in ("n", "sum", "sumsq", *diurnal.TERMS):
        got_c, want_c = got.get_column(col).to_numpy(), want.get_column(col).to_numpy()
        assert np.allclose(got_c, want_c, rtol=1e-9, atol=1e-6), col


@pytest.fixture(scope="module")
def sim_template(pg_server):
    """SIM written once through ingest's writers, nothing rolled up yet: a template to clone."""
    from tests.conftest import template_database

    yield from template_database(pg_server, lambda url: seed_database(url, SIM))


def _roll_up(url: str) -> None:
    with psycopg.connect(url) as conn:
        refresh_rollups(conn)


@pytest.fixture(scope="module")
def rolled_up_template(pg_server, sim_template):
    """SIM written and rolled up: a template to clone."""
    from tests.conftest import template_database

    yield from template_database(pg_server, _roll_up, sim_template)


@pytest.fixture(scope="module")
def seeded(pg_server, rolled_up_template):
    from tests.conftest import drop_database, fresh_database

    url = fresh_database(pg_server, template=rolled_up_template)
    yield url
    drop_database(pg_server, url)


def test_database_rollups_equal_rollups_from_raw_samples(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        db = load_frames(conn, START - timedelta(days=30), END + timedelta(days=1))
    r15, _rday = FRAMES.r15, FRAMES.rday
    key = ["asset_id", "tag", "bucket"]
    got = db.r15.sort(key)
    want = r15.filter(pl.col("bucket") >= got.get_column("bucket").min()).sort(key)
    assert got.height == want.height
    for col in ("n", "sum", "sumsq", "min", "max", "last"):
        assert np.allclose(got.get_column(col).to_numpy(), want.get_column(col).to_numpy()), col
    _same_daily_rollups(db.rday, FRAMES.rday)


def test_days_rolled_up_before_the_daily_cycle_sums_are_redone_from_15_min_rollups(
    seeded: str,
) -> None:
    # As migration 0006 finds a database: daily rows without the cycle sums, every day marked.
    zero = ", ".join(f"{c} = 0" for c in diurnal.TERMS)
    with psycopg.connect(seeded) as conn:
        conn.execute(f"UPDATE signal_rollup_1d SET {zero}")
        marked = conn.execute(
            "INSERT INTO rollup_dirty_1d SELECT DISTINCT asset_id, day FROM signal_rollup_1d"
        ).rowcount
        conn.commit()
        assert marked > 0
        refresh_rollups(conn)
        left = conn.execute("SELECT count(*) FROM rollup_dirty_1d").fetchone()[0]
        db = load_frames(conn, START - timedelta(days=30), END + timedelta(days=1))
    assert left == 0
    _same_daily_rollups(db.rday, FRAMES.rday)


def test_a_late_state_change_redoes_the_days_its_state_reaches(
    pg_server, rolled_up_template
) -> None:
    """A stop entered after the fact (delay codes often are): the days after its own, up to
    the asset's next event, were rolled up with the state known before it and must be redone."""
    from pydantic import SecretStr

    from precursor.core.db import open_pool
    from precursor.core.settings import Settings
    from services.ingest.sinks import SPECS, TableWriter
    from tests.conftest import drop_database, fresh_database

    asset = ASSETS[0]
    mine = FRAMES.dispatch.filter(pl.col("asset_id") == asset)
    day = START.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    stop_at = day + timedelta(hours=23, minutes=50)
    after = mine.filter(pl.col("ts") > stop_at).get_column("ts").min()
    assert after.date() > stop_at.date()  # the stop reaches into the next day
    stop = {"event_id": f"{asset}-late", "ts": stop_at, "asset_id": asset, "state": "down",
            "planned": False, "reason_code": "LATE", "reason": "entered late", "crew": "A",
            "operator": None}  # fmt: skip
    url = fresh_database(pg_server, template=rolled_up_template)
    try:
        with open_pool(Settings(database_url=SecretStr(url)), max_size=1) as pool:
            TableWriter(pool, SPECS["dispatch"]).write(
                [tuple(stop[c] for c in SPECS["dispatch"].columns)]
            )
        with psycopg.connect(url) as conn:
            refresh_rollups(conn)
            db = load_frames(conn, START - timedelta(days=30), END + timedelta(days=1))
    finally:
        drop_database(pg_server, url)
    dispatch = pl.concat(
        [FRAMES.dispatch, pl.DataFrame([stop]).select(FRAMES.dispatch.columns)],
        how="vertical_relaxed",
    ).sort("asset_id", "ts", "event_id")
    _, want_rday = rollups(samples_frame(SINK.messages["signals"]), dispatch)
    next_day = db.rday.filter(
        (pl.col("asset_id") == asset) & (pl.col("day") == day + timedelta(days=1))
    )
    before = FRAMES.rday.filter(
        (pl.col("asset_id") == asset) & (pl.col("day") == day + timedelta(days=1))
    )
    assert next_day.get_column("n").sum() < before.get_column("n").sum()  # the stop mattered
    _same_daily_rollups(db.rday, want_rday)


def test_concurrent_rollup_maintainers_leave_daily_rollups_exact(pg_server, sim_template) -> None:
    """The scorer and `train` (or two scorers) both maintain rollups. A day rolled up by one
    maintainer must not miss the 15-min buckets another is rolling up at the same time."""
    import threading

    from tests.conftest import drop_database, fresh_database

    url = fresh_database(pg_server, template=sim_template)  # every bucket marked, none rolled up
    try:
        errors: list[BaseException] = []

        def maintain() -> None:
            try:
                with psycopg.connect(url) as conn:
                    refresh_rollups(conn, chunk=40)  # many small chunks: days split across them
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=maintain) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        with psycopg.connect(url) as conn:
            db = load_frames(conn, START - timedelta(days=30), END + timedelta(days=1))
    finally:
        drop_database(pg_server, url)
    _same_daily_rollups(db.rday, FRAMES.rday)


def test_a_stop_ends_a_rollup_backlog_between_chunks_and_the_next_round_finishes_it(
    pg_server, sim_template
) -> None:
    from tests.conftest import drop_database, fresh_database

    url = fresh_database(pg_server, template=sim_template)  # every bucket marked, none rolled up
    try:
        with psycopg.connect(url) as conn:
            marked = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()[0]
            asked = []

            def stop() -> bool:
                asked.append(1)
                return len(asked) > 1  # told to stop after the first chunk

            assert refresh_rollups(conn, chunk=40, stop=stop) == 40
            left = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()[0]
            assert marked > 40 and left == marked - 40
            refresh_rollups(conn)  # the next round takes up the marks left
            db = load_frames(conn, START - timedelta(days=30), END + timedelta(days=1))
    finally:
        drop_database(pg_server, url)
    _same_daily_rollups(db.rday, FRAMES.rday)


def test_database_rollups_follow_late_and_duplicate_samples(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        row = conn.execute(
            "SELECT asset_id, tag, bucket, n, sum FROM signal_rollup_15m ORDER BY bucket LIMIT 1"
        ).fetchone()
        asset, tag, bucket, n, total = row
        from services.ingest.sinks import mark_dirty

        late = [(bucket + timedelta(seconds=17), asset, tag, 1000.0, "good")]
        with conn.transaction():
            conn.execute(
                "INSERT INTO signal_samples (ts, asset_id, tag, value, quality) VALUES "
                "(%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                late[0],
            )
            mark_dirty(conn, late)
        assert refresh_rollups(conn) == 1
        after = conn.execute(
            "SELECT n, sum FROM signal_rollup_15m WHERE asset_id = %s AND tag = %s AND bucket = %s",
            (asset, tag, bucket),
        ).fetchone()
        conn.execute(
            "DELETE FROM signal_samples WHERE ts = %s AND asset_id = %s AND tag = %s", late[0][:3]
        )
        mark_dirty(conn, late)
        conn.commit()
        refresh_rollups(conn)
    assert after == (n + 1, pytest.approx(total + 1000.0))


def test_bad_quality_samples_stay_out_of_the_rollups(seeded: str) -> None:
    """A sample its source marks 'bad' is stored but never rolled up, so it never becomes a
    feature; migration 0009 re-derives buckets rolled up with one before."""
    from pathlib import Path

    from services.ingest.sinks import mark_dirty

    migration = Path(__file__).parents[2] / "infra/migrations/0009_rollups_skip_bad_samples.sql"
    with psycopg.connect(seeded) as conn:
        asset, tag, bucket, n, total = conn.execute(
            "SELECT asset_id, tag, bucket, n, sum FROM signal_rollup_15m ORDER BY bucket LIMIT 1"
        ).fetchone()
        bad = [
            (bucket + timedelta(seconds=23), asset, tag, 1e6, "bad"),
            (bucket + timedelta(seconds=29), asset, "ghost_tag", 5.0, "bad"),  # only bad ones
        ]
        read = (
            "SELECT tag, n, sum FROM signal_rollup_15m WHERE asset_id = %s AND bucket = %s "
            "AND tag IN (%s, 'ghost_tag')"
        )
        with conn.transaction():
            conn.cursor().executemany(
                "INSERT INTO signal_samples (ts, asset_id, tag, value, quality) "
                "VALUES (%s, %s, %s, %s, %s)",
                bad,
            )
            mark_dirty(conn, bad)
        refresh_rollups(conn)
        rolled = conn.execute(read, (asset, bucket, tag)).fetchall()
        # As a database rolled up before 0009 would hold it: the bad sample counted.
        conn.execute(
            "UPDATE signal_rollup_15m SET n = n + 1, sum = sum + 1e6 "
            "WHERE asset_id = %s AND tag = %s AND bucket = %s",
            (asset, tag, bucket),
        )
        conn.execute(migration.read_text())
        conn.commit()
        refresh_rollups(conn)
        migrated = conn.execute(read, (asset, bucket, tag)).fetchall()
        conn.execute("DELETE FROM signal_samples WHERE quality = 'bad' AND asset_id = %s", (asset,))
        conn.commit()
    assert rolled == [(tag, n, pytest.approx(total))]
    assert migrated == [(tag, n, pytest.approx(total))]


def test_batch_features_equal_live_features_read_at_t(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        lo, hi = data_span(conn)
        start = lo + timedelta(days=9)
        batch_frames = load_frames(conn, start, hi)
        grid = scoring_grid(ASSETS, start, hi, batch_frames.dispatch)
        batch = build_features(batch_frames, grid)
        for t in [GRID_TIMES[5], GRID_TIMES[len(GRID_TIMES) // 2], GRID_TIMES[-1]]:
            live_frames = load_frames(conn, t, t)  # exactly what the scorer reads at t
            live_grid = scoring_grid(ASSETS, t, t, live_frames.dispatch)
            live = build_features(live_frames, live_grid)
            assert live.height > 0
            for row in live.iter_rows(named=True):
                match = batch.filter((pl.col("asset_id") == row["asset_id"]) & (pl.col("t") == t))
                assert match.height == 1
                _same(match.row(0, named=True), row)


def test_a_share_reads_only_its_assets_and_gets_the_plants_features_for_them(
    seeded: str,
) -> None:
    """What a scale-out scorer loads: its assets' rows alone, with the same features."""
    share = ASSETS[1::2]
    t = GRID_TIMES[len(GRID_TIMES) // 2]
    with psycopg.connect(seeded) as conn:
        plant = load_frames(conn, t, t)
        mine = load_frames(conn, t, t, only=share)
        nobody = load_frames(conn, t, t, only=[])
    for name in ("r15", "rday", "alarms", "dispatch", "incidents", "assets"):
        got = getattr(mine, name)
        want = getattr(plant, name).filter(pl.col("asset_id").is_in(share))
        assert got.height == want.height > 0 or name in ("alarms", "incidents"), name
        assert set(got.get_column("asset_id").unique()) <= set(share), name
        assert getattr(nobody, name).is_empty(), name
    whole = build_features(plant, scoring_grid(share, t, t, plant.dispatch)).sort("asset_id")
    part = build_features(mine, scoring_grid(share, t, t, mine.dispatch)).sort("asset_id")
    assert part.height == whole.height > 0
    for a, b in zip(whole.iter_rows(named=True), part.iter_rows(named=True), strict=True):
        _same(a, b)


def test_dispatch_features_for_an_asset_that_never_went_down() -> None:
    """Maintenance and restarts only (as in the Azure data): no down events at all."""
    from datetime import UTC, datetime

    from models.event_features import dispatch_features

    t0 = datetime(2015, 1, 10, tzinfo=UTC)
    events = pl.DataFrame(
        {
            "asset_id": ["M001", "M001"],
            "ts": [t0 - timedelta(hours=10), t0 - timedelta(hours=6)],
            "event_id": ["a", "b"],
            "state": ["maintenance", "running"],
            "planned": [True, False],
            "crew": [None, None],
            "reason_code": ["comp1", None],
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    grid = pl.DataFrame({"asset_id": ["M001"], "t": [t0]}).with_columns(
        pl.col("t").cast(pl.Datetime("us", "UTC"))
    )
    row = dispatch_features(events, grid).row(0, named=True)
    assert row["disp.down_min_24h"] == 0.0
    assert row["disp.h_since_maintenance"] == pytest.approx(10.0)
    assert row["disp.run_h"] == pytest.approx(6.0)


def test_drive_excess_is_the_current_deviation_beyond_the_load_deviation() -> None:
    """Current up 4 sigma while the load fell 1 sigma: 5 sigma more than the load explains."""
    from models.features import SIGNAL_STATS, widen_signals

    t = GRID_TIMES[0]
    base = {stat: 0.0 for stat in SIGNAL_STATS}
    long = pl.DataFrame(
        [
            {"asset_id": "CV-01", "t": t, "tag": "motor_current_a", **base, "z_1h": 4.0},
            {"asset_id": "CV-01", "t": t, "tag": "load_tph", **base, "z_1h": -1.0},
            {"asset_id": "VB-01", "t": t, "tag": "motor_current_a", **base, "z_1h": 2.0},
        ]
    )
    wide = widen_signals(long).sort("asset_id")
    assert wide.get_column("sig.motor_current_a.excess_z_1h").to_list() == [5.0, None]
    assert wide.get_column("sig.motor_current_a.excess_z_6h").to_list() == [0.0, None]


def test_widened_columns_keep_each_tag_and_statistic_apart(monkeypatch) -> None:
    """Statistic z of tag 1h_a and statistic z_1h of tag a are two columns, whatever the names:
    the pivot's own column names (stat, separator, tag) must not let them meet."""
    from models import features

    stats = (*features.SIGNAL_STATS, "z")
    monkeypatch.setattr(features, "SIGNAL_STATS", stats)
    t = GRID_TIMES[0]
    base = {stat: 0.0 for stat in stats}
    long = pl.DataFrame(
        [
            {"asset_id": "CV-01", "t": t, "tag": "a", **base, "z_1h": 1.5},
            {"asset_id": "CV-01", "t": t, "tag": "1h_a", **base, "z": -2.5},
        ]
    )
    row = features.widen_signals(long).row(0, named=True)
    assert (row["sig.a.z_1h"], row["sig.1h_a.z"]) == (1.5, -2.5)
    assert (row["sig.a.z"], row["sig.1h_a.z_1h"]) == (0.0, 0.0)


def test_alarm_counts_by_priority_cover_only_activations_in_each_window() -> None:
    """Two P1 and one P3 activation before t, one P1 cleared, one P2 at t: counted as the spec
    says, per priority and window; nothing at or after t, no cleared alarm."""
    from datetime import UTC, datetime

    from models.event_features import alarm_features

    t = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    rows = [  # (minutes before t, kind, priority, state)
        (10, "TRIP", 1, "active"),
        (200, "HIHI", 1, "active"),
        (20, "HI", 3, "active"),
        (5, "TRIP", 1, "cleared"),
        (0, "FAULT", 2, "active"),
    ]
    alarms = pl.DataFrame(
        {
            "asset_id": ["CR-01"] * len(rows),
            "ts": [t - timedelta(minutes=m) for m, *_ in rows],
            "kind": [k for _, k, _, _ in rows],
            "priority": [p for *_, p, _ in rows],
            "state": [s for *_, s in rows],
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    grid = pl.DataFrame({"asset_id": ["CR-01"], "t": [t]}).with_columns(
        pl.col("t").cast(pl.Datetime("us", "UTC"))
    )
    row = alarm_features(alarms, grid).row(0, named=True)
    assert (row["alarm.P1.1h"], row["alarm.P1.6h"], row["alarm.P1.24h"]) == (1.0, 2.0, 2.0)
    assert (row["alarm.P3.1h"], row["alarm.P2.24h"], row["alarm.P4.24h"]) == (1.0, 0.0, 0.0)
    assert (row["alarm.all.1h"], row["alarm.all.24h"]) == (2.0, 3.0)
    assert row["alarm.TRIP.1h"] == 1.0


def test_alarm_sources_split_each_alarm_count_between_the_tags_that_raised_it() -> None:
    """On a simulated plant, for every grid row with an alarm: the per-tag counts of each alarm
    feature sum to that feature, and no tag is named that raised none of them."""
    from models.event_features import ALARM_SOURCE, alarm_features, alarm_sources

    every = pl.datetime_range(
        FRAMES.r15.get_column("bucket").min(), END, "15m", eager=True, time_zone="UTC"
    )
    grid = pl.DataFrame({"asset_id": ASSETS}).join(pl.DataFrame({"t": every}), how="cross")
    counts = alarm_features(FRAMES.alarms, grid).filter(pl.col("alarm.all.24h") > 0)
    assert counts.height > 0  # the small plant raises alarms, or this would test nothing
    sources = alarm_sources(FRAMES.alarms, counts)
    assert sources.height == counts.height
    split: dict[str, list[str]] = {}
    for column in sources.columns:
        group, window, _tag = column.removeprefix(f"{ALARM_SOURCE}.").split(".", 2)
        split.setdefault(f"alarm.{group}.{window}", []).append(column)
    assert "alarm.all.24h" in split
    for feature in (c for c in counts.columns if c.startswith("alarm.")):
        parts = split.get(feature, [])
        total = sources.select(parts).sum_horizontal() if parts else pl.Series([0.0] * len(sources))
        assert total.to_list() == counts.get_column(feature).to_list(), feature
    raised = FRAMES.alarms.filter(pl.col("state") == "active").get_column("tag").unique()
    assert {c.split(".", 3)[3] for c in sources.columns} <= set(raised.to_list())


def test_alarm_sources_count_each_tag_in_each_window_before_t() -> None:
    from datetime import UTC, datetime

    from models.event_features import alarm_sources

    t = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    rows = [  # (minutes before t, tag, kind, priority, state)
        (10, "current", "HI", 3, "active"),
        (50, "temp", "HI", 3, "active"),
        (200, "temp", "HIHI", 1, "active"),
        (5, "current", "HI", 3, "cleared"),
        (0, "current", "HI", 3, "active"),  # at t: not before it
    ]
    alarms = pl.DataFrame(
        {
            "asset_id": ["CR-01"] * len(rows),
            "ts": [t - timedelta(minutes=m) for m, *_ in rows],
            "tag": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "priority": [r[3] for r in rows],
            "state": [r[4] for r in rows],
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    keys = pl.DataFrame({"asset_id": ["CR-02", "CR-01"], "t": [t, t]}).with_columns(
        pl.col("t").cast(pl.Datetime("us", "UTC"))
    )
    out = alarm_sources(alarms, keys)
    assert out.row(0, named=True) == dict.fromkeys(out.columns, 0.0)  # CR-02 raised nothing
    row = out.row(1, named=True)
    assert (row["alarmsrc.HI.1h.current"], row["alarmsrc.HI.1h.temp"]) == (1.0, 1.0)
    assert (row["alarmsrc.P3.6h.temp"], row["alarmsrc.all.6h.temp"]) == (1.0, 2.0)
    assert "alarmsrc.HIHI.1h.temp" not in row and row["alarmsrc.P1.24h.temp"] == 1.0


def test_a_silent_tag_carries_its_last_value_for_a_day_on_both_paths() -> None:
    """A tag silent since 97 buckets before t still reports its last value at t (carried for
    a day of empty buckets), one silent since 98 does not, on the live path as in training."""
    asset, t = ASSETS[0], GRID_TIMES[len(GRID_TIMES) // 2]
    tag = FRAMES.r15.filter(pl.col("asset_id") == asset).get_column("tag")[0]
    for silent, carried in ((97, True), (98, False)):
        quiet = (pl.col("asset_id") == asset) & (pl.col("tag") == tag)
        quiet = quiet & (pl.col("bucket") > t - GRID * silent)
        frames = replace(FRAMES, r15=FRAMES.r15.filter(~quiet))
        live, dense = _row(frames, asset, t), _row(frames, asset, t, dense=True)
        # A tag with no running bucket in a day has no row on the live path, all nulls on the
        # other: the same to the model, which reads a missing column as missing values.
        assert live.keys() <= dense.keys()
        _same({k: live.get(k) for k in dense}, dense)
        assert (live.get(f"sig.{tag}.last") is not None) is carried
        assert live.get(f"sig.{tag}.mean_24h") is None


def test_running_buckets_are_those_run_through_entirely() -> None:
    t0 = START.replace(hour=0, minute=0)
    at = [t0 + timedelta(minutes=m) for m in (0, 40, 90, 90, 150)]
    dispatch = pl.DataFrame(
        {
            "asset_id": ["A"] * 5,
            "ts": at,
            # down from 00:40 (inside a bucket); running at 01:30 twice, the later event id
            # wins; idle from 02:30 (on the grid) to the end
            "event_id": ["e1", "e2", "e4", "e3", "e5"],
            "state": ["running", "down", "running", "idle", "idle"],
        }
    )
    buckets = [t0 + GRID * i for i in range(-2, 14)]
    keys = pl.DataFrame({"asset_id": ["A"] * len(buckets) + ["B"], "bucket": [*buckets, t0]})
    ran = running_buckets(dispatch, keys).to_list()
    minutes = [
        int((b - t0).total_seconds() // 60) for b, ok in zip(buckets, ran, strict=False) if ok
    ]
    # before the first event: running; 00:30 holds the change to down; 01:30 starts running
    # (e4 after e3 at the same time); 02:30 on is idle; asset B has no event and runs
    assert minutes == [-30, -15, 0, 15, 90, 105, 120, 135]
    assert ran[-1] is True


def _ran_through(events: list[tuple], asset: str, bucket) -> bool:
    """Reference for running_buckets, one bucket at a time: the state at its start (the latest
    event at or before it, the larger event id at a tie; running before any) is running and no
    event falls strictly inside it."""
    mine = sorted((ts, eid, state) for a, ts, eid, state in events if a == asset)
    before = [e for e in mine if e[0] <= bucket]
    state = before[-1][2] if before else "running"
    inside = any(bucket < ts < bucket + GRID for ts, _, _ in mine)
    return state == "running" and not inside


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B"]),
            st.integers(min_value=-60, max_value=300),
            st.sampled_from(["running", "down", "idle", "maintenance"]),
        ),
        max_size=12,
    ),
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(min_value=-8, max_value=24)),
        min_size=1,
        max_size=30,
    ),
)
def test_running_buckets_agree_with_a_bucket_by_bucket_reference(raw_events, raw_keys) -> None:
    t0 = START.replace(hour=0, minute=0)
    events = [
        (a, t0 + timedelta(minutes=m), f"e{i:02d}", state)
        for i, (a, m, state) in enumerate(raw_events)
    ]
    dispatch = pl.DataFrame(
        events,
        schema={
            "asset_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "event_id": pl.String,
            "state": pl.String,
        },
        orient="row",
    )
    keys = pl.DataFrame(
        [(a, t0 + GRID * k) for a, k in raw_keys],
        schema={"asset_id": pl.String, "bucket": pl.Datetime("us", "UTC")},
        orient="row",
    )
    got = running_buckets(dispatch, keys).to_list()
    want = [_ran_through(events, a, b) for a, b in keys.iter_rows()]
    assert got == want
