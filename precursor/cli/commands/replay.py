"""`precursor replay`: public datasets and JSONL directories onto the input topics."""

from __future__ import annotations

import argparse
from pathlib import Path

from precursor.cli.commands.args import Destination, positive_float


def register(sub: argparse._SubParsersAction) -> None:
    """Add `replay azure-pdm` and `replay files` to the CLI."""
    p = sub.add_parser(
        "replay",
        help="replay a dataset onto the input topics",
        description="Replay recorded data through Kafka, as a plant would send it.",
    )
    which = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    az = which.add_parser(
        "azure-pdm",
        help="Microsoft's Azure predictive-maintenance sample data",
        description="Telemetry -> signals, errors -> FAULT alarms, maintenance and failures -> "
        "dispatch, machines -> assets; clipped to the telemetry window. A restart "
        "(`running`) follows a failure after --repair-hours and a maintenance record "
        "after --maintenance-hours.",
    )
    az.add_argument(
        "--data",
        type=Path,
        default=None,
        help="directory with the PdM_*.csv files (default ../shared/data/azure_pdm)",
    )
    az.add_argument("--repair-hours", type=positive_float, default=8.0, help="(8)")
    az.add_argument("--maintenance-hours", type=positive_float, default=4.0, help="(4)")
    az.add_argument(
        "--to", action=Destination, help="`kafka` (default) or `files DIR` (JSONL per topic)"
    )
    az.set_defaults(run=run_azure)
    files = which.add_parser(
        "files",
        help="JSONL files in the topic format (from simulate)",
        description="Send DIR/<stream>.jsonl unchanged (bad lines reach the "
        "DLQ) and register DIR/assets.jsonl.",
    )
    files.add_argument("directory", type=Path, help="directory written by `simulate --to files`")
    files.set_defaults(run=run_files)


def _kafka_context(settings):
    from precursor.core import db, endpoints

    resolved = endpoints.resolve(settings)
    return resolved, db.connect(resolved)


def run_azure(args: argparse.Namespace) -> int:
    """Build the replay and send it."""
    from tqdm import tqdm

    from pipelines.replay import azure_pdm
    from pipelines.simulate.run import write_jsonl
    from pipelines.simulate.sinks import FileSink, KafkaSink
    from precursor.core.errors import PrecursorError
    from precursor.core.progress import no_bar
    from precursor.core.registry import upsert_assets

    mode, directory = args.to
    data_dir = args.data or azure_pdm.default_data_dir()
    if data_dir is None:
        raise PrecursorError("Azure PdM data not found: pass --data DIR")
    replay = azure_pdm.build(azure_pdm.load(data_dir), args.repair_hours, args.maintenance_hours)
    if mode == "files":
        sink = FileSink(directory)
        out_dir = directory
    else:
        settings, conn = _kafka_context(args.settings)
        with conn:
            upsert_assets(conn, replay.assets)
        sink = KafkaSink(settings)
        out_dir = settings.data_dir / "azure-pdm"
        out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(out_dir / "assets.jsonl", replay.assets)
    write_jsonl(out_dir / "ground_truth.jsonl", replay.truth)
    total = len(replay.signals) + len(replay.alarms) + len(replay.dispatch)
    try:
        for stream, key, msg in tqdm(
            replay.streams(), total=total, unit="msg", desc="replay", disable=no_bar()
        ):
            sink.send(stream, key, msg)
    finally:
        sink.close()
    lo, hi = replay.window
    print(
        f"replayed Azure PdM {lo:%Y-%m-%d %H:%M} .. {hi:%Y-%m-%d %H:%M}: "
        + ", ".join(f"{k} {v:,}" for k, v in sink.counts.items() if v)
        + f"; {len(replay.assets)} assets"
    )
    return 0


def run_files(args: argparse.Namespace) -> int:
    """Send the files' lines unchanged."""
    from tqdm import tqdm

    from pipelines.replay.files import read_assets, replay_files, stream_files
    from precursor.core.kafka import make_producer
    from precursor.core.progress import no_bar
    from precursor.core.registry import upsert_assets

    stream_files(args.directory)  # fail fast, before connecting anywhere
    assets = read_assets(args.directory)
    settings, conn = _kafka_context(args.settings)
    with conn:
        registered = upsert_assets(conn, assets)
    producer = make_producer(settings, acks=1, linger_ms=50)
    topics = settings.topics.inputs
    bar = tqdm(unit="msg", desc="replay", mininterval=0.5, disable=no_bar())

    def send(stream: str, key: str | None, raw: bytes) -> None:
        producer.send(topics[stream], key=key.encode() if key else None, value=raw)
        bar.update()

    try:
        counts = replay_files(args.directory, send)
    finally:
        bar.close()
        producer.flush()
        producer.close(30)
    print(
        "replayed "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + f"; {registered} assets registered"
    )
    return 0
