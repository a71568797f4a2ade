"""`precursor up`: the embedded stack starts, takes outside data, stops leaving nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psutil
import psycopg
import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from tests.helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


# A demo plant small and fast enough for a test: 4 assets, 2 days backfilled, 3600x live.
SMALL_DEMO = ("--demo", "--demo-assets", "4", "--demo-days", "2", "--demo-speed", "3600",
              "--demo-interval", "300")  # fmt: skip


def _start_up(data_dir: Path, *flags: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")}
    env.update({"PRECURSOR_DATA_DIR": str(data_dir), "PRECURSOR_METRICS_PORT": "0"})
    return subprocess.Popen(
        [sys.executable, "-m", "precursor", "up", "--api-port", "0", *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _wait_endpoints(data_dir: Path, proc: subprocess.Popen) -> dict:
    path = data_dir / "endpoints.json"

    def ready() -> bool:
        assert proc.poll() is None, f"up exited early: {proc.stdout.read()}"
        return path.exists()

    wait_for(ready, 120, "endpoints.json")
    return json.loads(path.read_text())


def _tree(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _cmdline(proc: psutil.Process) -> list[str]:
    """A process's command line, or none if it ended since it was listed (PostgreSQL forks
    short-lived workers)."""
    try:
        return proc.cmdline()
    except psutil.NoSuchProcess:
        return []


def _gone(procs: list[psutil.Process]) -> bool:
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def _send_samples(bootstrap: str, seconds: range, bad: bool = False) -> None:
    """Two samples of CV-12 per second in `seconds`, and a message that is not JSON if `bad`."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in seconds:
        value = {"asset_id": "CV-12", "ts": 1_772_000_000_000 + i * 1000,
                 "signals": {"vibration_mm_s": 4.2, "bearing_temp_c": 71.5}}  # fmt: skip
        producer.send("plant.control.signals", key=b"CV-12", value=orjson.dumps(value))
    if bad:
        producer.send("plant.control.signals", key=b"CV-12", value=b"not json")
    producer.flush()
    producer.close()


def _stored(endpoints: dict) -> int:
    """Samples in the database; -1 while it does not answer (it is being restarted)."""
    try:
        with psycopg.connect(endpoints["database_url"], connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM signal_samples").fetchone()[0]
    except psycopg.OperationalError:
        return -1


def _child(up: subprocess.Popen, marker: str) -> psutil.Process:
    return next(p for p in _tree(up.pid) if marker in " ".join(p.cmdline()))


def _stop(proc: subprocess.Popen, sig: int) -> float:
    started = time.monotonic()
    proc.send_signal(sig)
    proc.wait(60)
    return time.monotonic() - started


def test_up_takes_outside_messages_and_stops_cleanly_then_reuses_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    up = _start_up(data_dir)
    try:
        endpoints = _wait_endpoints(data_dir, up)
        for key in ("database_url", "kafka_bootstrap", "api_url", "mlflow_tracking_uri"):
            assert endpoints[key], key
        children = _tree(up.pid)
        names = " ".join(" ".join(_cmdline(p)) for p in children)
        for part in ("postgres", "tansu", "ingest", "score", "serve"):
            assert part in names, part

        _send_samples(endpoints["kafka_bootstrap"], range(100), bad=True)
        wait_for(lambda: _stored(endpoints) == 200, 60, "outside samples")
        elapsed = _stop(up, signal.SIGINT)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0
    assert elapsed < 30
    said = up.stdout.read()  # the shutdown names every part it stopped, the embedded ones too
    for line in ("stopped ingest", "stopped embedded broker", "stopped embedded PostgreSQL"):
        assert line in said, line
    wait_for(lambda: _gone(children), 10, "children to exit")
    assert not (data_dir / "endpoints.json").exists()

    again = _start_up(data_dir)
    try:
        endpoints = _wait_endpoints(data_dir, again)
        second = _start_up(data_dir)  # a concurrent `up` on the same data dir is refused
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 1 and "already runs" in out
        with psycopg.connect(endpoints["database_url"]) as conn:
            assert conn.execute("SELECT count(*) FROM signal_samples").fetchone()[0] == 200
        children = _tree(again.pid)
        assert _stop(again, signal.SIGTERM) < 30
    finally:
        if again.poll() is None:
            again.kill()
    assert again.returncode == 0
    wait_for(lambda: _gone(children), 10, "children to exit")


def test_up_brings_back_a_killed_database_and_broker_and_data_keeps_flowing(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "stack"
    up = _start_up(data_dir)
    try:
        endpoints = _wait_endpoints(data_dir, up)
        _send_samples(endpoints["kafka_bootstrap"], range(50))
        wait_for(lambda: _stored(endpoints) == 100, 60, "samples before the kills")

        _child(up, "postgres -D").kill()  # the postmaster, as the OOM killer would
        # Back on the same port with its data, before ingest (which only retries) gives up.
        wait_for(lambda: _stored(endpoints) == 100, 60, "the database to come back")
        _send_samples(endpoints["kafka_bootstrap"], range(50, 100))
        wait_for(lambda: _stored(endpoints) == 200, 60, "samples after the database restart")

        _child(up, "tansu").kill()
        # The broker's memory storage comes back empty: its topics must be created again and
        # ingest must rejoin, or these samples never arrive.
        time.sleep(3)
        wait_for(
            lambda: _sent_after_restart(endpoints["kafka_bootstrap"], range(100, 150)),
            60,
            "the broker to come back",
        )
        wait_for(lambda: _stored(endpoints) == 300, 60, "samples after the broker restart")
        children = _tree(up.pid)
        assert _stop(up, signal.SIGINT) < 30
    finally:
        if up.poll() is None:
            up.kill()
    out = up.stdout.read()
    assert up.returncode == 0, out
    assert "embedded PostgreSQL ended with signal SIGKILL; restarting" in out
    assert "embedded broker ended with signal SIGKILL; restarting" in out
    wait_for(lambda: _gone(children), 10, "children to exit")


def _sent_after_restart(bootstrap: str, seconds: range) -> bool:
    try:
        _send_samples(bootstrap, seconds)
    except KafkaError:
        return False
    return True


def test_up_killed_outright_leaves_no_orphans(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    up = _start_up(data_dir)
    try:
        _wait_endpoints(data_dir, up)
        children = _tree(up.pid)
        assert len(children) >= 4
    finally:
        up.kill()
        up.wait(10)
    wait_for(lambda: _gone(children), 30, "children of a SIGKILLed up to exit")


def test_up_demo_backfills_a_plant_then_keeps_data_flowing(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    up = _start_up(data_dir, *SMALL_DEMO)
    try:
        endpoints = _wait_endpoints(data_dir, up)

        def latest() -> tuple[int, object]:
            with psycopg.connect(endpoints["database_url"]) as conn:
                return conn.execute("SELECT count(*), max(ts) FROM signal_samples").fetchone()  # type: ignore[return-value]

        # Backfill: two days of 4 assets at 5 min = 2,304 snapshots.
        wait_for(lambda: latest()[0] >= 2_304 * 5, 120, "the demo backfill")
        first = latest()
        wait_for(lambda: latest()[1] > first[1], 60, "live data after the backfill")
        with psycopg.connect(endpoints["database_url"]) as conn:
            kinds = conn.execute("SELECT count(DISTINCT kind) FROM assets").fetchone()[0]
        assert kinds == 4
        assert _stop(up, signal.SIGINT) < 30
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0


def _resumed_at(log: Path) -> datetime | None:
    """When the simulator last said it carried the plant on from, if it ever did."""
    lines = log.read_text().splitlines() if log.exists() else []
    said = [line for line in lines if line.startswith("carrying the plant on from ")]
    if not said:
        return None
    return datetime.strptime(said[-1][27:43], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def _demo_run(data_dir: Path, resumes: bool) -> dict:
    """One `up --demo` until its plant is live past its first data or, when it `resumes`, past
    the end of the earlier run's (an hour after where it says it carries on from)."""
    (data_dir / "endpoints.json").unlink(missing_ok=True)
    log = data_dir / "logs" / "simulator.log"
    up = _start_up(data_dir, "--no-demo-script", *SMALL_DEMO)
    try:
        endpoints = _wait_endpoints(data_dir, up)
        url = endpoints["database_url"]

        def latest() -> datetime:
            with psycopg.connect(url) as conn:
                return conn.execute("SELECT max(ts) FROM signal_samples").fetchone()[0]

        wait_for(lambda: latest() is not None, 120, "the demo's data")
        if resumes:
            wait_for(lambda: _resumed_at(log) is not None, 120, "the plant to be carried on")
            mark = _resumed_at(log) + timedelta(hours=1)
        else:
            mark = latest()
        # Live at 3600x: a plant-hour a second.
        wait_for(lambda: latest() > mark, 120, "live data")
        with psycopg.connect(url) as conn:
            events = dict(conn.execute("SELECT event_id, ts FROM dispatch_events").fetchall())
            stored = latest()
        # The console key the run printed signs in at its API.
        key = (data_dir / "demo-console-key").read_text().strip()
        me = httpx.get(f"{endpoints['api_url']}/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert _stop(up, signal.SIGINT) < 30
    finally:
        if up.poll() is None:
            up.kill()
    return {"out": up.stdout.read(), "latest": stored, "events": events, "me": me.json()}


def test_a_second_demo_carries_on_the_plant_the_first_left(tmp_path: Path) -> None:
    from pipelines.simulate.run import SimConfig, Simulation, rfc3339

    data_dir = tmp_path / "stack"
    runs = [_demo_run(data_dir, resumes=False)]
    assert "carried on from" not in runs[0]["out"]
    assert _resumed_at(data_dir / "logs" / "simulator.log") is None
    runs.append(_demo_run(data_dir, resumes=True))
    resumed = _resumed_at(data_dir / "logs" / "simulator.log")
    # From an hour before the first run's newest stored sample, not the whole history again.
    assert resumed is not None and resumed >= runs[0]["latest"] - timedelta(hours=1)
    assert f"carried on from {resumed:%Y-%m-%d %H:%M} UTC plant time" in runs[1]["out"], runs[1]
    # Every stored dispatch event, from both runs, is the one plant's: the second run neither
    # replayed a new plant under the first one's ids nor skipped what came after its end.
    manifest = json.loads((data_dir / "simulation" / "manifest.json").read_text())
    sim = Simulation(
        SimConfig(seed=7, assets=4, days=manifest["days"], interval_s=300,
                  start=datetime.fromisoformat(manifest["start"]))
    )  # fmt: skip
    plan = {e["event_id"]: rfc3339(sim.start_epoch, e["t"]) for p in sim.plans for e in p.dispatch}
    stored = runs[1]["events"]
    assert {k: v.strftime("%Y-%m-%dT%H:%M:%SZ") for k, v in stored.items()} == {
        k: plan[k] for k in stored
    }
    first_end = runs[0]["latest"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {k for k, v in plan.items() if v <= first_end} <= set(stored)
    # Both runs print the console's address signed in with the one key the data dir keeps.
    kept = (data_dir / "demo-console-key").read_text().strip()
    for run in runs:
        line = next(x for x in run["out"].splitlines() if x.startswith("  console "))
        assert f"/#key={kept}  (signed in with the demo's admin key" in line, line
        assert run["me"]["role"] == "admin" and run["me"]["name"] == "demo console (up --demo)"


@pytest.mark.parametrize(
    ("flags", "script"), [([], ["--degrade-at", "1441.0"]), (["--no-demo-script"], [])]
)
def test_the_demo_scripts_a_degradation_an_hour_into_live_time_unless_told_not_to(
    flags: list[str], script: list[str]
) -> None:
    from precursor.cli.commands.up import _demo_service
    from precursor.cli.main import build_parser

    args = build_parser().parse_args(["up", "--demo", *flags])
    service = _demo_service(args)
    assert service.args[service.args.index("--backfill-days") + 1] == "60.0"
    tail = service.args[service.args.index("--backfill-days") + 2 :]
    assert tail == script  # 60 days of history, then live: the script starts at hour 60*24+1


def test_the_demo_carries_on_the_plant_its_data_dir_holds_or_says_why_it_cannot(
    tmp_path: Path,
) -> None:
    from precursor.cli.commands.demo_plant import demo_plant
    from precursor.cli.main import build_parser
    from precursor.core.errors import ConfigurationError

    manifest = tmp_path / "simulation" / "manifest.json"
    manifest.parent.mkdir()
    held = {"seed": 7, "assets": 40, "days": 425.0, "interval_s": 300, "backfill_days": 60.0,
            "start": "2026-10-08T23:05:00Z", "degrade_at_h": 1441.0}  # fmt: skip
    manifest.write_text(json.dumps(held))
    latest = datetime(2026, 12, 8, 17, 50, tzinfo=UTC)
    parse = build_parser().parse_args
    # The plant held, from an hour before its newest sample; its script kept, so that the
    # plant carried on is the one that was running, whatever this run's flags say.
    plant = demo_plant(parse(["up", "--demo", "--no-demo-script"]), manifest, latest)
    assert (plant.start, plant.resume_from, plant.degrade_at_h, plant.backfill_days) == (
        datetime(2026, 10, 8, 23, 5, tzinfo=UTC), latest - timedelta(hours=1), 1441.0, 60.0
    )  # fmt: skip
    assert plant.simulator_args(40, 300, 60.0)[-2:] == ["--resume-from", "2026-12-08T16:50:00Z"]
    # ... and the flags it did not follow are said, not dropped without a word.
    assert plant.unused == (
        "--no-demo-script shapes a new plant; this one keeps its scripted asset",
    )
    shorter = demo_plant(parse(["up", "--demo", "--demo-days", "30"]), manifest, latest)
    assert (shorter.backfill_days, shorter.unused) == (
        60.0, ("--demo-days 30 shapes a new plant; this one keeps its 60 days of history",)
    )  # fmt: skip
    assert demo_plant(parse(["up", "--demo"]), manifest, latest).unused == ()
    # A manifest from before the backfill was kept: `up --demo` always ran a year past it.
    manifest.write_text(json.dumps({k: v for k, v in held.items() if k != "backfill_days"}))
    legacy = demo_plant(parse(["up", "--demo"]), manifest, latest)
    assert (legacy.backfill_days, legacy.resume_from) == (60.0, latest - timedelta(hours=1))
    manifest.write_text(json.dumps(held))
    # Nothing stored yet, or no demo manifest: a new plant whose history ends now.
    for stored, path in ((None, manifest), (latest, tmp_path / "none.json")):
        fresh = demo_plant(parse(["up", "--demo"]), path, stored)
        assert fresh.resume_from is None
        assert datetime.now(UTC) - timedelta(days=60, minutes=6) < fresh.start
    # Another plant size over this one would mix two plants: refused, saying what to do.
    with pytest.raises(ConfigurationError) as refused:
        demo_plant(parse(["up", "--demo", "--demo-assets", "8"]), manifest, latest)
    assert str(refused.value) == (
        f"{tmp_path} holds a demo plant of 40 assets every 300 s, stored up to 2026-12-08 17:50 "
        "UTC; carry it on with --demo-assets 40 --demo-interval 300, or start a new one in "
        "another data dir (PRECURSOR_DATA_DIR) or after `make clean`"
    )


@pytest.mark.parametrize(("days", "waits"), [("60", False), ("10", True)])
def test_the_demo_trains_once_there_is_enough_history_and_says_when_that_is(
    days: str, waits: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from precursor.cli.commands.up import _DemoTrainer
    from precursor.cli.main import build_parser
    from precursor.core.runtime.stack import Stack
    from precursor.core.settings import Settings

    args = build_parser().parse_args(["up", "--demo", "--demo-days", days])
    trainer = _DemoTrainer(Stack(Settings(data_dir=tmp_path, horizon_h=24)), args)
    now, said = datetime.now(UTC), capsys.readouterr().out
    if waits:  # 10 days backfilled, more than 22 needed: 12 more come live, 4.8 h at 60x
        assert "training needs 22.0 days of history and the backfill holds 10;" in said
        assert "(in about 4.8 h at 60x)" in said
        assert now + timedelta(days=12) < trainer.ready_at < now + timedelta(days=12, hours=2)
    else:  # the backfill suffices: train as it ends, an hour before live time
        assert said == ""
        assert now - timedelta(hours=2) < trainer.ready_at < now


def test_a_failed_first_training_is_reported_by_its_error_line(tmp_path: Path) -> None:
    from precursor.cli.commands.up import _last_error

    log = tmp_path / "trainer.log"
    log.write_text("2026-12-07 INFO rolled up\nprecursor train: error: not enough history: x\n")
    assert _last_error(log) == "not enough history: x"
    log.write_text("Killed\n")
    assert _last_error(log) == f"see {log}"
    assert _last_error(tmp_path / "missing.log") == f"see {tmp_path / 'missing.log'}"


def test_the_first_model_is_announced_with_its_own_test_figures() -> None:
    from precursor.cli.commands.up import _backtest_text

    metrics = {"test.incidents": 5.0, "test.warned_1h": 3.0, "test.median_lead_h": 10.83,
               "test.false_alerts_per_asset_week": 0.1337, "valid.incidents": 4.0}  # fmt: skip
    assert _backtest_text(metrics) == (
        "on its test window it warned 3 of 5 incidents at least 1 h ahead (median lead 10.8 h), "
        "with 0.13 false alerts per asset-week (logs/trainer.log has the table)"
    )
    del metrics["test.median_lead_h"]  # none warned: no lead to tell
    assert "ahead, with 0.13" in _backtest_text(metrics)
    assert _backtest_text({}) == "its test figures are in logs/trainer.log"


def test_up_says_which_model_will_score_or_what_gives_it_one(database_url: str) -> None:
    from pydantic import SecretStr

    from precursor.cli.commands.up import model_state
    from precursor.core.settings import Settings

    settings = Settings(database_url=SecretStr(database_url))
    assert model_state(settings, demo=False).startswith("none yet: once some weeks of data")
    assert model_state(settings, demo=True).startswith("none yet: the demo trains one")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO model_versions (version, champion) VALUES ('3', true)")
    assert model_state(settings, demo=True) == "precursor-risk version 3 (champion)"


def test_the_demo_keeps_one_console_key_in_its_data_dir(database_url: str, tmp_path: Path) -> None:
    from precursor.cli.commands.demo_key import KEY_FILE, demo_console_key
    from services.api.keys import resolve, revoke_key

    with psycopg.connect(database_url) as conn:
        key = demo_console_key(conn, tmp_path)
        kept = tmp_path / KEY_FILE
        assert kept.read_text() == key + "\n"
        assert kept.stat().st_mode & 0o777 == 0o600  # an admin key: its owner's eyes only
        principal = resolve(conn, key)
        assert principal is not None and principal.role == "admin"
        # A second `up --demo` opens the console with the same key, not one more each run.
        assert demo_console_key(conn, tmp_path) == key
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone()[0] == 1
        # Revoked, it no longer signs in: the next run makes a new one.
        revoke_key(conn, principal.key_id)
        conn.commit()
        again = demo_console_key(conn, tmp_path)
        assert again != key and kept.read_text() == again + "\n"
        assert resolve(conn, again) is not None


def test_the_newest_sample_is_found_whether_rollups_are_current_or_behind(
    database_url: str,
) -> None:
    from precursor.cli.commands.up import LATEST_SAMPLE
    from services.predict.rollups import refresh_rollups

    t0 = datetime(2026, 5, 1, tzinfo=UTC)

    def store(conn: psycopg.Connection, minutes: range) -> None:
        times = [t0 + timedelta(minutes=m) for m in minutes]
        with conn.cursor().copy("COPY signal_samples (ts, asset_id, tag, value) FROM STDIN") as c:
            for t in times:
                c.write_row((t, "A-1", "x", 1.0))
        conn.execute(
            "INSERT INTO rollup_dirty (asset_id, bucket) SELECT 'A-1', "
            "date_bin('15 minutes', t, 'epoch') FROM unnest(%s::timestamptz[]) t "
            "ON CONFLICT DO NOTHING",
            (times,),
        )

    with psycopg.connect(database_url) as conn:
        assert conn.execute(LATEST_SAMPLE).fetchone()[0] is None  # nothing stored: a new plant
        store(conn, range(0, 120, 5))
        conn.commit()
        # None rolled up yet, then all of it.
        assert conn.execute(LATEST_SAMPLE).fetchone()[0] == t0 + timedelta(minutes=115)
        refresh_rollups(conn)
        conn.commit()
        newest_bucket = conn.execute("SELECT max(bucket) FROM signal_rollup_15m").fetchone()[0]
        assert newest_bucket == t0 + timedelta(minutes=105)
        assert conn.execute(LATEST_SAMPLE).fetchone()[0] == t0 + timedelta(minutes=115)
        store(conn, range(120, 300, 5))  # rollups behind by three hours
        conn.commit()
        assert conn.execute(LATEST_SAMPLE).fetchone()[0] == t0 + timedelta(minutes=295)
