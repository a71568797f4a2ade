"""Every Prometheus metric Precursor exports, in one place; label values are bounded sets."""

from __future__ import annotations

import logging
import threading

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from precursor.core.settings import Settings
from precursor.core.signals import stop_on_signals

logger = logging.getLogger(__name__)

# -- ingest (labels: stream in {signals, alarms, dispatch, incidents}; table; error code) -----
INGEST_CONSUMED = Counter(
    "precursor_ingest_messages_consumed_total", "Kafka messages read by ingest", ["stream"]
)
INGEST_ROWS_WRITTEN = Counter(
    "precursor_ingest_rows_written_total", "Rows newly stored by ingest", ["table"]
)
INGEST_DUPLICATES = Counter(
    "precursor_ingest_duplicates_skipped_total",
    "Rows already stored (redelivery or duplicate message) and skipped",
    ["table"],
)
INGEST_DLQ = Counter(
    "precursor_ingest_dlq_messages_total",
    "Messages sent to a dead-letter topic",
    ["stream", "error"],
)
INGEST_BATCH_SECONDS = Histogram(
    "precursor_ingest_batch_seconds",
    "Time to write one batch to the database and commit offsets",
    ["stream"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST_BATCH_ROWS = Histogram(
    "precursor_ingest_batch_rows",
    "Rows per written batch",
    ["stream"],
    buckets=(1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000),
)
INGEST_LAG = Gauge(
    "precursor_ingest_consumer_lag",
    "Messages between the committed position and the partition's high watermark",
    ["topic", "partition"],
)
INGEST_DB_UNAVAILABLE = Counter(
    "precursor_ingest_database_unavailable_total",
    "Times a batch could not be written because the database was unreachable",
    ["stream"],
)


# -- scoring -------------------------------------------------------------------------------
SCORE_CYCLE_SECONDS = Histogram(
    "precursor_score_cycle_seconds",
    "Time of one scoring cycle (rollups, features, model, alerts)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SCORES_WRITTEN = Counter("precursor_scores_written_total", "Risk scores written")
ALERT_TRANSITIONS = Counter("precursor_alert_transitions_total", "Alert state changes", ["kind"])
LAST_SCORE_TIME = Gauge(
    "precursor_last_score_timestamp_seconds", "Data time of the latest scoring grid point"
)
CHAMPION_VERSION = Gauge("precursor_champion_version", "Registered version the scorer uses")
OPEN_ALERTS = Gauge("precursor_open_alerts", "Alerts not closed")
FEATURE_PSI = Gauge(
    "precursor_feature_psi",
    "Population stability index of a feature against its training distribution",
    ["feature"],  # one series per model feature (266 on the simulated plant)
)


def scrape(url: str, timeout: float = 3.0) -> list:
    """Every sample a /metrics endpoint exposes (raises httpx.HTTPError when it does not
    answer)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(url, timeout=timeout).text
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def serve_metrics(port: int, host: str = "127.0.0.1") -> bool:
    """Expose /metrics on `port` (0 disables); returns False if the port is taken."""
    if port == 0:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        logger.warning("metrics port %s unavailable (%s); metrics not exported", port, exc)
        return False
    return True


def start_service(
    settings: Settings, stop: threading.Event | None, *, handle_signals: bool, metrics: bool
) -> threading.Event:
    """What every long-running service does first: SIGTERM/SIGINT only set the returned stop
    flag (the loop then finishes its work and exits cleanly), and /metrics is served."""
    stop = stop or threading.Event()
    if handle_signals:
        stop_on_signals(stop)
    if metrics:
        serve_metrics(settings.metrics_port, settings.metrics_host)
    return stop


# -- API (labels: route template, method, status code: bounded by the routes) ---------------
API_REQUEST_SECONDS = Histogram(
    "precursor_api_request_seconds",
    "API request latency by route template and status",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
API_IN_FLIGHT = Gauge("precursor_api_requests_in_flight", "API requests being served")
API_SSE_CLIENTS = Gauge("precursor_api_sse_clients", "Connected alert-stream clients")
