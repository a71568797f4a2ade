"""`precursor simulate`: a deterministic simulated plant, to Kafka or to JSONL files."""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

from precursor.cli.commands.args import (
    SIM_MAX_DAYS,
    SIM_MAX_INTERVAL_S,
    Destination,
    asset_count,
    non_negative_float,
    positive_float,
    seed_number,
    simulated_days,
    snapshot_interval,
    timestamp,
)
from precursor.core.errors import ConfigurationError
from precursor.core.signals import stop_on_signals


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simulate` to the CLI."""
    p = sub.add_parser(
        "simulate",
        help="simulate a plant (signals, alarms, dispatch, HSE) with ground truth",
        description="Deterministic for a given --seed: the same arguments give byte-identical "
        "files. Ground truth (every incident with its mechanism and precursor onset, "
        "every recovering episode) is written beside the data.",
    )
    p.add_argument("--seed", type=seed_number, default=7, help="random seed (7)")
    p.add_argument("--assets", type=asset_count, default=40, help="number of assets (40)")
    p.add_argument(
        "--days",
        type=simulated_days,
        default=30.0,
        help=f"simulated days (30; at most {SIM_MAX_DAYS})",
    )
    p.add_argument(
        "--interval",
        type=snapshot_interval,
        default=60,
        help=f"seconds between signal snapshots (60; at most {SIM_MAX_INTERVAL_S})",
    )
    p.add_argument(
        "--start",
        type=timestamp,
        default=None,
        help="simulation start, RFC 3339 (2026-01-01T00:00:00Z)",
    )
    p.add_argument(
        "--to",
        action=Destination,
        help="`kafka` (the configured topics) or `files DIR` (JSONL per topic)",
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="pace output by the wall clock (with --speed) instead of backfilling",
    )
    p.add_argument(
        "--speed",
        type=positive_float,
        default=60.0,
        help="with --realtime: simulated seconds per real second (60)",
    )
    p.add_argument(
        "--backfill-days",
        type=non_negative_float,
        default=0.0,
        help="with --realtime: emit the first N days at full speed first",
    )
    p.add_argument(
        "--degrade-at",
        type=non_negative_float,
        default=None,
        metavar="HOURS",
        help="script one precursor episode: the most critical asset free then starts to degrade "
        "HOURS into the simulation and fails 18 h later (what `up --demo` shows first)",
    )
    p.add_argument(
        "--resume-from",
        type=timestamp,
        default=None,
        metavar="TIME",
        help="send only what happens from TIME (RFC 3339) on: the same plant carries on where "
        "an earlier run of it stopped (`up --demo` uses it; earlier days are rendered, not sent)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON summary line at the end")
    p.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="kafka mode: where to write ground truth (<data dir>/simulation/)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Plan, then emit with a progress bar."""
    from tqdm import tqdm

    from pipelines.simulate.run import DEFAULT_START, SimConfig, Simulation, write_jsonl
    from pipelines.simulate.sinks import FileSink, KafkaSink
    from precursor.core.progress import no_bar
    from precursor.core.runtime.processes import peak_rss_mb

    mode, directory = args.to
    config = SimConfig(
        seed=args.seed,
        assets=args.assets,
        days=args.days,
        interval_s=args.interval,
        start=args.start or DEFAULT_START,
        degrade_at_h=args.degrade_at,
    )
    send_from = 0.0
    if args.resume_from is not None:
        send_from = (args.resume_from - config.start).total_seconds()
        if not 0 <= send_from < config.horizon:
            raise ConfigurationError(
                f"--resume-from {args.resume_from:%Y-%m-%dT%H:%M:%SZ} is outside the simulated "
                f"span ({config.start:%Y-%m-%dT%H:%M:%SZ} and {config.days:g} days on)"
            )
    try:
        sim = Simulation(config)
    except ValueError as exc:  # a scripted degradation that does not fit
        raise ConfigurationError(str(exc)) from None
    stop = stop_on_signals(threading.Event())

    if mode == "files":
        out_dir = directory
        sink = FileSink(directory)
    else:
        from precursor.core import db, endpoints
        from precursor.core.registry import upsert_assets

        settings = endpoints.resolve(args.settings)
        with db.connect(settings) as conn:
            upsert_assets(conn, sim.registry())
        out_dir = args.truth.parent if args.truth else settings.data_dir / "simulation"
        sink = KafkaSink(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path = args.truth if (args.truth and mode == "kafka") else out_dir / "ground_truth.jsonl"
    write_jsonl(truth_path, sim.ground_truth())
    write_jsonl(out_dir / "assets.jsonl", sim.registry())
    manifest = {
        "seed": config.seed,
        "assets": config.assets,
        "days": config.days,
        "interval_s": config.interval_s,
        "start": config.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if args.realtime:
        manifest["backfill_days"] = args.backfill_days
    if sim.scripted is not None:
        asset_id, script = sim.scripted
        manifest["degrade_at_h"] = config.degrade_at_h
        if not args.json:
            onset = config.start + timedelta(seconds=script.onset)
            print(
                f"scripted degradation: {asset_id} ({script.mechanism}) degrades from "
                f"{onset:%Y-%m-%d %H:%M} UTC and fails {script.lead_s / 3600:g} h later",
                flush=True,
            )
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if send_from and not args.json:
        resumed = config.start + timedelta(seconds=send_from)
        print(f"carrying the plant on from {resumed:%Y-%m-%d %H:%M} UTC", flush=True)

    pace_from = args.backfill_days * 86400.0 if args.realtime else None
    total = config.samples_per_asset * config.assets
    quiet = args.realtime or args.json
    bar = tqdm(total=total, unit="snap", desc="simulate", disable=no_bar(quiet), mininterval=0.5)
    started = time.perf_counter()
    try:
        last = sim.emit(
            sink,
            pace_from=pace_from,
            speed=args.speed,
            progress=bar.update,
            stop=stop.is_set,
            send_from=send_from,
        )
    finally:
        bar.close()
        sink.close()
    elapsed = time.perf_counter() - started
    if args.json:
        tags = {a.asset_id: len(a.kind.tags) for a in sim.assets}
        print(
            json.dumps(
                {
                    **sink.counts,
                    "samples": config.samples_per_asset * sum(tags.values()),
                    "emit_s": round(elapsed, 3),
                    "ground_truth": str(truth_path),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                }
            )
        )
        return 0
    counts = ", ".join(f"{k} {v:,}" for k, v in sink.counts.items())
    first, end = (config.start + timedelta(seconds=x) for x in (send_from, last))
    print(
        f"simulated {config.assets} assets from {first:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} "
        f"UTC{' (stopped)' if stop.is_set() else ''}: {counts}"
    )
    print(f"ground truth: {truth_path}")
    return 0
