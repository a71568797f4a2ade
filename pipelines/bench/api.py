"""`precursor bench api`: latency and throughput of /v1/forecast and /v1/alerts under 32
concurrent clients, against `precursor serve` in its own process over a seeded database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
from tqdm import tqdm

from models.rating import RiskMatrix
from pipelines.bench.environment import bench_environment
from precursor.core import db
from precursor.core.errors import PrecursorError
from precursor.core.metrics import scrape
from precursor.core.progress import no_bar
from precursor.core.runtime.processes import answers, free_port, peak_rss_mb, wait_until
from precursor.core.settings import Settings
from services.api.keys import create_key

START = datetime(2026, 1, 1, tzinfo=UTC)
GRID_MIN = 15


def _seed(settings: Settings, assets: int, days: int, quiet: bool) -> dict:
    """Assets, `days` of 15-min risk scores each, and a few alerts per asset with events."""
    rng = np.random.default_rng(5)
    matrix = RiskMatrix()
    steps = days * 24 * 60 // GRID_MIN
    ids = [f"B-{i:04d}" for i in range(assets)]
    with db.connect(settings) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO assets (asset_id, name, kind, site, area, criticality) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (a, f"Asset {a}", ("pump", "conveyor", "crusher", "fan")[i % 4],
                     f"S{i % 2}", f"area-{i % 10}", 1 + i % 5)
                    for i, a in enumerate(ids)
                ],
            )  # fmt: skip
            with cur.copy(
                "COPY risk_scores (ts, asset_id, model_version, horizon_s, probability, "
                "likelihood, consequence, rating, contributions) FROM STDIN"
            ) as copy:
                for i, a in enumerate(
                    tqdm(ids, desc="seed scores", unit="asset", disable=no_bar(quiet))
                ):
                    p = np.clip(rng.beta(0.6, 12, steps), 0, 1)
                    lik = matrix.likelihood(p, 0.1)
                    cons = 1 + i % 5
                    rating = matrix.rating(lik, cons)
                    for k in range(steps):
                        contrib = (
                            orjson.dumps([{"signal": "vibration", "contribution": 0.7}]).decode()
                            if rating[k] in ("high", "critical")
                            else None
                        )
                        copy.write_row(
                            (START + timedelta(minutes=GRID_MIN * k), a, "1", 86400,
                             float(p[k]), int(lik[k]), cons, str(rating[k]), contrib)
                        )  # fmt: skip
            alerts = []
            for a in ids:
                for j in range(3):
                    opened = START + timedelta(days=int(rng.integers(0, days)), hours=j)
                    closed = None if j == 2 else opened + timedelta(hours=6)
                    alerts.append(
                        (f"{a}-{j}", a, opened, closed or opened, closed,
                         "open" if closed is None else "closed", "high", "high", 0.3, "1",
                         orjson.dumps([{"signal": "vibration", "contribution": 0.7}]).decode())
                    )  # fmt: skip
            cur.executemany(
                "INSERT INTO alerts (alert_id, asset_id, opened_at, updated_at, closed_at, "
                "status, rating, peak_rating, probability, model_version, contributions) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                alerts,
            )
        conn.execute("ANALYZE")
        _, key = create_key(conn, "bench", "admin")
        conn.commit()
    return {"key": key, "scores": assets * steps, "alerts": len(alerts)}


async def _load(base: str, key: str, clients: int, requests: int, quiet: bool) -> dict:
    """`clients` keep-alive connections issuing `requests` GETs between them."""
    import aiohttp

    paths = ["/v1/forecast", "/v1/alerts?limit=100"]
    latencies: dict[str, list[float]] = {p: [] for p in paths}
    errors = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(paths[i % len(paths)])
    bar = tqdm(total=requests, desc="requests", unit="req", disable=no_bar(quiet), mininterval=0.5)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, connector=connector
    ) as session:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                path = queue.get_nowait()
                t = time.perf_counter()
                async with session.get(path) as r:
                    await r.read()
                    errors += r.status != 200
                latencies[path].append(time.perf_counter() - t)
                bar.update()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    bar.close()
    return {"latencies": latencies, "elapsed": elapsed, "errors": errors}


def _server_histogram(base: str) -> dict[float, float]:
    """Cumulative bucket counts of the API's own latency histogram for the two routes."""
    buckets: dict[float, float] = {}
    for sample in scrape(f"{base}/metrics", timeout=5):
        route = sample.labels.get("route")
        if sample.name == "precursor_api_request_seconds_bucket" and route in (
            "/v1/forecast",
            "/v1/alerts",
        ):
            le = float(sample.labels["le"])
            buckets[le] = buckets.get(le, 0.0) + sample.value
    return buckets


def _histogram_quantile(before: dict, after: dict, q: float) -> float | None:
    """The upper bound of the bucket holding quantile q of the requests between two reads,
    in ms: the time the server itself spent, without the client's queueing."""
    delta = sorted((le, after.get(le, 0.0) - before.get(le, 0.0)) for le in after)
    if not delta or delta[-1][1] <= 0:
        return None
    target = q * delta[-1][1]
    for le, n in delta:
        if n >= target:
            return round(le * 1000, 1) if le != float("inf") else None
    return None


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2)


def _serve_and_load(env, key: str, clients: int, requests: int, cache_s: float, quiet: bool):
    """Start `precursor serve` in its own process, warm it, load it; (run, peak RSS, server
    p99)."""
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")},
        "PRECURSOR_DATABASE_URL": env.settings.database_url.get_secret_value(),
        "PRECURSOR_DATA_DIR": str(env.workdir),
        "PRECURSOR_LOG_LEVEL": "WARNING",
        "PRECURSOR_API_CACHE_S": str(cache_s),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "precursor", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            # An exited server stops the wait too; it is reported below.
            return server.poll() is not None or answers(f"{base}/healthz")

        if not wait_until(healthy, 60, 0.2) or server.poll() is not None:
            err = server.stderr.read().decode()[-500:] if server.stderr else ""
            raise PrecursorError(f"bench api: the API did not start: {err}")
        asyncio.run(_load(base, key, clients, 200, quiet=True))  # warm-up
        before = _server_histogram(base)
        run = asyncio.run(_load(base, key, clients, requests, quiet))
        rss = peak_rss_mb(server.pid)
        server_p99 = _histogram_quantile(before, _server_histogram(base), 0.99)
    finally:
        server.terminate()
        server.wait(30)
    return run, rss, server_p99


def _figures(run: dict) -> dict:
    every = [v for vs in run["latencies"].values() for v in vs]
    out = {
        "requests_per_s": round(len(every) / run["elapsed"], 1),
        "p50_ms": _ms(every, 50),
        "p99_ms": _ms(every, 99),
        "errors": run["errors"],
    }
    for path, values in run["latencies"].items():
        name = path.split("?")[0].rsplit("/", 1)[1]
        out[f"{name}_p99_ms"] = _ms(values, 99)
    return out


def run_bench_api(
    settings: Settings,
    assets: int = 200,
    days: int = 30,
    clients: int = 32,
    requests: int = 4000,
    quiet: bool = False,
) -> dict:
    """Seed, serve, load, report."""
    with bench_environment(settings) as env:
        seeded = _seed(env.settings, assets, days, quiet)
        cached, rss, server_p99 = _serve_and_load(
            env, seeded["key"], clients, requests, settings.api_cache_s, quiet
        )
        uncached, rss_uncached, _ = _serve_and_load(
            env, seeded["key"], clients, max(400, requests // 4), 0.0, quiet
        )
    result = {
        "benchmark": "api",
        "assets": assets,
        "days": days,
        "risk_scores": seeded["scores"],
        "alerts": seeded["alerts"],
        "clients": clients,
        "requests": requests,
        **_figures(cached),
        "server_p99_ms_at_most": server_p99,
        "api_peak_rss_mb": round(max(rss, rss_uncached), 1),
    }
    for k, v in _figures(uncached).items():
        result[f"uncached_{k}"] = v
    result["ratio_cached_vs_uncached_rps"] = round(
        result["requests_per_s"] / result["uncached_requests_per_s"], 2
    )
    return result
