"""`precursor serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import argparse

from precursor.cli.commands.args import port_number


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve` to the CLI."""
    p = sub.add_parser("serve", help="run the HTTP API", description="Serve the FastAPI app.")
    p.add_argument("--host", default=None, help="bind address (default PRECURSOR_API_HOST)")
    p.add_argument(
        "--port", type=port_number, default=None, help="port (default PRECURSOR_API_PORT)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run uvicorn in this process."""
    import uvicorn

    from precursor.core import endpoints
    from services.api.app import create_app

    settings = endpoints.resolve(args.settings, need_kafka=False)
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.api_host,
        port=args.port if args.port is not None else settings.api_port,
        # Our root handler and format, at PRECURSOR_LOG_LEVEL; a line per request only when
        # debugging (dashboards poll, and the log file is not rotated).
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=args.debug or settings.log_level == "DEBUG",
    )
    return 0
