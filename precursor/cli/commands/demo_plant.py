"""The plant `up --demo` runs: a new one whose history ends now, or the one the data dir already
holds, carried on where its data ends."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from precursor.core.errors import ConfigurationError

DEMO_SEED = 7
LIVE_DAYS = 365  # how long the demo plant runs on after its backfill
# Resumed plants send again from this long before the newest stored sample: whatever a stopped
# run had sent but not yet stored is sent again, and the database drops what it already holds.
RESUME_OVERLAP = timedelta(hours=1)


@dataclass(frozen=True)
class DemoPlant:
    """What the simulator is told: the plant, and where to carry it on from (None: new)."""

    start: datetime
    days: float
    backfill_days: float
    degrade_at_h: float | None
    resume_from: datetime | None = None
    # Flags of this run that shape only a new plant, said when a plant is carried on instead.
    unused: tuple[str, ...] = ()

    def simulator_args(self, assets: int, interval_s: int, speed: float) -> list[str]:
        """`precursor simulate` arguments for this plant, to Kafka, paced after its backfill."""
        return [
            "simulate",
            "--to",
            "kafka",
            "--seed",
            str(DEMO_SEED),
            "--assets",
            str(assets),
            "--interval",
            str(interval_s),
            "--start",
            _rfc3339(self.start),
            "--days",
            str(self.days),
            "--realtime",
            "--speed",
            str(speed),
            "--backfill-days",
            str(self.backfill_days),
            *([] if self.degrade_at_h is None else ["--degrade-at", str(self.degrade_at_h)]),
            *([] if self.resume_from is None else ["--resume-from", _rfc3339(self.resume_from)]),
        ]


def demo_start(days: float, interval_s: int) -> datetime:
    """Start of a demo backfill that ends now (aligned to the snapshot interval)."""
    now = datetime.now(UTC).timestamp()
    aligned = now - now % interval_s
    return datetime.fromtimestamp(aligned, UTC) - timedelta(days=days)


def new_plant(args: argparse.Namespace) -> DemoPlant:
    """A plant whose backfill ends now; one asset scripted to degrade an hour into live time,
    so that the first alert comes within minutes (at 60x), unless --no-demo-script."""
    return DemoPlant(
        start=demo_start(args.demo_days, args.demo_interval),
        days=args.demo_days + LIVE_DAYS,
        backfill_days=args.demo_days,
        degrade_at_h=None if args.no_demo_script else args.demo_days * 24 + 1,
    )


def demo_plant(args: argparse.Namespace, manifest_path: Path, latest: datetime | None) -> DemoPlant:
    """The plant an earlier `up --demo` left in this data dir (its simulator's manifest), carried
    on from `latest`, the newest sample stored; a new plant when there is none. Starting a new
    plant over an old one would resend its history under new times, and its dispatch events
    under ids already taken, which the database would drop."""
    manifest = _read(manifest_path) or {}
    if "backfill_days" not in manifest and manifest.get("days", 0) > LIVE_DAYS:
        # Written by an `up --demo` from before manifests kept the backfill: it always ran
        # LIVE_DAYS past its backfill.
        manifest["backfill_days"] = manifest["days"] - LIVE_DAYS
    if latest is None or "backfill_days" not in manifest:
        return new_plant(args)
    held = (manifest.get("seed"), manifest.get("assets"), manifest.get("interval_s"))
    if held != (DEMO_SEED, args.demo_assets, args.demo_interval):
        raise ConfigurationError(
            f"{manifest_path.parent.parent} holds a demo plant of {held[1]} assets every "
            f"{held[2]} s, stored up to {latest:%Y-%m-%d %H:%M} UTC; carry it on with "
            f"--demo-assets {held[1]} --demo-interval {held[2]}, or start a new one in another "
            "data dir (PRECURSOR_DATA_DIR) or after `make clean`"
        )
    start = datetime.fromisoformat(manifest["start"])
    resume_from = max(start, latest - RESUME_OVERLAP)
    if resume_from >= start + timedelta(days=manifest["days"]):
        raise ConfigurationError(
            f"the demo plant in {manifest_path.parent.parent} has run all its "
            f"{manifest['days']:g} days; start a new one in another data dir or after `make clean`"
        )
    return DemoPlant(
        start=start,
        days=manifest["days"],
        backfill_days=manifest["backfill_days"],
        degrade_at_h=manifest.get("degrade_at_h"),
        resume_from=resume_from,
        unused=_unused_flags(args, manifest),
    )


def _unused_flags(args: argparse.Namespace, manifest: dict) -> tuple[str, ...]:
    """What this run asked for that the plant carried on does not do, in words."""
    unused = []
    if args.demo_days != manifest["backfill_days"]:
        unused.append(
            f"--demo-days {args.demo_days:g} shapes a new plant; this one keeps its "
            f"{manifest['backfill_days']:g} days of history"
        )
    if args.no_demo_script and manifest.get("degrade_at_h") is not None:
        unused.append("--no-demo-script shapes a new plant; this one keeps its scripted asset")
    return tuple(unused)


def _read(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
