"""`precursor bench simulate`: samples/s the simulator produces to Kafka, and its peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from pipelines.bench.environment import bench_environment
from precursor.core.errors import PrecursorError
from precursor.core.settings import Settings


def run_bench_simulate(settings: Settings, assets: int, days: float, interval: int) -> dict:
    """Run `precursor simulate --to kafka` as a child and read its figures (incl. its RSS)."""
    with bench_environment(settings) as env:
        child_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")},
            "PRECURSOR_DATABASE_URL": env.settings.database_url.get_secret_value(),
            "PRECURSOR_KAFKA_BOOTSTRAP": env.settings.kafka_bootstrap,
            "PRECURSOR_DATA_DIR": str(env.workdir),
        }
        cmd = [
            sys.executable,
            "-m",
            "precursor",
            "simulate",
            "--to",
            "kafka",
            "--json",
            "--assets",
            str(assets),
            "--days",
            str(days),
            "--interval",
            str(interval),
        ]
        started = time.perf_counter()
        proc = subprocess.run(
            cmd, env=child_env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False
        )
        out = proc.stdout
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise PrecursorError(f"bench: simulate exited with {proc.returncode}")
    figures = json.loads(out.decode().strip().splitlines()[-1])
    samples = figures["samples"]
    return {
        "benchmark": "simulate",
        "assets": assets,
        "days": days,
        "interval_s": interval,
        "messages": figures["signals"]
        + figures["alarms"]
        + figures["dispatch"]
        + figures["incidents"],
        "samples": samples,
        "samples_per_s": round(samples / figures["emit_s"]),
        "samples_per_s_with_startup": round(samples / wall),
        "peak_rss_mb": figures["peak_rss_mb"],  # the child's own VmHWM
        "goal": {"samples_per_s_min": 50_000, "peak_rss_mb_max": 300},
    }
