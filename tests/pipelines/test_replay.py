"""Replays through the real broker and ingest: exact counts in the database."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from pipelines.replay import azure_pdm
from pipelines.simulate.sinks import KafkaSink
from precursor.core.registry import upsert_assets
from precursor.core.settings import Settings
from tests.helpers import committed_total, count, ingest_thread, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DATA = azure_pdm.default_data_dir()


def _expected_from_csv(data: Path) -> dict[str, int]:
    """The counts the replay must land, derived straight from the CSV files."""
    with gzip.open(next(data.glob("PdM_telemetry*.csv.gz")), "rt", newline="") as fh:
        telemetry = list(csv.DictReader(fh))
    stamps = sorted(r["datetime"] for r in telemetry)
    lo, hi = stamps[0], stamps[-1]
    machines = {r["machineID"] for r in telemetry}

    def clipped(name: str) -> list[dict]:
        with open(data / name, newline="") as fh:
            return [
                r
                for r in csv.DictReader(fh)
                if r["machineID"] in machines and lo <= r["datetime"] <= hi
            ]

    errors, failures, maint = (
        clipped("PdM_errors.csv"),
        clipped("PdM_failures.csv"),
        clipped("PdM_maint.csv"),
    )
    failed = {(r["machineID"], r["datetime"]) for r in failures}
    hours = failed | {(r["machineID"], r["datetime"]) for r in maint}
    end = datetime.fromisoformat(hi)
    restarts = sum(
        datetime.fromisoformat(h) + timedelta(hours=8 if (m, h) in failed else 4) <= end
        for m, h in hours
    )
    return {
        "samples": 4 * len(telemetry),
        "alarms": len(errors),
        "dispatch": len(failures) + len(maint) + restarts,
        "failures": len(failures),
        "assets": len(machines),
    }


@pytest.mark.skipif(DATA is None, reason="../shared/data/azure_pdm not present")
def test_azure_pdm_replay_lands_exactly_the_source_counts(settings: Settings) -> None:
    expected = _expected_from_csv(DATA)
    assert expected["samples"] == 172_800  # the subset the data README describes
    replay = azure_pdm.build(azure_pdm.load(DATA))
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        upsert_assets(conn, replay.assets)
    sink = KafkaSink(settings)
    for stream, key, msg in replay.streams():
        sink.send(stream, key, msg)
    sink.close()
    with ingest_thread(settings, ("signals", "alarms", "dispatch")):
        wait_for(
            lambda: (
                committed_total(settings, "signals") == len(replay.signals)
                and committed_total(settings, "alarms") == len(replay.alarms)
                and committed_total(settings, "dispatch") == len(replay.dispatch)
            ),
            180,
            "replay ingested",
        )
    assert count(settings, "SELECT count(*) FROM signal_samples") == expected["samples"]
    assert count(settings, "SELECT count(*) FROM alarms") == expected["alarms"]
    assert count(settings, "SELECT count(*) FROM dispatch_events") == expected["dispatch"]
    assert count(settings, "SELECT count(*) FROM assets") == expected["assets"]
    # Every failure is a stop of the documented repair time (not swallowed by its maintenance).
    unplanned = count(
        settings, "SELECT count(*) FROM downtime WHERE NOT planned AND duration_s >= 1800"
    )
    distinct_failure_hours = count(
        settings, "SELECT count(DISTINCT (asset_id, started_at)) FROM downtime WHERE NOT planned"
    )
    assert unplanned == distinct_failure_hours > 0
    assert (
        count(
            settings,
            "SELECT count(*) FROM assets WHERE criticality BETWEEN 1 AND 5 "
            "AND attributes ? 'model'",
        )
        == expected["assets"]
    )


def test_replay_files_sends_what_simulate_wrote(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "plant"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "precursor",
            "simulate",
            "--assets",
            "6",
            "--days",
            "2",
            "--interval",
            "300",
            "--to",
            "files",
            str(out),
            "--json",
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env=base_env,
    )
    lines = {s: sum(1 for _ in (out / f"{s}.jsonl").open()) for s in ("signals", "dispatch")}
    (out / "alarms.jsonl").write_text('{"asset_id": "CV-01", "broken": \n')  # one bad line
    env = {
        **base_env,
        "PRECURSOR_DATABASE_URL": settings.database_url.get_secret_value(),
        "PRECURSOR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PRECURSOR_DATA_DIR": str(tmp_path),
        **{f"PRECURSOR_TOPIC_{s.upper()}": t for s, t in settings.topics.inputs.items()},
    }
    result = subprocess.run(
        [sys.executable, "-m", "precursor", "replay", "files", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    with ingest_thread(settings):
        wait_for(
            lambda: (
                committed_total(settings, "signals") == lines["signals"]
                and committed_total(settings, "dispatch") == lines["dispatch"]
                and committed_total(settings, "alarms") == 1
            ),
            120,
            "files ingested",
        )
    snapshots = count(settings, "SELECT count(DISTINCT (asset_id, ts)) FROM signal_samples")
    assert snapshots == lines["signals"]
    assert count(settings, "SELECT count(*) FROM dispatch_events") == lines["dispatch"]
    assert count(settings, "SELECT count(*) FROM alarms") == 0  # the bad line went to the DLQ
    assert count(settings, "SELECT count(*) FROM assets WHERE kind IS NOT NULL") == 6
