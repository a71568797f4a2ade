"""`precursor bench`: throughput ratios measured in one run."""

from __future__ import annotations

import argparse
import json

from precursor.cli.commands.args import positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    """Add `bench` and its targets to the CLI."""
    p = sub.add_parser(
        "bench",
        help="measure throughput as ratios within one run",
        description="Benchmarks run against a throw-away embedded database and "
        "broker, so figures from different runs are comparable.",
    )
    targets = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    ingest = targets.add_parser("ingest", help="raw COPY rate vs end-to-end Kafka ingest rate")
    ingest.add_argument("--samples", type=positive_int, default=500_000, help="samples (500000)")
    ingest.add_argument(
        "--tags-per-message",
        type=positive_int,
        default=10,
        help="tags in one snapshot message (10)",
    )
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(run=run_ingest)
    sim = targets.add_parser("simulate", help="samples/s the simulator produces to Kafka")
    sim.add_argument("--assets", type=positive_int, default=40, help="(40)")
    sim.add_argument("--days", type=positive_float, default=120.0, help="(120)")
    sim.add_argument("--interval", type=positive_int, default=300, help="seconds (300)")
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.set_defaults(run=run_simulate)
    score = targets.add_parser("score", help="features + model for N assets at one grid time")
    score.add_argument("--assets", type=positive_int, default=1000, help="(1000)")
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.set_defaults(run=run_score)
    train = targets.add_parser("train", help="training time on the default plant")
    train.add_argument("--assets", type=positive_int, default=40, help="(40)")
    train.add_argument("--days", type=positive_float, default=120.0, help="(120)")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.set_defaults(run=run_train)
    api = targets.add_parser("api", help="API latency under concurrent clients")
    api.add_argument("--assets", type=positive_int, default=200, help="(200)")
    api.add_argument("--days", type=positive_int, default=30, help="days of risk scores (30)")
    api.add_argument("--clients", type=positive_int, default=32, help="concurrent clients (32)")
    api.add_argument("--requests", type=positive_int, default=4000, help="(4000)")
    api.add_argument("--json", action="store_true", help="print one JSON object")
    api.set_defaults(run=run_api)


def run_ingest(args: argparse.Namespace) -> int:
    """Run the ingest benchmark and print its figures."""
    from pipelines.bench.ingest import run_bench_ingest

    result = run_bench_ingest(args.settings, args.samples, args.tags_per_message, quiet=args.json)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"samples                        {result['samples']:>12,}  "
        f"({result['messages']:,} messages x {result['tags_per_message']} tags)"
    )
    print(f"(a) COPY + ON CONFLICT         {result['copy_on_conflict_rows_per_s']:>12,} rows/s")
    print(f"(c) COPY into indexed table    {result['copy_plain_rows_per_s']:>12,} rows/s")
    print(f"(b) Kafka -> ingest -> DB      {result['ingest_rows_per_s']:>12,} rows/s")
    print(
        f"ratio (b)/(a)                  {result['ratio_ingest_vs_copy_on_conflict']:>12}  "
        "(goal >= 0.6)"
    )
    print(f"ratio (b)/(c)                  {result['ratio_ingest_vs_copy_plain']:>12}")
    print(f"ingest peak RSS                {result['ingest_peak_rss_mb']:>9} MB  (goal < 500 MB)")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    """Run the simulator benchmark and print its figures."""
    from pipelines.bench.simulate import run_bench_simulate

    result = run_bench_simulate(args.settings, args.assets, args.days, args.interval)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"plant                {result['assets']} assets x {result['days']:g} days, "
        f"{result['interval_s']} s snapshots"
    )
    print(f"messages             {result['messages']:>12,}")
    print(f"samples              {result['samples']:>12,}")
    print(f"samples/s to Kafka   {result['samples_per_s']:>12,}  (goal >= 50,000)")
    print(f"  incl. startup      {result['samples_per_s_with_startup']:>12,}")
    print(f"peak RSS             {result['peak_rss_mb']:>9} MB  (goal < 300 MB)")
    return 0


def _print(result: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24s} {value}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    """Time one live scoring step."""
    from pipelines.bench.score import run_bench_score

    return _print(run_bench_score(args.assets), args.json)


def run_train(args: argparse.Namespace) -> int:
    """Time training on the default plant."""
    from pipelines.bench.train import run_bench_train

    return _print(run_bench_train(args.settings, args.assets, args.days), args.json)


def run_api(args: argparse.Namespace) -> int:
    """Load /v1/forecast and /v1/alerts and report latency percentiles."""
    from pipelines.bench.api import run_bench_api

    result = run_bench_api(
        args.settings, args.assets, args.days, args.clients, args.requests, quiet=args.json
    )
    return _print(result, args.json)
