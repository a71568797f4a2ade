"""`precursor bench ... --json` runs end to end and reports every figure (no speed gates)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _bench(*args: str) -> dict:
    """Run `precursor bench ARGS --json` outside any stack and return its figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "precursor", "bench", *args, "--json"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bench_ingest_json_reports_ratios_and_exact_rows() -> None:
    figures = _bench("ingest", "--samples", "20000")
    assert figures["samples"] == 20_000 and figures["rows_stored_exactly"] is True
    for key in ("copy_on_conflict_rows_per_s", "copy_plain_rows_per_s", "ingest_rows_per_s",
                "ingest_peak_rss_mb"):  # fmt: skip
        assert figures[key] > 0, key
    expected = figures["ingest_rows_per_s"] / figures["copy_on_conflict_rows_per_s"]
    assert figures["ratio_ingest_vs_copy_on_conflict"] == pytest.approx(expected, rel=0.01)


def test_bench_simulate_json_reports_rate_and_rss() -> None:
    figures = _bench("simulate", "--assets", "4", "--days", "2")
    assert figures["samples"] > 0 and figures["samples_per_s"] > 0
    assert 0 < figures["peak_rss_mb"] < 24 * 1024


def test_bench_api_json_reports_latency_both_ways_without_errors() -> None:
    figures = _bench("api", "--assets", "20", "--days", "2", "--clients", "4", "--requests", "200")
    assert figures["risk_scores"] == 20 * 2 * 96 and figures["alerts"] == 60
    assert figures["errors"] == 0 and figures["uncached_errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert 0 < figures["uncached_p50_ms"] <= figures["uncached_p99_ms"]
    assert 0 < figures["api_peak_rss_mb"] < 24 * 1024
    expected = figures["requests_per_s"] / figures["uncached_requests_per_s"]
    assert figures["ratio_cached_vs_uncached_rps"] == pytest.approx(expected, rel=0.02)


def test_bench_score_json_reports_times_and_the_scoring_process_rss() -> None:
    figures = _bench("score", "--assets", "100")
    assert figures["assets"] == 100 and 0 < figures["scored_rows"] <= 100
    assert figures["explained_rows"] == 10
    parts = figures["features_s"] + figures["predict_s"] + figures["explain_s"]
    assert figures["total_s"] == pytest.approx(parts, abs=0.003)
    assert 0 < figures["peak_rss_mb"] < 24 * 1024


def test_bench_quality_json_reports_each_plant_against_the_bar() -> None:
    figures = _bench("quality", "--seeds", "6", "--assets", "10", "--days", "40")
    (plant,) = figures["plants"]
    assert plant["seed"] == 6 and plant["incidents_with_precursor"] == 2
    assert set(plant["baselines"]) == {"threshold", "isolation_forest"}
    opening = plant["explained_at_opening"]
    assert 0 <= opening["named"] <= opening["warned"] <= plant["incidents_with_precursor"]
    counts = {k: opening[k] for k in ("named", "first", "warned")}
    assert figures["summary"]["explained_at_opening"] == counts  # pooled counts, one plant
    assert len(opening["not_first"]) == opening["warned"] - opening["first"]
    assert 0 <= plant["warned_1h_open_at_incident"] <= plant["warned_1h"] <= plant["incidents"]
    assert figures["summary"]["meet"]["false_alerts"] == int(
        plant["false_alerts_per_asset_week"] <= figures["bar"]["false_alerts_per_asset_week_max"]
    )


def test_bench_quality_table_marks_what_it_could_not_judge() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "precursor", "bench", "quality", "--seeds", "1,3",
         "--assets", "10", "--days", "40"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line[:4].strip()}
    # No precursor incident in its test window: nothing to judge, nothing to explain.
    assert rows["1"].split()[-3:] == ["n/a", "0/0", "no"]
    assert "skipped: no incident within 24 h" in rows["3"]  # none in its validation window
    assert "plants meeting each point of the bar, of 1:" in result.stdout
