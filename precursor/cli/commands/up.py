"""`precursor up`: the whole stack, embedded unless configured, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading

import httpx

from precursor.core.errors import RuntimeStartError
from precursor.core.runtime.processes import free_port, port_in_use, wait_until
from precursor.core.runtime.stack import Service, Stack


def register(sub: argparse._SubParsersAction) -> None:
    """Add `up` to the CLI."""
    p = sub.add_parser(
        "up",
        help="start database, broker, ingest and API (embedded by default)",
        description="Start the whole stack; Ctrl-C stops everything it started.",
    )
    p.add_argument("--no-api", action="store_true", help="do not start the HTTP API")
    p.add_argument(
        "--api-port",
        type=int,
        default=None,
        help="API port (default: PRECURSOR_API_PORT, 0 picks a free one)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Start, announce, supervise; stop everything on SIGINT/SIGTERM."""
    settings = args.settings
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = Stack(settings)
    try:
        stack.start_infrastructure()
        if stop.is_set():
            return 0
        stack.start_service(
            Service("ingest", ["ingest"], {"PRECURSOR_METRICS_PORT": str(settings.metrics_port)})
        )
        api_url = None
        if not args.no_api:
            api_url = _start_api(
                stack,
                args.api_port if args.api_port is not None else settings.api_port,
                settings.api_host,
            )
        endpoints = stack.announce(api_url)
        _print_summary(stack, endpoints)
        while not stop.wait(0.5):
            stack.supervise()
        print("stopping...", flush=True)
        return 0
    finally:
        stack.stop()


def _start_api(stack: Stack, port: int, host: str) -> str:
    if port == 0:
        port = free_port(host)
    elif port_in_use(port, host):
        raise RuntimeStartError(f"API port {port} is already taken (set PRECURSOR_API_PORT)")
    # The API's /metrics lives on its own port, so it takes no separate metrics port.
    stack.start_service(
        Service(
            "api", ["serve", "--host", host, "--port", str(port)], {"PRECURSOR_METRICS_PORT": "0"}
        )
    )
    url = f"http://{host}:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    if not wait_until(healthy, 60, 0.2):
        raise RuntimeStartError(f"the API did not become healthy at {url}; see logs/api.log")
    return url


def _print_summary(stack: Stack, endpoints) -> None:
    db_kind = "embedded PostgreSQL" if stack.postgres else "external database"
    kafka_kind = "embedded Tansu broker (memory storage)" if stack.broker else "external Kafka"
    lines = [
        "Precursor is up.",
        f"  database   {endpoints.database_url}  ({db_kind})",
        f"  kafka      {endpoints.kafka_bootstrap}  ({kafka_kind})",
        f"  api        {endpoints.api_url or '-'}",
        f"  metrics    {endpoints.metrics_url or '-'}  (ingest)",
        f"  mlflow     {endpoints.mlflow_tracking_uri}",
        f"  logs       {stack.data_dir / 'logs'}",
        f"  endpoints  {stack.settings.endpoints_path.resolve()}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)
