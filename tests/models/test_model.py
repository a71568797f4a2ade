"""Model behaviour: risk follows the physics, assets are independent, the registry round-trips."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.features import Frames, build_features
from pipelines.simulate.frames import rollups, samples_frame

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(small_model):
    return small_model


def _quiet_time(frames: Frames, asset: str):
    """A grid time late in the data when the asset runs and has no incident nearby."""
    ev = frames.dispatch.filter(pl.col("asset_id") == asset).sort("ts")
    last = frames.r15.get_column("bucket").max()
    t = (last - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    for _ in range(200):
        before = ev.filter(pl.col("ts") <= t).tail(1)
        recent = ev.filter((pl.col("ts") > t - timedelta(hours=26)) & (pl.col("ts") <= t))
        if before.height and before.item(0, "state") == "running" and recent.height == 0:
            return t
        t -= timedelta(hours=3)
    raise AssertionError("no quiet time found")


def _score(model, frames: Frames, asset: str, t) -> float:
    grid = pl.DataFrame({"asset_id": [asset], "t": [t]}).with_columns(
        pl.col("t").cast(pl.Datetime("us", "UTC"))
    )
    return float(model.predict(build_features(frames, grid))[0])


def _with_samples(frames: Frames, samples: pl.DataFrame) -> Frames:
    r15, rday = rollups(samples, frames.dispatch)
    return Frames(r15, rday, frames.alarms, frames.dispatch, frames.incidents, frames.assets)


def test_rising_vibration_trend_raises_that_assets_risk(trained) -> None:
    model, _, sink, frames = trained
    asset = "CV-01"
    t = _quiet_time(frames, asset)
    samples = samples_frame(sink.messages["signals"])
    # Vibration climbs from normal to 3x over the 12 h before t, as a failing bearing does.
    ramp = ((pl.col("ts") - (t - timedelta(hours=12))).dt.total_seconds() / (12 * 3600)).clip(0, 1)
    rising = samples.with_columns(
        pl.when(
            (pl.col("asset_id") == asset) & (pl.col("tag") == "vibration_mm_s") & (pl.col("ts") < t)
        )
        .then(pl.col("value") * (1 + 2 * ramp))
        .otherwise(pl.col("value"))
        .alias("value")
    )
    before = _score(model, frames, asset, t)
    after = _score(model, _with_samples(frames, rising), asset, t)
    assert after > 2 * before, (before, after)


def test_other_assets_data_does_not_change_an_assets_score(trained) -> None:
    model, _, sink, frames = trained
    asset = "PP-01"
    t = _quiet_time(frames, asset)
    samples = samples_frame(sink.messages["signals"])
    noisy = samples.with_columns(
        pl.when(pl.col("asset_id") != asset)
        .then(pl.col("value") * 1.7 + 3.0)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    others = frames.alarms.filter(pl.col("asset_id") != asset)
    changed = _with_samples(frames, noisy)
    changed = Frames(
        changed.r15,
        changed.rday,
        pl.concat([frames.alarms, others]),
        changed.dispatch,
        changed.incidents,
        changed.assets,
    )
    assert _score(model, frames, asset, t) == _score(model, changed, asset, t)


def _register_and_load_elsewhere(trained, uri: str, tmp_path: Path) -> Path:
    """Log and promote the model from this process, load the champion in a fresh process that
    has another artefact directory, and check it scores and explains identically; returns this
    process's artefact directory."""
    import mlflow

    from models import registry

    model, _, _, frames = trained
    t = _quiet_time(frames, "CV-01")
    grid = frames.assets.select("asset_id").with_columns(
        pl.lit(t).cast(pl.Datetime("us", "UTC")).alias("t")
    )
    x = build_features(frames, grid)
    x.write_parquet(tmp_path / "x.parquet")
    here = tmp_path / "artifacts"
    registry.configure(uri, here)
    with mlflow.start_run():
        version = registry.log_risk_model(model, x)
    registry.promote(version)
    elsewhere = here if uri.startswith("sqlite") else tmp_path / "another-machine"
    code = (
        "import json, sys, polars as pl\n"
        "from pathlib import Path\n"
        "from models import registry\n"
        f"registry.configure({uri!r}, Path({str(elsewhere)!r}))\n"
        "m = registry.load_version(registry.champion_version())\n"
        f"x = pl.read_parquet({str(tmp_path / 'x.parquet')!r})\n"
        "print(json.dumps([m.predict(x).tolist(), m.contributions(x)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    scores, told = json.loads(out.stdout.strip().splitlines()[-1])
    fresh = np.array(scores)
    assert fresh.shape == (x.height,)
    assert np.array_equal(fresh, model.predict(x))
    assert told == model.contributions(x)  # explained the same way: kind_tags came along
    return here


def test_champion_loads_from_the_registry_in_a_fresh_process_and_scores_identically(
    trained, tmp_path: Path
) -> None:
    _register_and_load_elsewhere(trained, f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)


def test_through_a_tracking_server_the_champion_loads_on_another_machine(
    trained, tmp_path: Path
) -> None:
    """With a tracking server (as in the compose deployment) the artefacts go to the server,
    not to a path on the machine that trained, so a scorer elsewhere loads the champion."""
    from precursor.core.runtime.processes import answers, free_port, wait_until

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server-artifacts"), "--serve-artifacts"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        started = wait_until(lambda: answers(f"{uri}/health", 2), timeout=120, interval=0.5)
        assert started, "mlflow server did not start"
        here = _register_and_load_elsewhere(trained, uri, tmp_path)
        assert not here.exists() or not any(here.rglob("*")), "artefacts written locally"
        assert any((tmp_path / "server-artifacts").rglob("booster.txt"))
    finally:
        # The server's workers are its children, in its own session: stop the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        if not wait_until(lambda: server.poll() is not None, timeout=20):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # a worker that outlived its parent


def test_each_row_is_explained_by_the_detector_that_decided_its_risk(trained) -> None:
    from models.explain import signal_of
    from models.grid import scoring_grid

    model, _, _, frames = trained
    last = frames.r15.get_column("bucket").max()
    assets = frames.assets.get_column("asset_id").to_list()
    grid = scoring_grid(assets, last - timedelta(days=4), last, frames.dispatch)
    x = build_features(frames, grid)
    fast_won = model.fast._own(x) > model._own(x)
    assert fast_won.any() and not fast_won.all()
    fast_signals = {signal_of(f) for f in model.fast.features}
    slow_only = {signal_of(f) for f in model.features} - fast_signals  # dispatch, HSE, hour...
    assert slow_only
    explained = model.contributions(x)
    for won, row in zip(fast_won, explained, strict=True):
        if won:
            assert {c["signal"] for c in row} <= fast_signals, row
    # ...while the slow context does explain some of the rows the main detector decided.
    main_rows = [row for won, row in zip(fast_won, explained, strict=True) if not won]
    assert any({c["signal"] for c in row} & slow_only for row in main_rows)


def test_explanations_name_only_tags_the_rows_asset_kind_has(trained) -> None:
    """The booster reads a missing tag as the asset's kind; an explanation names the kind then,
    never a tag the asset does not have. The kinds' tags learnt in training are the tags the
    plant's assets of each kind report."""
    from models.explain import signal_of
    from models.grid import scoring_grid

    model, _, _, frames = trained
    reported = (
        frames.r15.join(frames.assets.select("asset_id", "kind"), on="asset_id")
        .group_by("kind")
        .agg(pl.col("tag").unique().sort())
    )
    assert model.kind_tags == {k: list(tags) for k, tags in reported.iter_rows()}
    last = frames.r15.get_column("bucket").max()
    assets = frames.assets.get_column("asset_id").to_list()
    grid = scoring_grid(assets, last - timedelta(days=4), last, frames.dispatch)
    x = build_features(frames, grid)
    tags = {signal_of(f) for f in model.features if f.startswith("sig.")}
    named_kind = 0
    for kind, row in zip(x.get_column("ctx.kind"), model.contributions(x, top=8), strict=True):
        named = {c["signal"] for c in row}
        assert named & tags <= set(model.kind_tags[kind]), (kind, row)
        named_kind += "context:kind" in named
    assert named_kind  # what the kinds' missing tags said went somewhere an operator can read
