"""`precursor train` and `precursor backtest`: the model's lifecycle from the command line."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path

from precursor.cli.commands.args import existing_file, positive_float, positive_int

ROWS = [
    ("incidents", "incidents", "{:.0f}"),
    ("recall_at_1h", "recall >= 1 h ahead", "{:.2f}"),
    ("recall_at_1h_precursor", "  with a precursor", "{:.2f}"),
    ("warned_1h_open_at_incident", "warned, alert open at it", "{:.0f}"),
    ("median_lead_h", "median lead (h)", "{:.1f}"),
    ("p10_lead_h", "p10 lead (h)", "{:.1f}"),
    ("median_available_lead_h", "  most possible (h)", "{:.1f}"),
    ("false_alerts_per_asset_week", "false alerts / asset-week", "{:.2f}"),
    ("false_alerts", "  false alerts", "{:.0f}"),
    ("false_alerts_before_maintenance", "  followed by planned maint.", "{:.0f}"),
    ("alerts_per_shift", "alerts / shift", "{:.2f}"),
    ("alerts_open_mean", "alerts open at a time", "{:.2f}"),
    ("pr_auc", "PR-AUC (rows)", "{:.3f}"),
]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `train` and `backtest` to the CLI."""
    t = sub.add_parser(
        "train",
        help="train, evaluate and register a risk model (MLflow)",
        description="Time-ordered train / validation / test split with "
        "horizon-long gaps; LightGBM with early stopping; Platt calibration; "
        "alert threshold chosen on validation to meet the alert budget; one MLflow "
        "run; registered as precursor-risk; `champion` moves only to a better model.",
    )
    t.add_argument(
        "--horizon-h",
        type=positive_float,
        default=None,
        help="prediction horizon in hours (PRECURSOR_HORIZON_H, 24)",
    )
    t.add_argument(
        "--budget",
        type=positive_float,
        default=None,
        help="false alerts per asset-week allowed (PRECURSOR_ALERT_BUDGET, 0.5)",
    )
    t.add_argument(
        "--truth",
        type=existing_file,
        default=None,
        help="simulator ground truth (default <data dir>/simulation/ground_truth.jsonl)",
    )
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(run=run_train)
    b = sub.add_parser(
        "backtest",
        help="replay the scorer over the model's test window",
        description="Walk-forward replay of the live scorer with the real alert "
        "state machine over the test window, per incident, against a static "
        "threshold baseline and an IsolationForest at the same alert budget.",
    )
    b.add_argument(
        "--model-version",
        type=positive_int,
        default=None,
        help="registered version (default champion)",
    )
    b.add_argument(
        "--truth", type=existing_file, default=None, help="simulator ground truth, as for train"
    )
    b.add_argument(
        "--incidents",
        action="store_true",
        help="also list every incident of the test window with its alert and lead, whether "
        "the alert was still open when it came, and what the alert named when it opened",
    )
    b.add_argument("--json", action="store_true", help="print one JSON object (with the list)")
    b.set_defaults(run=run_backtest)


def _truth(args: argparse.Namespace, settings) -> Path | None:
    if args.truth is not None:
        return args.truth
    default = settings.data_dir / "simulation" / "ground_truth.jsonl"
    return default if default.exists() else None


def run_train(args: argparse.Namespace) -> int:
    """Train and print the test-window table."""
    from pipelines.train import run_train as train
    from precursor.core import endpoints

    settings = endpoints.resolve(args.settings, need_kafka=False)
    result = train(
        settings,
        horizon=timedelta(hours=args.horizon_h or settings.horizon_h),
        budget=args.budget or settings.alert_budget,
        truth=_truth(args, settings),
        quiet=args.json,
    )
    if args.json:
        print(json.dumps(result, default=str))
        return 0
    champion = result["champion"]
    print(
        f"registered precursor-risk version {result['model_version']} "
        f"({'now champion' if champion['promoted'] else 'champion stays ' + champion['previous']})"
    )
    print_table(result)
    return 0


def run_backtest(args: argparse.Namespace) -> int:
    """Backtest and print the table (or JSON)."""
    from pipelines.backtest import run_backtest as backtest
    from precursor.core import endpoints

    settings = endpoints.resolve(args.settings, need_kafka=False)
    result = backtest(
        settings,
        version=str(args.model_version) if args.model_version is not None else None,
        truth=_truth(args, settings),
        quiet=args.json,
    )
    if args.json:
        print(json.dumps(result, default=str))
        return 0
    print(
        f"backtest of precursor-risk version {result['model_version']}, test window "
        f"{result['window']['test_start'][:16]} .. {result['window']['test_end'][:16]}"
    )
    print_table(result)
    if args.incidents:
        print()
        print_incidents(result["per_incident"])
    return 0


def print_incidents(rows: list[dict]) -> None:
    """One line per incident: when, where, its precursor's onset (ground truth, when known),
    the alert that warned of it first, how many hours ahead, whether it was still open when
    the incident came, and the signals it named when it opened."""
    print(
        f"{'incident (UTC)':17s} {'asset':10s} {'source':9s} {'precursor from':17s} "
        f"{'alert opened':17s} {'lead (h)':>8s} {'open':4s} named at opening"
    )
    for r in rows:
        precursor = {True: _minute(r["precursor_onset"]), False: "none", None: "?"}[r["precursor"]]
        lead = "-" if r["lead_h"] is None else f"{r['lead_h']:.1f}"
        if r["lead_h"] is not None and not r["warned_1h"]:
            lead += " (<1 h)"
        print(
            f"{_minute(r['ts']):17s} {r['asset_id']:10s} {r['source'] or '-':9s} {precursor:17s} "
            f"{_minute(r['alert_opened_at']):17s} {lead:>8s} {_open(r):4s} {_named(r)}".rstrip()
        )


def _open(row: dict) -> str:
    if row["alert_id"] is None:
        return "-"
    return "yes" if row.get("open_at_incident") else "no"


def _named(row: dict) -> str:
    return ", ".join(c["signal"] for c in row.get("alert_signals") or []) or "-"


def _minute(iso: str | None) -> str:
    return "-" if iso is None else iso[:16].replace("T", " ")


# Under each baseline: the model at that baseline's false-alert rate on the test window.
MATCHED_ROWS = [
    ("recall_at_1h", "model at the same FA: recall", "{:.2f}"),
    ("recall_at_1h_precursor", "  with a precursor", "{:.2f}"),
    ("false_alerts_per_asset_week", "  its false alerts", "{:.2f}"),
]


def print_table(result: dict) -> None:
    """Model vs baselines, one metric a line; then the model at each baseline's false alerts
    (marked * where no threshold got the model that low)."""
    cols = [("model", result), *result["baselines"].items()]
    print(f"{'':28s}" + "".join(f"{name:>18s}" for name, _ in cols))
    for key, label, fmt in ROWS:
        cells = []
        for _, m in cols:
            v = m.get(key)
            text = fmt.format(v) if v is not None else "-"
            if m.get(f"{key}_ci95"):  # recalls: their 95 % interval (few incidents)
                text += " ({:.2f}-{:.2f})".format(*m[f"{key}_ci95"])
            cells.append(f"{text:>18s}")
        print(f"{label:28s}" + "".join(cells))
    if not any("model_at_same_false_alerts" in m for _, m in cols[1:]):
        return
    for key, label, fmt in MATCHED_ROWS:
        cells = [f"{'':>18s}"]
        for _, m in cols[1:]:
            at = m.get("model_at_same_false_alerts") or {}
            v = at.get(key)
            text = fmt.format(v) if v is not None else "-"
            cells.append(f"{text + ('' if at.get('within', True) else '*'):>18s}")
        print(f"{label:28s}" + "".join(cells))
