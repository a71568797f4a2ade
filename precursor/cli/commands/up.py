"""`precursor up`: the whole stack, embedded unless configured, until Ctrl-C."""

from __future__ import annotations

import argparse
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg

from precursor.cli.commands.args import (
    SIM_MAX_DAYS,
    SIM_MAX_INTERVAL_S,
    asset_count,
    port_number,
    positive_float,
    simulated_days,
    snapshot_interval,
)
from precursor.cli.commands.demo_key import KEY_FILE, demo_console_key
from precursor.cli.commands.demo_plant import DemoPlant, demo_plant, new_plant
from precursor.core.errors import RuntimeStartError
from precursor.core.runtime.processes import answers, free_port, port_in_use, wait_until
from precursor.core.runtime.stack import Service, Stack
from precursor.core.settings import Settings
from precursor.core.signals import stop_on_signals

# The newest stored sample. max(ts) alone scans every sample on plain PostgreSQL (0.15 s for a
# demo's 4.4 M, longer as the plant runs on; the BRIN index does not serve max()); the newest
# rollup bucket bounds it, and the BRIN index then reads only what came after (0.01 s).
LATEST_SAMPLE = (
    "SELECT max(ts) FROM signal_samples WHERE ts >= "
    "coalesce((SELECT max(bucket) FROM signal_rollup_15m), '-infinity')"
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `up` to the CLI."""
    p = sub.add_parser(
        "up",
        help="start database, broker, ingest, scorer and API (embedded by default)",
        description="Start the whole stack; Ctrl-C stops everything it started.",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="also run a simulated plant (backfill recent days, then live), train a first "
        "model, and print a console link signed in with the demo's admin key",
    )
    p.add_argument("--demo-assets", type=asset_count, default=40, help="demo plant size (40)")
    p.add_argument(
        "--demo-days",
        type=simulated_days,
        default=60.0,
        help=f"days of history the demo backfills (60; at most {SIM_MAX_DAYS})",
    )
    p.add_argument(
        "--demo-speed",
        type=positive_float,
        default=60.0,
        help="simulated seconds per real second once live (60)",
    )
    p.add_argument(
        "--demo-interval",
        type=snapshot_interval,
        default=300,
        help=f"seconds between the demo's signal snapshots (300; at most {SIM_MAX_INTERVAL_S})",
    )
    p.add_argument(
        "--no-demo-script",
        action="store_true",
        help="leave the demo plant to its seed: no asset scripted to degrade an hour after "
        "going live",
    )
    p.add_argument("--no-api", action="store_true", help="do not start the HTTP API")
    p.add_argument(
        "--api-port",
        type=port_number,
        default=None,
        help="API port (default: PRECURSOR_API_PORT, 0 picks a free one)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Start, announce, supervise; stop everything on SIGINT/SIGTERM."""
    settings = args.settings
    stop = stop_on_signals(threading.Event())
    api_port = args.api_port if args.api_port is not None else settings.api_port
    _refuse_taken_ports(settings, None if args.no_api else api_port)
    stack = Stack(settings)
    try:
        stack.start_infrastructure()
        if stop.is_set():
            return 0
        stack.start_service(
            Service("ingest", ["ingest"], {"PRECURSOR_METRICS_PORT": str(settings.metrics_port)})
        )
        # The scorer's /metrics sits on the next port (0 keeps both off).
        scorer_port = settings.metrics_port + 1 if settings.metrics_port else 0
        stack.start_service(
            Service("scorer", ["score"], {"PRECURSOR_METRICS_PORT": str(scorer_port)})
        )
        plant = None
        if args.demo:
            plant = _demo_plant(stack, args)
            stack.start_service(_demo_service(args, plant))
        api_url = None
        if not args.no_api:
            api_url = _start_api(stack, api_port, settings.api_host)
        endpoints = stack.announce(api_url)
        key = _console_key(stack) if args.demo and api_url else None
        _print_summary(stack, endpoints, plant, key)
        trainer = _DemoTrainer(stack, args, plant) if plant is not None else None
        while not stop.wait(0.5):
            stack.supervise()
            if trainer is not None:
                trainer.poll()
        print("stopping...", flush=True)
        return 0
    finally:
        stack.stop()


class _DemoTrainer:
    """Trains a first model once the demo's backfill has been ingested, or, when the backfill is
    shorter than training needs, once the live plant has added the rest; says why if it fails."""

    def __init__(self, stack: Stack, args: argparse.Namespace, plant: DemoPlant | None = None):
        from pipelines.dataset import min_history

        self.stack = stack
        plant = plant or new_plant(args)
        backfill = timedelta(days=plant.backfill_days) - timedelta(hours=1)
        needed = min_history(timedelta(hours=stack.settings.horizon_h)) + timedelta(hours=1)
        self.ready_at = plant.start + max(backfill, needed)
        if needed > backfill and plant.resume_from is None:
            wait = (needed - backfill) / args.demo_speed
            print(
                f"first model: training needs {needed / timedelta(days=1):.1f} days of history "
                f"and the backfill holds {args.demo_days:g}; it trains once the live plant has "
                f"added the rest (in about {_duration(wait)} at {args.demo_speed:g}x)",
                flush=True,
            )
        self.checked = 0.0
        self.started = False
        self.service: Service | None = None

    def poll(self) -> None:
        """Cheap check every few seconds; starts `precursor train` once."""
        if self.service is not None:
            self._report()
        if self.started or time.monotonic() - self.checked < 5:
            return
        self.checked = time.monotonic()
        row = _query_one(
            self.stack.resolved,
            f"SELECT ({LATEST_SAMPLE}), EXISTS (SELECT 1 FROM risk_scores)",
        )
        if row is None:
            return
        latest, scored = row
        if scored:
            self.started = True  # a model from an earlier run is already scoring
        elif latest is not None and latest >= self.ready_at:
            self.started = True
            self.service = Service("trainer", ["train"], oneshot=True)
            self.stack.start_service(self.service)
            print(
                "demo history ingested: training a first model (log: logs/trainer.log)", flush=True
            )

    def _report(self) -> None:
        """Once the trainer has finished: what the first model showed on its own test window,
        or the trainer's one-line error, so that nobody waits for alerts that cannot come."""
        assert self.service is not None
        proc, log = self.service.proc, self.service.log_path
        if proc is None or proc.poll() is None:
            return
        self.service = None
        if proc.returncode != 0:
            print(f"first model not trained: {_last_error(log)}", flush=True)
            return
        row = _query_one(
            self.stack.resolved, "SELECT version, metrics FROM model_versions WHERE champion"
        )
        if row is not None:
            print(f"first model ready: version {row[0]}; {_backtest_text(row[1])}", flush=True)


def _backtest_text(metrics: dict) -> str:
    """A model's own test-window figures in one line (train's MLflow metrics, test.*)."""
    m = {k.removeprefix("test."): v for k, v in metrics.items() if k.startswith("test.")}
    if "incidents" not in m or "warned_1h" not in m:
        return "its test figures are in logs/trainer.log"
    lead = m.get("median_lead_h")
    return (
        f"on its test window it warned {m['warned_1h']:.0f} of {m['incidents']:.0f} incidents "
        f"at least 1 h ahead"
        + (f" (median lead {lead:.1f} h)" if lead is not None else "")
        + f", with {m.get('false_alerts_per_asset_week', float('nan')):.2f} false alerts per "
        "asset-week (logs/trainer.log has the table)"
    )


def _query_one(settings: Settings, sql: str) -> tuple | None:
    """The first row of a quick query on the stack's database; None if there is none or the
    database does not answer (up's checks simply try again later)."""
    assert settings.database_url is not None
    try:
        with psycopg.connect(settings.database_url.get_secret_value(), connect_timeout=3) as conn:
            return conn.execute(sql).fetchone()
    except psycopg.Error:
        return None


def _last_error(log: Path | None) -> str:
    """The last `error:` line of a command's log (the CLI writes one), else a pointer to it."""
    try:
        lines = log.read_text(errors="replace").splitlines() if log else []
    except OSError:
        lines = []
    found = [line for line in lines if ": error: " in line]
    return found[-1].split(": error: ", 1)[1] if found else f"see {log}"


def _duration(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def _demo_plant(stack: Stack, args: argparse.Namespace) -> DemoPlant:
    """The plant this data dir already holds, carried on, or a new one."""
    row = _query_one(stack.resolved, LATEST_SAMPLE)
    manifest = stack.data_dir / "simulation" / "manifest.json"
    return demo_plant(args, manifest, row[0] if row else None)


def _demo_service(args: argparse.Namespace, plant: DemoPlant | None = None) -> Service:
    """The simulator as a child: history up to now at full speed, then paced, for a year."""
    plant = plant or new_plant(args)
    return Service(
        "simulator", plant.simulator_args(args.demo_assets, args.demo_interval, args.demo_speed)
    )


def _refuse_taken_ports(settings: Settings, api_port: int | None) -> None:
    """Fail before starting anything when a fixed port is taken (most often by another `up`):
    a service would otherwise run without its /metrics while endpoints.json and `status`
    pointed at the other stack's."""
    wanted = []
    if api_port:
        wanted.append((api_port, settings.api_host, f"API port {api_port}", "PRECURSOR_API_PORT"))
    if settings.metrics_port:
        ingest, scorer = settings.metrics_port, settings.metrics_port + 1
        off = "PRECURSOR_METRICS_PORT; 0 turns metrics off"
        for port, whose in ((ingest, "ingest"), (scorer, "scorer")):
            what = f"metrics port {port} ({whose} /metrics)"
            wanted.append((port, settings.metrics_host, what, off))
    for port, host, what, setting in wanted:
        if port_in_use(port, host):
            raise RuntimeStartError(f"{what} is already taken (set {setting})")


def _start_api(stack: Stack, port: int, host: str) -> str:
    if port == 0:
        port = free_port(host)
    elif port_in_use(port, host):  # taken since the check at the start
        raise RuntimeStartError(f"API port {port} is already taken (set PRECURSOR_API_PORT)")
    # The API's /metrics lives on its own port, so it takes no separate metrics port.
    stack.start_service(
        Service(
            "api", ["serve", "--host", host, "--port", str(port)], {"PRECURSOR_METRICS_PORT": "0"}
        )
    )
    url = f"http://{host}:{port}"
    if not wait_until(lambda: answers(f"{url}/healthz"), 60, 0.2):
        raise RuntimeStartError(f"the API did not become healthy at {url}; see logs/api.log")
    return url


def model_state(settings: Settings, demo: bool) -> str:
    """The champion the scorer will use, or what gives it one: without a model nothing is
    scored, and a quiet console should not look like a quiet plant."""
    row = _query_one(settings, "SELECT version FROM model_versions WHERE champion")
    if row is not None:
        return f"precursor-risk version {row[0]} (champion)"
    if demo:
        return "none yet: the demo trains one once its history is in"
    return "none yet: once some weeks of data are in, run `precursor train`; scoring follows"


def _demo_lines(plant: DemoPlant) -> list[str]:
    if plant.resume_from is not None:
        return [
            "  demo       the simulated plant of an earlier run, carried on from "
            f"{plant.resume_from:%Y-%m-%d %H:%M} UTC plant time (log: logs/simulator.log)",
            *(f"             {line}" for line in plant.unused),
        ]
    return [
        "  demo       simulated plant: backfilling, then live (log: logs/simulator.log)",
        *(
            ["             one asset starts to degrade 1 plant-hour after going live"]
            if plant.degrade_at_h is not None
            else []
        ),
    ]


def _console_key(stack: Stack) -> str | None:
    """The demo's console key (see demo_key); None, and the console asks for one, if the
    database will not give it."""
    assert stack.resolved.database_url is not None
    try:
        with psycopg.connect(stack.resolved.database_url.get_secret_value()) as conn:
            return demo_console_key(conn, stack.data_dir)
    except (psycopg.Error, OSError) as exc:
        print(f"  (no console key for the demo: {exc})", flush=True)
        return None


def _print_summary(
    stack: Stack, endpoints, plant: DemoPlant | None = None, console_key: str | None = None
) -> None:
    db_kind = "embedded PostgreSQL" if stack.postgres else "external database"
    kafka_kind = "embedded Tansu broker (memory storage)" if stack.broker else "external Kafka"
    simulator = [s for s in stack.services if s.name == "simulator"]
    lines = [
        "Precursor is up.",
        f"  database   {endpoints.database_url}  ({db_kind})",
        f"  kafka      {endpoints.kafka_bootstrap}  ({kafka_kind})",
        f"  api        {endpoints.api_url or '-'}",
        f"  metrics    {endpoints.metrics_url or '-'}  (ingest; the scorer's is the next port)",
        f"  mlflow     {endpoints.mlflow_tracking_uri}",
        f"  logs       {stack.data_dir / 'logs'}",
        f"  model      {model_state(stack.resolved, demo=bool(simulator))}",
        *(_demo_lines(plant) if simulator and plant is not None else []),
        f"  endpoints  {stack.settings.endpoints_path.resolve()}",
        *(
            [
                f"  api docs   {endpoints.api_url}/docs",
                (
                    f"  console    {endpoints.api_url}/#key={console_key}  (signed in with the "
                    f"demo's admin key, kept in {stack.data_dir / KEY_FILE})"
                    if console_key
                    else f"  console    {endpoints.api_url}/  (sign in with an API key)"
                ),
                "  api keys   precursor apikey create --role operator|reliability|hse|admin "
                "--name NAME",
            ]
            if endpoints.api_url
            else []
        ),
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)
