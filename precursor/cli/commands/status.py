"""`precursor status`: what runs where, and whether it answers."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from precursor.cli.commands.args import http_url
from precursor.cli.commands.demo_key import KEY_FILE
from precursor.core.endpoints import Endpoints, read_endpoints, without_password


def register(sub: argparse._SubParsersAction) -> None:
    """Add `status` to the CLI."""
    p = sub.add_parser(
        "status",
        help="show the running stack and whether it answers",
        description="Probe each part of the stack: the one a running `up` announced in "
        "endpoints.json, else the configured one (PRECURSOR_DATABASE_URL, as in a deployment).",
    )
    p.add_argument(
        "--api-url",
        type=http_url,
        default=None,
        help="the API to probe (default: the one `up` started; none for a configured stack)",
    )
    p.add_argument(
        "--metrics-url",
        type=http_url,
        default=None,
        help="an ingest's /metrics for the consumer lag (default: the one `up` started)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _endpoints(args: argparse.Namespace) -> Endpoints | None:
    """A running `up`'s endpoints, else the configured stack's, else None."""
    settings = args.settings
    found = read_endpoints(settings.endpoints_path)
    if found is None and settings.database_url is not None:
        # A deployment (compose, systemd): no `up`, the settings say where things are.
        found = Endpoints(
            database_url=settings.database_url.get_secret_value(),
            kafka_bootstrap=settings.kafka_bootstrap or "-",
            api_url=None,
            mlflow_tracking_uri=settings.mlflow_tracking_uri or "-",
        )
    if found is not None and (args.api_url or args.metrics_url):
        found = replace(
            found,
            api_url=args.api_url or found.api_url,
            metrics_url=args.metrics_url or found.metrics_url,
        )
    return found


def run(args: argparse.Namespace) -> int:
    """Probe database and API; exit 1 when nothing runs."""
    import psycopg

    found = _endpoints(args)
    if found is None:
        report = {"running": False, "endpoints": str(args.settings.endpoints_path)}
        print(
            json.dumps(report)
            if args.json
            else "no running stack (start `precursor up`, or set PRECURSOR_DATABASE_URL for a "
            "deployed one)"
        )
        return 1
    shown_url = without_password(found.database_url)
    stack = "up" if found.pid else "configured"
    report: dict = {
        "running": True,
        "stack": stack,
        **found.__dict__,
        "database_url": shown_url,
        "mlflow_tracking_uri": without_password(found.mlflow_tracking_uri),
    }
    try:
        with psycopg.connect(found.database_url, connect_timeout=3) as conn:
            counts = {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("assets", "signal_samples", "alarms", "dispatch_events", "incidents")
            }
            last_score, champion, open_alerts, buckets, days = conn.execute(
                "SELECT (SELECT max(ts) FROM risk_scores), "
                "(SELECT version FROM model_versions WHERE champion), "
                "(SELECT count(*) FROM alerts WHERE closed_at IS NULL), "
                "(SELECT count(*) FROM rollup_dirty) + (SELECT count(*) FROM rollup_pending), "
                "(SELECT count(*) FROM rollup_dirty_1d)"
            ).fetchone()
        report["database"] = {"ok": True, "rows": counts}
        report["scoring"] = {
            "last_score_time": last_score,
            "champion_version": champion,
            "open_alerts": open_alerts,
            # What the scorer has yet to roll up: it scores only what is rolled up.
            "rollup_backlog": {"buckets": buckets, "days": days},
        }
    except psycopg.Error as exc:
        report["database"] = {"ok": False, "error": str(exc).splitlines()[0]}
    if found.metrics_url or stack == "up":
        report["ingest"] = _ingest_lag(found.metrics_url)
    else:  # a deployment's ingest replicas each export their own lag (Prometheus sums them)
        why = "not probed: name an ingest's /metrics with --metrics-url"
        report["ingest"] = {"consumer_lag": None, "error": why}
    if found.api_url:
        report["api"] = _api_state(found.api_url)
    if args.json:
        print(json.dumps(report, default=str))
    else:
        print(f"stack pid {found.pid}" if stack == "up" else "configured stack (no `up` running)")
        print(f"  database  {shown_url}  ok={report['database']['ok']}")
        if not report["database"]["ok"]:
            print(f"    {report['database']['error']}")
        for table, n in report["database"].get("rows", {}).items():
            print(f"    {table:16s} {n:>12,}")
        print(f"  kafka     {found.kafka_bootstrap}")
        print(f"  ingest    {lag_text(report['ingest'])}")
        scoring = report.get("scoring", {})
        print(
            f"  scorer    last score {scoring.get('last_score_time') or '-'}, "
            f"champion {scoring.get('champion_version') or 'none yet'}, "
            f"{scoring.get('open_alerts', '-')} open alert"
            f"{'' if scoring.get('open_alerts') == 1 else 's'}"
        )
        backlog = scoring.get("rollup_backlog")
        if backlog:
            print(
                f"  rollups   {backlog['buckets']:,} asset-buckets and {backlog['days']:,} "
                "asset-days waiting"
            )
        api = report.get("api")
        if api is None:
            print("  api       not probed (name it with --api-url)")
        else:
            why = api.get("error") or api.get("not_ready")
            print(
                f"  api       {found.api_url}  ok={api['ok']} ready={api['ready']}"
                + (f" ({why})" if why else "")
            )
            if api["ok"]:
                # Where people look first; the key itself is not printed (status output gets
                # pasted into tickets), only where the demo keeps one.
                demo_key = args.settings.data_dir.resolve() / KEY_FILE
                print(
                    f"  console   {found.api_url}/  (sign in with an API key"
                    + (f"; the demo's is in {demo_key})" if demo_key.exists() else ")")
                )
    return 0


def _api_state(api_url: str) -> dict:
    """Whether the API answers (/healthz) and is ready (/readyz: a champion model exists), and
    why not: before the first model it is up and serves all but risk, which is no failure."""
    import httpx

    try:
        ok = httpx.get(f"{api_url}/healthz", timeout=3).status_code == 200
        ready = httpx.get(f"{api_url}/readyz", timeout=3)
    except httpx.HTTPError as exc:
        return {"ok": False, "ready": False, "error": str(exc) or type(exc).__name__}
    state: dict = {"ok": ok, "ready": ready.status_code == 200}
    if not state["ready"]:
        try:
            state["not_ready"] = ready.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            state["not_ready"] = f"HTTP {ready.status_code}"
    return state


def lag_text(ingest: dict) -> str:
    """The consumer lag in words, or why it is unknown (PRECURSOR_METRICS_PORT=0 turns ingest's
    metrics off; a stopped ingest does not answer)."""
    lag = ingest.get("consumer_lag")
    if lag is None:
        return f"consumer lag unknown ({ingest.get('error', 'no figure')})"
    text = f"consumer lag {lag:,.0f} messages"
    dead = ingest.get("dead_letters")
    if dead is None:
        return text
    total = sum(dead.values())
    if not total:
        return f"{text}, no dead letters since it started"
    streams = ", ".join(f"{stream} {n:,.0f}" for stream, n in sorted(dead.items()) if n)
    return f"{text}, {total:,.0f} dead letters since it started ({streams})"


def _ingest_lag(metrics_url: str | None) -> dict:
    """Total consumer lag and dead letters per stream as ingest exports them, or why they are
    unknown: a bad message is kept on its dead-letter topic, and plant IT should hear of it."""
    import httpx

    from precursor.core.metrics import scrape

    if not metrics_url:
        return {"consumer_lag": None, "error": "ingest exports no metrics"}
    try:
        samples = scrape(metrics_url)
    except httpx.HTTPError as exc:
        return {"consumer_lag": None, "error": f"ingest metrics not reachable: {exc}"}
    dead: dict[str, float] = {}
    for sample in samples:
        if sample.name == "precursor_ingest_dlq_messages_total":
            stream = sample.labels.get("stream", "?")
            dead[stream] = dead.get(stream, 0.0) + sample.value
    return {
        "consumer_lag": sum(s.value for s in samples if s.name == "precursor_ingest_consumer_lag"),
        "dead_letters": dead,
    }
