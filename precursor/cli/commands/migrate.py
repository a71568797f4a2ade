"""`precursor migrate`: apply pending schema migrations."""

from __future__ import annotations

import argparse

from precursor.core import db, endpoints
from precursor.core.migrate import migrate


def register(sub: argparse._SubParsersAction) -> None:
    """Add `migrate` to the CLI."""
    p = sub.add_parser(
        "migrate",
        help="apply pending database migrations",
        description="Apply the numbered SQL files of infra/migrations once each.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Apply and report."""
    settings = endpoints.resolve(args.settings, need_kafka=False)
    with db.connect(settings) as conn:
        applied = migrate(conn, settings)
        tsdb = db.has_timescaledb(conn)
    print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    print(f"timescaledb: {'yes (hypertables)' if tsdb else 'no (ordinary tables)'}")
    return 0
