"""`precursor bench`: throughput ratios measured in one run."""

from __future__ import annotations

import argparse
import json
import sys

from precursor.cli.commands.args import (
    asset_count,
    client_count,
    days_list,
    request_count,
    sample_count,
    seed_list,
    simulated_days,
    snapshot_interval,
    tags_per_message,
    whole_days,
)


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
    ingest.add_argument("--samples", type=sample_count, default=500_000, help="samples (500000)")
    ingest.add_argument(
        "--tags-per-message",
        type=tags_per_message,
        default=10,
        help="tags in one snapshot message (10)",
    )
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(run=run_ingest)
    sim = targets.add_parser("simulate", help="samples/s the simulator produces to Kafka")
    sim.add_argument("--assets", type=asset_count, default=40, help="(40)")
    sim.add_argument("--days", type=simulated_days, default=120.0, help="(120)")
    sim.add_argument("--interval", type=snapshot_interval, default=300, help="seconds (300)")
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.set_defaults(run=run_simulate)
    score = targets.add_parser("score", help="features + model for N assets at one grid time")
    score.add_argument("--assets", type=asset_count, default=1000, help="(1000)")
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.set_defaults(run=run_score)
    train = targets.add_parser("train", help="training time on the default plant")
    train.add_argument("--assets", type=asset_count, default=40, help="(40)")
    train.add_argument("--days", type=simulated_days, default=120.0, help="(120)")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.set_defaults(run=run_train)
    quality = targets.add_parser(
        "quality",
        help="backtest figures on several simulated plants, in memory",
        description="Render a simulated plant per seed in memory, train and backtest on it as "
        "`train` does (no database or broker), and report each plant's test-window figures "
        "against the quality bar; also whether each warned alert named, when it opened, a "
        "signal the failing mechanism moves (ground truth), and whether it was still open when "
        "the incident came. About 2 minutes and a few GB per 120-day plant.",
    )
    _plant_arguments(quality)
    quality.add_argument("--days", type=simulated_days, default=120.0, help="(120)")
    quality.set_defaults(run=run_quality)
    history = targets.add_parser(
        "history",
        help="how a first model trained on N days does on the days after it",
        description="Render a simulated plant per seed in memory, train a first model on the "
        "last N days before a cut-off as `train` does, for each N, and replay the alert machine "
        "over the live days after the cut-off. About 1 minute per model and a few GB per plant.",
    )
    _plant_arguments(history)
    history.add_argument(
        "--history",
        type=days_list,
        default=[60.0, 90.0, 120.0],
        help="days of history to train on, comma-separated (60,90,120)",
    )
    history.add_argument(
        "--live-days", type=simulated_days, default=7.0, help="days judged after the cut-off (7)"
    )
    history.set_defaults(run=run_history)
    api = targets.add_parser("api", help="API latency under concurrent clients")
    api.add_argument("--assets", type=asset_count, default=200, help="(200)")
    api.add_argument("--days", type=whole_days, default=30, help="days of risk scores (30)")
    api.add_argument("--clients", type=client_count, default=32, help="concurrent clients (32)")
    api.add_argument("--requests", type=request_count, default=4000, help="(4000)")
    api.add_argument("--json", action="store_true", help="print one JSON object")
    api.set_defaults(run=run_api)


def _plant_arguments(p: argparse.ArgumentParser) -> None:
    """What the in-memory plant benchmarks share: which plants, their size, --json."""
    p.add_argument(
        "--seeds", type=seed_list, default=seed_list("8-15"), help="e.g. 8-15 or 7,9 (8-15)"
    )
    p.add_argument("--assets", type=asset_count, default=40, help="(40)")
    p.add_argument("--interval", type=snapshot_interval, default=300, help="seconds (300)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


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


def run_quality(args: argparse.Namespace) -> int:
    """Backtest on several simulated plants and print each against the quality bar."""
    from pipelines.bench.quality import run_bench_quality

    # Minutes per plant: keep the progress bar (stderr) for a person even with --json.
    quiet = args.json and not sys.stderr.isatty()
    result = run_bench_quality(
        args.settings, args.seeds, args.assets, args.days, args.interval, quiet=quiet
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{'seed':>4} {'incid':>5} {'prec':>4} {'recall_p':>8} {'recall':>6} {'lead_h':>6} "
        f"{'avail_h':>7} {'FA/aw':>6} {'beats':>5} {'named':>5}  meets all"
    )
    for p in result["plants"]:
        print(
            f"{p['seed']:>4} {p['incidents']:>5} {p['incidents_with_precursor']:>4} "
            f"{_fig(p['recall_at_1h_precursor']):>8} {_fig(p['recall_at_1h']):>6} "
            f"{_fig(p['median_lead_h'], 1):>6} {_fig(p['median_available_lead_h'], 1):>7} "
            f"{_fig(p['false_alerts_per_asset_week']):>6} "
            f"{_yes(p['meets']['beats_baselines']):>5} {_share(p['explained_at_opening']):>5}  "
            f"{_yes(all(v is True for v in p['meets'].values()))}"
        )
    for p in result["skipped"]:
        print(f"{p['seed']:>4} skipped: {p['error']}")
    s, bar, n = result["summary"], result["bar"], result["summary"]["plants"]
    print(f"plants meeting each point of the bar, of {n}:")
    points = (
        ("recall_at_1h_precursor", f">= {bar['recall_at_1h_precursor_min']:g}"),
        ("median_lead_h", f">= {bar['median_lead_h_min']:g} h"),
        ("false_alerts", f"<= {bar['false_alerts_per_asset_week_max']:g} per asset-week"),
        ("beats_baselines", "at no more false alerts"),
    )
    for key, rule in points:
        print(f"  {key:24s} {rule:28s} {s['meet'][key]}")
    print(f"  {'all':24s} {'':28s} {s['meet_all']}")
    e = s["explained_at_opening"]
    print(
        f"alerts that named the failing mechanism's signal when they opened: "
        f"{e['named']} of {e['warned']} warned incidents with a precursor among the top 3, "
        f"{e['first']} first"
    )
    print(
        f"warned incidents whose alert was still open when they came: "
        f"{s['warned_1h_open_at_incident']} of {s['warned_1h']}"
    )
    return 0


def _share(counts: dict) -> str:
    return f"{counts['named']}/{counts['warned']}"


def run_history(args: argparse.Namespace) -> int:
    """Train first models on several history lengths and judge each on the days after."""
    from pipelines.bench.history import run_bench_history

    quiet = args.json and not sys.stderr.isatty()
    result = run_bench_history(
        args.settings,
        args.seeds,
        args.history,
        args.live_days,
        args.assets,
        args.interval,
        quiet=quiet,
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"live: the {args.live_days:g} days after each plant's cut-off, less one horizon")
    print(
        f"{'seed':>4} {'days':>5} | {'own recall_p':>12} {'lead_h':>6} | {'prec':>4} "
        f"{'recall_p':>8} {'recall':>6} {'lead_h':>6} {'alerts':>6} {'false':>5} {'FA/aw':>6}"
    )
    for p in result["plants"]:
        for r in p["runs"]:
            if "error" in r:
                print(f"{p['seed']:>4} {r['history_days']:>5g} | skipped: {r['error']}")
                continue
            own, live = r["own_test"], r["live"]
            print(
                f"{p['seed']:>4} {r['history_days']:>5g} | "
                f"{_fig(own['recall_at_1h_precursor']):>12} {_fig(own['median_lead_h'], 1):>6} | "
                f"{live['incidents_with_precursor']:>4} {_fig(live['recall_at_1h_precursor']):>8} "
                f"{_fig(live['recall_at_1h']):>6} {_fig(live['median_lead_h'], 1):>6} "
                f"{live['alerts']:>6} {live['false_alerts']:>5} "
                f"{_fig(live['false_alerts_per_asset_week']):>6}"
            )
    print("pooled over plants (live days only):")
    for s in result["summary"]:
        print(
            f"  {s['history_days']:>5g} days: {s['plants']} plants, warned >= 1 h "
            f"{s['warned_1h_precursor']}/{s['incidents_with_precursor']} with a precursor and "
            f"{s['warned_1h']}/{s['incidents']} in all; {s['alerts']} alerts, "
            f"{s['false_alerts']} false ({_fig(s['false_alerts_per_asset_week'])} per "
            f"asset-week); median of the plants' median leads {_fig(s['median_lead_h'], 1)} h"
        )
    return 0


def _yes(value: bool | None) -> str:
    return "n/a" if value is None else "yes" if value else "no"


def _fig(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run_api(args: argparse.Namespace) -> int:
    """Load /v1/forecast and /v1/alerts and report latency percentiles."""
    from pipelines.bench.api import run_bench_api

    result = run_bench_api(
        args.settings, args.assets, args.days, args.clients, args.requests, quiet=args.json
    )
    return _print(result, args.json)
