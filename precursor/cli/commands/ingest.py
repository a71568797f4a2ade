"""`precursor ingest`: consume the input topics into the database until SIGTERM."""

from __future__ import annotations

import argparse

from precursor.core import endpoints


def register(sub: argparse._SubParsersAction) -> None:
    """Add `ingest` to the CLI."""
    from services.ingest.sinks import SPECS

    p = sub.add_parser(
        "ingest",
        help="consume Kafka topics into the database",
        description="Run the ingest consumers (one group per stream) until "
        "SIGTERM/SIGINT, which finishes the batch and commits.",
    )
    p.add_argument(
        "--stream",
        action="append",
        choices=sorted(SPECS),
        dest="streams",
        help="only this stream (repeatable; default: all)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Resolve endpoints and run."""
    from services.ingest.runner import STREAMS, run_ingest

    settings = endpoints.resolve(args.settings)
    return run_ingest(settings, tuple(args.streams or STREAMS))
