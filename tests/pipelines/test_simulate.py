"""The plant simulator: deterministic, complete, realistic rates, real precursors."""

from __future__ import annotations

import filecmp
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from pipelines.simulate.plant import KINDS
from pipelines.simulate.run import SimConfig, Simulation
from pipelines.simulate.scenario import DAY, H
from pipelines.simulate.signals import AssetRenderer
from precursor.core import contracts

# Documented in the README ("Simulated plant"): per asset and 30 days, over a long run.
RANGES = {
    "dispatch_incidents_per_asset_30d": (0.40, 0.60),
    "hse_incidents_per_asset_30d": (0.12, 0.32),
    "share_of_stops_with_precursor": (0.60, 0.82),
    "share_of_episodes_recovering": (0.28, 0.48),
}
MAIN_TAG = {
    "bearing_wear": ("vibration_mm_s", +1),
    "overload_clogging": ("motor_current_a", +1),
    "electrical_fault": ("winding_temp_c", +1),
    "hydraulic_leak": ("hydraulic_pressure_bar", -1),
    "engine_overheat": ("engine_temp_c", +1),
}


def _simulate(out: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "precursor", "simulate", *args, "--to", "files", str(out), "--json"],
        check=True,
        capture_output=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")},
    )


def test_simulate_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    args = ("--seed", "7", "--assets", "8", "--days", "3")
    _simulate(tmp_path / "a", *args)
    _simulate(tmp_path / "b", *args)
    _simulate(tmp_path / "c", "--seed", "8", "--assets", "8", "--days", "3")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert {"signals.jsonl", "dispatch.jsonl", "ground_truth.jsonl", "assets.jsonl"} <= set(names)
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(names)
    assert (tmp_path / "a" / "signals.jsonl").stat().st_size > 1_000_000
    assert not filecmp.cmp(
        tmp_path / "a" / "signals.jsonl", tmp_path / "c" / "signals.jsonl", shallow=False
    )


def test_simulate_every_kind_emits_its_tags_and_valid_messages(tmp_path: Path) -> None:
    _simulate(tmp_path, "--assets", "10", "--days", "2", "--interval", "300")
    assets = {r["asset_id"]: r for r in map(orjson.loads, (tmp_path / "assets.jsonl").open("rb"))}
    assert {r["kind"] for r in assets.values()} == set(KINDS)
    seen: dict[str, set[str]] = {}
    models = {
        "signals": contracts.SignalSnapshot,
        "alarms": contracts.Alarm,
        "dispatch": contracts.DispatchEvent,
        "incidents": contracts.Incident,
    }
    for stream, model in models.items():
        for line in (tmp_path / f"{stream}.jsonl").read_bytes().splitlines():
            msg = contracts.decode(model, line, 1_000_000)  # raises if the simulator broke a rule
            if stream == "signals":
                seen.setdefault(msg.asset_id, set()).update(msg.signals)
    for asset_id, record in assets.items():
        assert seen[asset_id] == set(KINDS[record["kind"]].tag_names), asset_id


def test_simulate_long_run_rates_fall_within_documented_ranges() -> None:
    sim = Simulation(SimConfig(seed=7, assets=40, days=365, interval_s=300))
    truth = sim.ground_truth()
    incidents = [t for t in truth if t["type"] == "incident"]
    stops = [t for t in incidents if t["source"] == "dispatch"]
    episodes = [t for t in truth if t["type"] == "episode"]
    asset_months = 40 * 365 / 30
    measured = {
        "dispatch_incidents_per_asset_30d": len(stops) / asset_months,
        "hse_incidents_per_asset_30d": (len(incidents) - len(stops)) / asset_months,
        "share_of_stops_with_precursor": np.mean([s["precursor_onset"] is not None for s in stops]),
        "share_of_episodes_recovering": np.mean([e["outcome"] != "failure" for e in episodes]),
    }
    for name, (lo, hi) in RANGES.items():
        assert lo <= measured[name] <= hi, (name, measured[name])
    assert {e["outcome"] for e in episodes} >= {"failure", "intervention", "self_resolved"}


def test_simulate_spec_labels_equal_the_ground_truth_stops() -> None:
    """Unplanned `down` lasting >= 30 min (the SPEC's incident) is exactly a truth failure."""
    sim = Simulation(SimConfig(seed=3, assets=40, days=180, interval_s=300))
    for plan in sim.plans:
        events = plan.dispatch
        labelled = {
            a["event_id"]
            for a, b in itertools.pairwise(events)
            if a["state"] == "down" and not a["planned"] and b["t"] - a["t"] >= 1800
        }
        truth = {t["event_id"] for t in plan.truth if t.get("source") == "dispatch"}
        assert labelled == truth, plan.asset.asset_id


def _window_z(values, running, t, window, baseline) -> float | None:
    """Window mean against the spread of equally long window means over the baseline: a
    two-sample comparison that respects the signals' autocorrelation."""
    win = (t >= window[0]) & (t < window[1]) & running
    base = (t >= baseline[0]) & (t < baseline[1]) & running
    if win.sum() < 6 or base.sum() < 200:
        return None
    means = np.convolve(values[base], np.ones(win.sum()) / win.sum(), mode="valid")
    return float((values[win].mean() - means.mean()) / means.std())


def test_precursor_episodes_deviate_from_baseline_and_sudden_failures_do_not() -> None:
    cfg = SimConfig(seed=7, assets=40, days=120, interval_s=300)
    sim = Simulation(cfg)
    t = np.arange(cfg.samples_per_asset) * float(cfg.interval_s)
    precursor, sudden = [], []
    for asset, plan in zip(sim.assets, sim.plans, strict=True):
        values, _ = AssetRenderer(asset, plan, cfg.seed, cfg.interval_s, sim.start_epoch).render(t)
        running = plan.running_at(t)
        names = asset.kind.tag_names
        for ep in plan.episodes:
            if ep.outcome != "failure" or ep.onset < 8 * DAY:
                continue
            tag, sign = MAIN_TAG[ep.mechanism]
            tag = tag if tag in names else "motor_temp_c"  # cranes have no winding tag
            z = _window_z(
                values[names.index(tag)],
                running,
                t,
                (ep.end - 0.3 * ep.lead_s, ep.end),
                (ep.onset - 7 * DAY, ep.onset),
            )
            if z is not None:
                precursor.append(sign * z >= 3)
        for iv in plan.intervals:
            if iv.cause == "sudden" and iv.start > 8 * DAY:
                zs = [
                    _window_z(
                        values[i],
                        running,
                        t,
                        (iv.start - 6 * H, iv.start),
                        (iv.start - 7 * DAY, iv.start - 6 * H),
                    )
                    for i in range(len(names))
                ]
                sudden.append(max(abs(z) for z in zs if z is not None) < 3)
    assert len(precursor) >= 30 and len(sudden) >= 10
    assert np.mean(precursor) >= 0.85, precursor
    assert np.mean(sudden) >= 0.8, sudden


@pytest.mark.parametrize("mechanism", sorted(MAIN_TAG))
def test_each_mechanism_occurs_in_a_long_run(mechanism: str) -> None:
    sim = Simulation(SimConfig(seed=7, assets=40, days=365, interval_s=300))
    assert any(ep.mechanism == mechanism for plan in sim.plans for ep in plan.episodes)


def test_a_scripted_degradation_fails_on_time_and_changes_nothing_before_it() -> None:
    from dataclasses import replace

    from pipelines.simulate.run import SCRIPT_LEAD_H, rfc3339

    cfg = SimConfig(seed=7, assets=6, days=14, interval_s=300)
    base, sim = Simulation(cfg), Simulation(replace(cfg, degrade_at_h=10 * 24 + 1))
    asset_id, script = sim.scripted
    assert script.onset == (10 * 24 + 1) * H and script.mechanism == "bearing_wear"
    i = next(j for j, a in enumerate(sim.assets) if a.asset_id == asset_id)
    # The most critical asset free at the time takes it.
    assert sim.assets[i].kind.criticality == max(a.kind.criticality for a in sim.assets)
    onset = rfc3339(sim.start_epoch, script.onset)
    incident = [
        r for r in sim.ground_truth()
        if r["type"] == "incident" and r.get("precursor_onset") == onset
    ]  # fmt: skip
    assert [(r["asset_id"], r["ts"]) for r in incident] == [
        (asset_id, rfc3339(sim.start_epoch, script.onset + SCRIPT_LEAD_H * H))
    ]
    # Every other asset's plant, and this one's up to the onset, is the seed's own.
    for j, (plan, before) in enumerate(zip(sim.plans, base.plans, strict=True)):
        if j != i:
            assert plan.dispatch == before.dispatch and plan.episodes == before.episodes
    t = np.arange(cfg.samples_per_asset) * float(cfg.interval_s)
    asset = sim.assets[i]
    values, _ = AssetRenderer(
        asset, sim.plans[i], cfg.seed, cfg.interval_s, sim.start_epoch
    ).render(t)
    was, _ = AssetRenderer(asset, base.plans[i], cfg.seed, cfg.interval_s, sim.start_epoch).render(
        t
    )
    pre = t < script.onset
    assert np.array_equal(values[:, pre], was[:, pre])
    assert [e for e in sim.plans[i].dispatch if e["t"] < script.onset] == [
        e for e in base.plans[i].dispatch if e["t"] < script.onset
    ]
    # ...and from the onset its bearings show it, as any bearing-wear precursor does.
    z = _window_z(
        values[asset.kind.tag_names.index("vibration_mm_s")],
        sim.plans[i].running_at(t),
        t,
        (script.failure - 0.3 * script.lead_s, script.failure),
        (script.onset - 7 * DAY, script.onset),
    )
    assert z is not None and z >= 3


class _ListSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict]] = []

    def send(self, stream: str, key: str, msg: dict) -> None:
        self.sent.append((stream, key, msg))


def test_a_resumed_plant_sends_exactly_what_the_whole_run_sends_from_that_time_on() -> None:
    from pipelines.simulate.run import rfc3339

    cfg = SimConfig(seed=7, assets=6, days=6, interval_s=300, degrade_at_h=2 * 24 + 1)
    whole, resumed = _ListSink(), _ListSink()
    Simulation(cfg).emit(whole)
    send_from = 3.5 * DAY  # mid-day, past the scripted onset
    last = Simulation(cfg).emit(resumed, send_from=send_from)
    cut = rfc3339(Simulation(cfg).start_epoch, send_from)
    expected = [m for m in whole.sent if m[2]["ts"] >= cut]
    assert resumed.sent == expected  # same messages, same values, same order
    assert len(expected) < len(whole.sent) and any(m[0] == "dispatch" for m in expected)
    assert last == cfg.samples_per_asset * cfg.interval_s - cfg.interval_s


def test_a_stop_ends_a_backfill_within_a_day_of_snapshots() -> None:
    cfg = SimConfig(seed=7, assets=3, days=5, interval_s=300)
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2  # stop asked for as the third day begins

    sink = _ListSink()
    last = Simulation(cfg).emit(sink, stop=stop)
    assert last == 2 * DAY - cfg.interval_s
    assert max(m[2]["ts"] for m in sink.sent if m[0] == "signals") < "2026-01-03"
