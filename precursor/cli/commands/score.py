"""`precursor score`: the live scorer."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `score` to the CLI."""
    p = sub.add_parser(
        "score",
        help="score assets continuously and raise alerts",
        description="Each PRECURSOR_SCORE_INTERVAL_S: keep rollups current, score "
        "every asset in service at each new 15-min grid time with the champion "
        "model, write risk_scores, run the alert state machine, publish alerts.",
    )
    p.add_argument(
        "--scale-out",
        action="store_true",
        help="share the assets with other scorers started with it, by the Kafka partition of "
        "each asset (PRECURSOR_SCORE_SCALE_OUT)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Resolve endpoints and loop."""
    from precursor.core import endpoints
    from services.predict.scorer import run_scorer

    settings = endpoints.resolve(args.settings)
    if args.scale_out:
        settings = settings.model_copy(update={"score_scale_out": True})
    return run_scorer(settings)
