"""The deployment files agree with the code: compose services and commands, settings, scrape
targets and ports, and every metric the alert rules and the dashboard use is really exported."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import precursor.core.metrics  # noqa: F401  (defines every metric)
from precursor.cli.main import build_parser
from precursor.core.settings import ENV_PREFIX, Settings

INFRA = Path(__file__).resolve().parents[2] / "infra"
METRIC = re.compile(r"\bprecursor_[a-z0-9_]+\b")


def _compose() -> dict:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def _exported() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("precursor_"):
            continue
        if family.type == "counter":
            names |= {family.name + "_total", family.name + "_created"}
        elif family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_count", "_sum", "_created")}
        else:
            names.add(family.name)
    return names


def _used_in(text: str) -> set[str]:
    return set(METRIC.findall(text))


def test_compose_has_the_whole_production_stack() -> None:
    services = _compose()["services"]
    for name in ("kafka", "timescaledb", "mlflow", "mlflow-db", "migrate", "ingest", "scorer",
                 "api", "prometheus", "grafana"):  # fmt: skip
        assert name in services, name
    assert services["ingest"]["deploy"]["replicas"] > 1
    # Scorers share the plant by partition, so `--scale scorer=N` is all scaling out takes.
    assert services["scorer"]["environment"]["PRECURSOR_SCORE_SCALE_OUT"] == "1"
    assert "kafka" in services["scorer"]["depends_on"]
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper
    assert "postgresql" in " ".join(services["mlflow"]["command"])


def _compose_cli() -> list[str] | None:
    """`docker compose` (the plugin) or `docker-compose`, whichever this machine has."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_is_valid_for_docker_compose() -> None:
    """Docker Compose's own validation (schema, anchors, variables), which needs no daemon."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*cli, "-f", str(INFRA / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_compose_commands_and_settings_exist_in_the_code() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    compose = _compose()
    for name, svc in compose["services"].items():
        if svc.get("image", "").startswith("precursor") and name != "mlflow":
            assert svc["command"][0] in commands, name
    fields = {ENV_PREFIX + f.upper() for f in Settings.model_fields}
    envs = [compose["x-precursor"]["environment"]]
    envs += [svc["environment"] for svc in compose["services"].values()
             if svc.get("image", "").startswith("precursor") and "environment" in svc]  # fmt: skip
    for env in envs:
        for key in env:
            assert key in fields, key


def test_compose_variables_keep_out_of_the_settings_namespace() -> None:
    """The variables an operator exports for compose (passwords, replica counts) must not look
    like settings: an unknown PRECURSOR_* variable stops every precursor command in that shell
    (precursor.core.settings), and deploy.md has them exported in the same shell."""
    fields = {ENV_PREFIX + f.upper() for f in Settings.model_fields}
    text = (INFRA / "docker-compose.yml").read_text()
    text += (INFRA.parent / "docs" / "deploy.md").read_text()
    named = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))  # compose's interpolation
    named |= set(re.findall(r"\b([A-Z_][A-Z0-9_]*)=", text))  # exported, or set for a command
    clash = {v for v in named if v.startswith(ENV_PREFIX) and v not in fields}
    assert not clash, sorted(clash)


def test_every_compose_variable_is_documented_for_the_operator() -> None:
    """The passwords, replica counts and image names the compose file reads from the shell
    are each named in docs/deploy.md, or the operator would not know to set them."""
    named = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (INFRA / "docker-compose.yml").read_text()))
    doc = (INFRA.parent / "docs" / "deploy.md").read_text()
    assert named, "no ${VARIABLE} in the compose file: the pattern is wrong"
    assert not {v for v in named if not re.search(rf"\b{v}\b", doc)}


def test_scrape_targets_match_services_and_their_ports() -> None:
    compose = _compose()
    env = compose["x-precursor"]["environment"]
    prom = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
    ports = {"ingest": env["PRECURSOR_METRICS_PORT"], "scorer": env["PRECURSOR_METRICS_PORT"],
             "api": env["PRECURSOR_API_PORT"]}  # fmt: skip
    seen = set()
    for job in prom["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for host in sd["names"]:
                assert host in compose["services"]
                assert str(sd["port"]) == ports[host]
                seen.add(host)
        for sc in job.get("static_configs", []):
            for target in sc["targets"]:
                host, port = target.split(":")
                assert host in compose["services"]
                assert port == ports[host]
                seen.add(host)
    assert seen == set(ports)
    mounted = " ".join(compose["services"]["prometheus"]["volumes"])
    for rule_file in prom["rule_files"]:
        assert rule_file in mounted


def test_alert_rules_use_only_exported_metrics() -> None:
    exported = _exported()
    rules = yaml.safe_load((INFRA / "prometheus" / "rules.yml").read_text())
    names = [r["alert"] for g in rules["groups"] for r in g["rules"]]
    assert len(names) == len(set(names))
    text = " ".join(r["expr"] for g in rules["groups"] for r in g["rules"])
    used = _used_in(text)
    assert used, "rules use no Precursor metric"
    assert used <= exported, used - exported
    for topic in ("consumer_lag", "dlq", "last_score", "psi"):
        assert topic in text, topic


def test_dashboard_uses_exported_metrics_and_the_provisioned_datasource() -> None:
    dash = json.loads((INFRA / "grafana" / "dashboards" / "precursor.json").read_text())
    source = yaml.safe_load(
        (INFRA / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uid = source["datasources"][0]["uid"]
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert all(p["datasource"]["uid"] == uid for p in dash["panels"])
    used = _used_in(" ".join(exprs))
    assert used <= _exported(), used - _exported()
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("ingest rate", "lag", "scoring", "alerts", "api latency"):
        assert topic in titles, topic


def test_dockerfile_copies_what_exists() -> None:
    root = INFRA.parent
    for line in (INFRA / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for src in line.split()[1:-1]:
                assert (root / src).exists(), src
