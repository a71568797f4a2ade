"""The command line: help everywhere, one-line errors, non-zero exits."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading

import psycopg
import pytest

from precursor.cli.main import build_parser

SUBCOMMANDS = [
    "up",
    "migrate",
    "simulate",
    "replay",
    "replay azure-pdm",
    "replay files",
    "ingest",
    "serve",
    "bench",
    "bench ingest",
    "bench simulate",
    "bench score",
    "bench train",
    "bench quality",
    "bench history",
    "bench api",
    "status",
    "train",
    "backtest",
    "score",
    "apikey",
    "apikey create",
    "apikey list",
    "apikey revoke",
]


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "precursor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_every_registered_command_is_covered_here() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {s.split()[0] for s in SUBCOMMANDS}


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_cli_every_command_has_help(command: str) -> None:
    result = _run(*command.split(), "--help")
    assert result.returncode == 0
    assert "usage: precursor" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["frobnicate"], ["bench", "ingest", "--samples", "-5"], ["ingest", "--stream", "nope"],
     ["up", "--api-port", "eighty"], ["up", "--api-port", "99999"], ["serve", "--port", "-1"],
     ["bench", "quality", "--seeds", "9-3"],
     ["bench", "quality", "--seeds", "seven"], ["simulate", "--to", "files"],
     ["bench", "history", "--history", "60,0"], ["bench", "history", "--history", "sixty"],
     ["bench", "history", "--live-days", "-1"],
     ["replay", "azure-pdm", "--to", "kafka", "extra"], ["simulate", "--seed", "-1"],
     ["simulate", "--seed", "seven"], ["simulate", "--interval", "100000"],
     ["simulate", "--interval", "0"], ["simulate", "--days", "100000"],
     ["up", "--demo-interval", "3600"], ["up", "--demo-days", "1e9"],
     ["simulate", "--assets", "100000"], ["up", "--demo-assets", "0"],
     ["bench", "score", "--assets", "100000000"], ["bench", "simulate", "--interval", "86401"],
     ["bench", "train", "--days", "99999"], ["bench", "ingest", "--samples", "1e12"],
     ["bench", "ingest", "--tags-per-message", "5000"], ["bench", "api", "--days", "100000"],
     ["bench", "history", "--history", "60,1e9"], ["bench", "history", "--live-days", "1e6"],
     ["bench", "api", "--clients", "100000"], ["bench", "api", "--requests", "10000000"],
     ["bench", "ingest", "--samples", "100000000"], ["up", "--demo-assets", "20000"],
     ["backtest", "--model-version", "x"], ["backtest", "--model-version", "0"],
     ["train", "--truth", "/nonexistent/ground_truth.jsonl"],
     ["backtest", "--truth", "/nonexistent/ground_truth.jsonl"],
     ["simulate", "--degrade-at", "-1"], ["simulate", "--degrade-at", "soon"],
     ["simulate", "--backfill-days", "-2"], ["simulate", "--backfill-days", "inf"],
     ["status", "extra"], ["score", "--interval", "-3"], ["bench", "score", "--nope"]],
)  # fmt: skip
def test_cli_bad_argument_is_one_line_and_nonzero(args: list[str]) -> None:
    result = _run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0]
    command = "precursor" if args[0] == "frobnicate" else f"precursor {args[0]}"
    assert lines[0].startswith(command), lines[0]  # says which command it was


def test_an_unknown_argument_names_the_command_that_refused_it() -> None:
    result = _run("bench", "score", "--nope", "x")
    assert result.returncode == 2
    assert result.stderr == (
        "precursor bench score: error: unrecognized arguments: --nope x (see --help)\n"
    )


def test_bench_ingest_fewer_samples_than_one_message_is_one_line() -> None:
    result = _run("bench", "ingest", "--samples", "5", "--tags-per-message", "10")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--tags-per-message" in lines[0], result.stderr


def test_cli_command_without_a_stack_says_how_to_get_one(tmp_path) -> None:
    result = _run("migrate", env={"PRECURSOR_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "precursor up" in lines[0]


@pytest.mark.parametrize("command", [["simulate", "--days", "1", "--assets", "2"],
                                     ["replay", "azure-pdm"]])  # fmt: skip
def test_output_to_a_directory_it_cannot_make_is_one_line(command, tmp_path) -> None:
    from pipelines.replay import azure_pdm

    if command[0] == "replay" and azure_pdm.default_data_dir() is None:
        pytest.skip("../shared/data/azure_pdm not present")
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "plant"
    result = _run(*command, "--to", "files", str(out))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    want = f"precursor {command[0]}: error: cannot use {out}: Not a directory"
    assert lines == [want], lines


def test_a_scripted_degradation_that_does_not_fit_is_one_line(tmp_path) -> None:
    result = _run("simulate", "--days", "2", "--assets", "2", "--degrade-at", "40", "--to",
                  "files", str(tmp_path / "plant"))  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("precursor simulate: error: cannot script")
    assert "needs 42 h before the 2 simulated days end" in lines[0]


def test_backtest_of_a_version_never_registered_is_one_line(tmp_path) -> None:
    """Before any database work: the registry (an empty one here) does not have it."""
    env = {
        "PRECURSOR_DATA_DIR": str(tmp_path),
        "PRECURSOR_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "PRECURSOR_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
    }
    result = _run("backtest", "--model-version", "99", env=env)
    assert result.returncode == 1
    # Nothing else: not even MLflow's INFO lines about creating the new store's tables.
    assert result.stderr.strip().splitlines() == [
        "precursor backtest: error: precursor-risk version 99 is not registered (registered: none)"
    ], result.stderr


def test_up_refuses_a_taken_port_before_starting_anything(tmp_path) -> None:
    """Another stack's API or /metrics port: one line naming the setting, nothing started."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            (["--api-port", port], {"PRECURSOR_METRICS_PORT": "0"}, f"API port {port}"),
            (["--no-api"], {"PRECURSOR_METRICS_PORT": port}, f"metrics port {port} (ingest"),
        ]
        for args, env, what in cases:
            result = _run("up", *args, env={"PRECURSOR_DATA_DIR": str(tmp_path), **env})
            assert result.returncode == 1
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and what in lines[0] and "already taken" in lines[0], lines
    assert not (tmp_path / "postgres").exists()  # refused before the database was started


def test_cli_unwritable_log_file_is_one_line(tmp_path) -> None:
    missing = tmp_path / "no-such-dir" / "status.log"
    env = {"PRECURSOR_DATA_DIR": str(tmp_path), "PRECURSOR_LOG_FILE": str(missing)}
    result = _run("status", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"precursor status: error: PRECURSOR_LOG_FILE: cannot write {missing}: "
        "No such file or directory"
    ]


def test_cli_unknown_setting_is_one_line(tmp_path) -> None:
    result = _run("status", env={"PRECURSOR_DATA_DIR": str(tmp_path), "PRECURSOR_KAFKA": "x"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "precursor status: error: unknown setting(s) in the environment: PRECURSOR_KAFKA"
    ]


def test_apikey_create_list_revoke_round_trip(database_url, tmp_path) -> None:
    env = {"PRECURSOR_DATABASE_URL": database_url, "PRECURSOR_DATA_DIR": str(tmp_path)}
    created = _run(*["apikey", "create", "--role", "hse", "--name", "Dana (HSE)"], env=env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().split()[-1]
    assert secret.startswith("prc_") and len(secret) > 40
    key_id = created.stdout.split()[1]
    listed = _run(*["apikey", "list"], env=env)
    assert key_id in listed.stdout and "Dana (HSE)" in listed.stdout
    assert secret not in listed.stdout
    revoked = _run(*["apikey", "revoke", key_id], env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    with psycopg.connect(database_url) as conn:
        from services.api.keys import resolve

        assert resolve(conn, secret) is None


def test_apikey_bad_arguments_are_one_line_errors(database_url, tmp_path) -> None:
    env = {"PRECURSOR_DATABASE_URL": database_url, "PRECURSOR_DATA_DIR": str(tmp_path)}
    bad_role = _run(*["apikey", "create", "--role", "boss", "--name", "x"], env=env)
    assert bad_role.returncode == 2 and len(bad_role.stderr.strip().splitlines()) == 1
    unknown = _run(*["apikey", "revoke", "k_nothere"], env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().count("\n") == 0 and "k_nothere" in unknown.stderr


def test_status_reports_a_running_stack_from_its_endpoints(database_url, tmp_path) -> None:
    """`status` reads endpoints.json and probes the database: row counts, scoring, and what is
    still to be rolled up (here: samples ingest marked, no scorer yet)."""
    from precursor.core.endpoints import Endpoints, write_endpoints

    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO signal_samples (ts, asset_id, tag, value) "
            "VALUES ('2026-03-01T06:00:00Z', 'CV-1', 'vib', 1.0), "
            "('2026-03-01T06:20:00Z', 'CV-1', 'vib', 2.0)"
        )
        conn.execute(
            "INSERT INTO rollup_dirty VALUES ('CV-1', '2026-03-01T06:00:00Z'), "
            "('CV-1', '2026-03-01T06:15:00Z')"
        )
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotReadyApi)  # up, no model yet
    threading.Thread(target=api.serve_forever, daemon=True).start()
    api_url = f"http://127.0.0.1:{api.server_address[1]}"
    try:
        endpoints = Endpoints(database_url, "127.0.0.1:1", api_url, "sqlite:///x.db", None,
                              os.getpid())  # fmt: skip
        write_endpoints(tmp_path / "endpoints.json", endpoints)
        env = {"PRECURSOR_DATA_DIR": str(tmp_path)}
        report = json.loads(_run("status", "--json", env=env).stdout)
        assert report["running"] and report["database"]["ok"]
        assert report["database"]["rows"]["signal_samples"] == 2
        assert report["scoring"]["rollup_backlog"] == {"buckets": 2, "days": 0}
        table = _run("status", env=env)
        assert table.returncode == 0
        assert "2 asset-buckets and 0 asset-days waiting" in table.stdout
        # The console, and where the demo keeps its key once there is one (never the key).
        assert f"  console   {api_url}/  (sign in with an API key)\n" in table.stdout
        (tmp_path / "demo-console-key").write_text("prc_secret\n")
        table = _run("status", env=env).stdout
        assert f"the demo's is in {tmp_path / 'demo-console-key'})" in table
        assert "prc_secret" not in table
    finally:
        api.shutdown()
        api.server_close()


def test_status_probes_a_configured_stack_without_up(database_url, tmp_path) -> None:
    """A deployment (compose, systemd) has no endpoints.json: `status` probes what the settings
    name, and the API and an ingest's metrics only when told where they are."""
    env = {"PRECURSOR_DATA_DIR": str(tmp_path), "PRECURSOR_DATABASE_URL": database_url}
    table = _run("status", env=env)
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("configured stack (no `up` running)")
    assert "signal_samples" in table.stdout
    assert "api       not probed (name it with --api-url)" in table.stdout
    assert "consumer lag unknown (not probed: name an ingest's /metrics with --metrics-url)" in (
        table.stdout
    )
    from precursor.core.runtime.processes import free_port

    down = f"http://127.0.0.1:{free_port()}"
    report = json.loads(_run("status", "--json", "--api-url", down, env=env).stdout)
    assert report["stack"] == "configured" and report["database"]["ok"]
    assert report["api"]["ok"] is False and report["api_url"] == down
    assert _run("status", env={"PRECURSOR_DATA_DIR": str(tmp_path)}).returncode == 1
    bad = _run("status", "--api-url", "localhost:8000", env=env)
    assert bad.returncode == 2 and "not an http(s) URL" in bad.stderr


def test_a_database_password_is_never_shown() -> None:
    from precursor.core.endpoints import without_password

    assert without_password("postgresql://precursor:s3cret@db:5432/p") == (
        "postgresql://precursor:***@db:5432/p"
    )
    assert without_password("postgresql://u:p@h1:5432,h2:5433/db") == (
        "postgresql://u:***@h1:5432,h2:5433/db"
    )
    assert without_password("host=h password='a b' dbname=x") == "host=h password=*** dbname=x"
    assert without_password("postgresql://h/db?password=x") == "postgresql://h/db?password=***"
    assert without_password("postgresql://u@h/db") == "postgresql://u@h/db"


class _NotReadyApi(http.server.BaseHTTPRequestHandler):
    """An API before its first model: /healthz answers, /readyz says why it is not ready."""

    def do_GET(self) -> None:
        ready = self.path == "/healthz"
        body = (
            b'{"status":"ok"}'
            if ready
            else b'{"error":{"code":"not_ready","message":"no champion model registered yet"}}'
        )
        self.send_response(200 if ready else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_status_tells_an_api_that_is_up_but_not_ready_from_one_that_is_down(tmp_path) -> None:
    from precursor.cli.commands.status import _api_state
    from precursor.core.runtime.processes import free_port

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotReadyApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert _api_state(url) == {
            "ok": True,
            "ready": False,
            "not_ready": "no champion model registered yet",
        }
    finally:
        server.shutdown()
        server.server_close()
    down = _api_state(f"http://127.0.0.1:{free_port()}")
    assert down["ok"] is False and down["ready"] is False and down["error"]


def test_status_says_why_the_consumer_lag_is_unknown() -> None:
    from precursor.cli.commands.status import _ingest_lag, lag_text
    from precursor.core.runtime.processes import free_port

    assert lag_text(_ingest_lag(None)) == "consumer lag unknown (ingest exports no metrics)"
    gone = lag_text(_ingest_lag(f"http://127.0.0.1:{free_port()}/metrics"))
    assert gone.startswith("consumer lag unknown (ingest metrics not reachable: ")
    assert lag_text({"consumer_lag": 12345.0}) == "consumer lag 12,345 messages"


class _IngestMetrics(http.server.BaseHTTPRequestHandler):
    """An ingest's /metrics after two bad signal messages and one bad dispatch event."""

    body = (
        b"# TYPE precursor_ingest_consumer_lag gauge\n"
        b'precursor_ingest_consumer_lag{stream="signals",partition="0"} 5.0\n'
        b'precursor_ingest_consumer_lag{stream="signals",partition="1"} 7.0\n'
        b"# TYPE precursor_ingest_dlq_messages_total counter\n"
        b'precursor_ingest_dlq_messages_total{stream="signals",error="not_json"} 1.0\n'
        b'precursor_ingest_dlq_messages_total{stream="signals",error="invalid"} 1.0\n'
        b'precursor_ingest_dlq_messages_total{stream="dispatch",error="invalid"} 1.0\n'
    )

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def test_status_tells_the_dead_letters_ingest_sent_by_stream() -> None:
    from precursor.cli.commands.status import _ingest_lag, lag_text

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _IngestMetrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        ingest = _ingest_lag(f"http://127.0.0.1:{server.server_address[1]}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert ingest == {"consumer_lag": 12.0, "dead_letters": {"signals": 2.0, "dispatch": 1.0}}
    assert lag_text(ingest) == (
        "consumer lag 12 messages, 3 dead letters since it started (dispatch 1, signals 2)"
    )
    quiet = {"consumer_lag": 0.0, "dead_letters": {}}
    assert lag_text(quiet) == "consumer lag 0 messages, no dead letters since it started"


class _RefusingTracker(http.server.BaseHTTPRequestHandler):
    """An MLflow server that refuses this client, as MLflow 3 does a Host header it does not
    allow (the compose services call it as mlflow:5000)."""

    def do_GET(self) -> None:
        body = b"Invalid Host header - possible DNS rebinding attack detected"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_mlflow_error_is_one_line(database_url, tmp_path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingTracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {
            "PRECURSOR_DATA_DIR": str(tmp_path),
            "PRECURSOR_DATABASE_URL": database_url,
            "PRECURSOR_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{server.server_address[1]}",
        }
        result = _run("train", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("precursor train: error: MLflow: ")
    assert "403" in lines[0]
