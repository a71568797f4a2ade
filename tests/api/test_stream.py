"""The alert stream: events raised by a scorer in another process arrive over SSE, and a
reconnecting client resumes from Last-Event-ID without gaps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from precursor.core.kafka import ensure_topics
from services.api.app import create_app
from services.api.keys import ROLES, create_key
from tests.conftest import drop_database, fresh_database, make_settings
from tests.helpers import live_api, wait_for
from tests.models.plant import register_champion

pytestmark = pytest.mark.slow


def read_events(response: httpx.Response, out: list[dict], stop: threading.Event) -> None:
    """Parse server-sent events into `out` until the stream ends or `stop` is set."""
    event: dict = {}
    try:
        for line in response.iter_lines():
            if stop.is_set():
                return
            if not line:
                if event:
                    out.append(event)
                    event = {}
                continue
            field, _, value = line.partition(":")
            event[field] = value.lstrip()
    except httpx.HTTPError:
        return  # the test closed the connection


class StreamClient:
    """An SSE subscription read in a background thread."""

    def __init__(self, base: str, key: str, last_event_id: str | None = None):
        headers = {"Authorization": f"Bearer {key}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.events: list[dict] = []
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._cm = self._client.stream("GET", f"{base}/v1/alerts/stream", headers=headers)
        self.response = self._cm.__enter__()
        self._thread = threading.Thread(
            target=read_events, args=(self.response, self.events, self._stop), daemon=True
        )
        self._thread.start()

    def kinds(self) -> list[str]:
        """Event names received so far."""
        return [e.get("event") for e in self.events]

    def close(self) -> None:
        """Drop the connection."""
        self._stop.set()
        self._client.close()


@pytest.fixture(scope="module")
def stack(
    pg_server, broker, tmp_path_factory, small_model, seeded_plant_template
) -> Iterator[tuple]:
    """A seeded plant, a registered champion whose low threshold makes alerts certain, and the
    API serving it."""
    model, _, _, frames = small_model
    url = fresh_database(pg_server, template=seeded_plant_template)
    tmp = tmp_path_factory.mktemp("stream")
    settings = make_settings(
        url, broker.bootstrap, tmp, mlflow_tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
        api_key_cache_s=0,
    )  # fmt: skip
    ensure_topics(settings)
    register_champion(settings, model, frames)
    with psycopg.connect(url) as conn:
        keys = {role: create_key(conn, f"{role}-stream", role)[1] for role in ROLES}
    with live_api(create_app(settings)) as base:
        yield settings, url, base, keys
    drop_database(pg_server, url)


def _scorer(settings) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")},
        "PRECURSOR_DATABASE_URL": settings.database_url.get_secret_value(),
        "PRECURSOR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PRECURSOR_DATA_DIR": str(settings.data_dir),
        "PRECURSOR_MLFLOW_TRACKING_URI": settings.resolved_mlflow_uri,
        "PRECURSOR_TOPIC_ALERTS": settings.topic_alerts,
        "PRECURSOR_METRICS_PORT": "0",
        "PRECURSOR_SCORE_INTERVAL_S": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "precursor", "score"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_stream_is_open_to_every_role(stack) -> None:
    _settings, _url, base, keys = stack
    for role, key in keys.items():
        client = StreamClient(base, key)
        try:
            assert client.response.status_code == 200, role
            assert client.response.headers["content-type"].startswith("text/event-stream")
            wait_for(lambda c=client: "ready" in c.kinds(), 10, f"ready event for {role}")
        finally:
            client.close()


def test_alert_opened_by_a_scorer_process_arrives_and_resumes(stack) -> None:
    settings, url, base, keys = stack
    live = StreamClient(base, keys["operator"])
    wait_for(lambda: "ready" in live.kinds(), 10, "the stream to start")
    scorer = _scorer(settings)
    try:
        wait_for(lambda: "opened" in live.kinds(), 120, "an opened alert on the stream")
    finally:
        scorer.send_signal(signal.SIGTERM)
        _, err = scorer.communicate(timeout=60)
    assert scorer.returncode == 0, err.decode()[-2000:]
    opened = next(e for e in live.events if e.get("event") == "opened")
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT kind, payload->>'alert_id' FROM alert_events WHERE event_id = %s",
            (int(opened["id"]),),
        ).fetchone()
        stored = [
            (str(i), k)
            for i, k in conn.execute(
                "SELECT event_id, kind FROM alert_events ORDER BY event_id"
            ).fetchall()
        ]
        alert_id = conn.execute(
            "SELECT alert_id FROM alerts WHERE closed_at IS NULL ORDER BY opened_at LIMIT 1"
        ).fetchone()[0]
    assert row[0] == "opened" and row[1] in opened["data"]
    # The scorer copied the registry into the database: the API shows its champion.
    models = httpx.get(
        f"{base}/v1/models", headers={"Authorization": f"Bearer {keys['operator']}"}
    ).json()
    assert models["champion"] == "1" and models["versions"][0]["champion"] is True
    assert models["versions"][0]["metrics"] == {}  # logged outside `train`: no backtest
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json()["champion"] == "1"
    # An acknowledgement through the API reaches the same subscriber.
    ack = httpx.post(
        f"{base}/v1/alerts/{alert_id}/ack", headers={"Authorization": f"Bearer {keys['operator']}"}
    )
    assert ack.status_code == 200, ack.text
    wait_for(lambda: "acknowledged" in live.kinds(), 30, "the acknowledgement on the stream")
    live.close()
    # A client that saw only the first event resumes with every later one, in order.
    first = stored[0][0]
    resumed = StreamClient(base, keys["hse"], last_event_id=first)
    try:
        expected = [i for i, _ in stored[1:]] + [None]  # + the acknowledgement
        wait_for(
            lambda: len([e for e in resumed.events if "id" in e]) >= len(expected),
            30, "the replayed events",
        )  # fmt: skip
        got = [e["id"] for e in resumed.events if "id" in e]
        assert got[: len(stored) - 1] == [i for i, _ in stored[1:]]
        assert [e["event"] for e in resumed.events if "id" in e][-1] == "acknowledged"
        assert got == sorted(got, key=int) and len(set(got)) == len(got)
    finally:
        resumed.close()


def test_bad_last_event_id_is_422(stack) -> None:
    _settings, _url, base, keys = stack
    r = httpx.get(
        f"{base}/v1/alerts/stream",
        headers={"Authorization": f"Bearer {keys['operator']}", "Last-Event-ID": "abc"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
