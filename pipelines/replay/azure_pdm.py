"""Microsoft's Azure predictive-maintenance sample data mapped onto the ingest contract.

Mapping (shared/data/azure_pdm/README.md): telemetry -> signals (volt, rotate, pressure,
vibration); errors -> alarms (kind FAULT, priority 2, the error id as tag and code, since one
machine can raise two different errors in the same hour); maintenance -> dispatch `maintenance`
(planned, reason_code = component); failures -> dispatch `down` (unplanned, reason_code =
component); machines -> assets. Events are clipped to the telemetry's machines and time window.

The data has no restart after a stop, so the replay emits `running` itself: REPAIR_HOURS after
a failure, MAINTENANCE_HOURS after a maintenance record that has no failure in the same hour.
A maintenance record that shares a failure's hour is the repair itself; it is ordered before
the failure (a zero-length maintenance state), so the failure's stop lasts the repair time.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from precursor.core.errors import PrecursorError

REPAIR_HOURS = 8.0
MAINTENANCE_HOURS = 4.0
TELEMETRY_TAGS = ("volt", "rotate", "pressure", "vibration")
MODEL_CRITICALITY = {"model1": 2, "model2": 2, "model3": 3, "model4": 3}


def default_data_dir() -> Path | None:
    """`../shared/data/azure_pdm` next to the checkout (or the working directory), if present."""
    repo = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), repo):
        candidate = base.parent / "shared" / "data" / "azure_pdm"
        if (candidate / "PdM_machines.csv").exists():
            return candidate
    return None


def _ts(text: str) -> datetime:
    """Naive 'YYYY-mm-dd HH:MM:SS' read as UTC (the README's rule)."""
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _rfc(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_id(machine: int) -> str:
    """M001 .. M100."""
    return f"M{machine:03d}"


def criticality(model: str, age: int) -> int:
    """Model sets the base (model3/4 run the heavier duty); old machines matter more."""
    base = MODEL_CRITICALITY.get(model, 3)
    return max(1, min(5, base + (age >= 10) + (age >= 18)))


@dataclass
class AzureData:
    """The CSV tables, parsed."""

    machines: list[dict]
    telemetry: list[dict]
    errors: list[dict]
    failures: list[dict]
    maint: list[dict]


def _rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        return list(csv.DictReader(fh))


def load(data_dir: Path) -> AzureData:
    """Read the five tables; one-line errors for a missing or malformed file."""
    data_dir = Path(data_dir)
    telemetry_files = sorted(data_dir.glob("PdM_telemetry*.csv*"))
    needed = ["PdM_machines.csv", "PdM_errors.csv", "PdM_failures.csv", "PdM_maint.csv"]
    missing = [n for n in needed if not (data_dir / n).exists()]
    if missing or not telemetry_files:
        raise PrecursorError(
            f"Azure PdM data incomplete in {data_dir}: missing "
            f"{', '.join(missing + ([] if telemetry_files else ['PdM_telemetry*.csv']))}"
        )
    try:
        return AzureData(
            machines=_rows(data_dir / "PdM_machines.csv"),
            telemetry=[r for f in telemetry_files for r in _rows(f)],
            errors=_rows(data_dir / "PdM_errors.csv"),
            failures=_rows(data_dir / "PdM_failures.csv"),
            maint=_rows(data_dir / "PdM_maint.csv"),
        )
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise PrecursorError(f"cannot read Azure PdM data in {data_dir}: {exc}") from None


@dataclass
class Replay:
    """The replay's messages per stream, already clipped and ordered by time."""

    assets: list[dict]
    signals: list[tuple[str, dict]]
    alarms: list[tuple[str, dict]]
    dispatch: list[tuple[str, dict]]
    truth: list[dict]
    window: tuple[datetime, datetime]

    def streams(self) -> Iterator[tuple[str, str, dict]]:
        """(stream, key, message) for everything, stream by stream."""
        for stream in ("signals", "alarms", "dispatch"):
            for key, msg in getattr(self, stream):
                yield stream, key, msg


def build(
    data: AzureData,
    repair_hours: float = REPAIR_HOURS,
    maintenance_hours: float = MAINTENANCE_HOURS,
) -> Replay:
    """Map the tables onto the contract."""
    try:
        telemetry = sorted(
            ((_ts(r["datetime"]), int(r["machineID"]), r) for r in data.telemetry),
            key=lambda x: (x[0], x[1]),
        )
    except (KeyError, ValueError) as exc:
        raise PrecursorError(f"malformed telemetry row: {exc}") from None
    if not telemetry:
        raise PrecursorError("the telemetry table is empty")
    lo, hi = telemetry[0][0], telemetry[-1][0]
    machines = {m for _, m, _ in telemetry}

    def inside(row: dict) -> bool:
        return int(row["machineID"]) in machines and lo <= _ts(row["datetime"]) <= hi

    signals = [
        (
            asset_id(m),
            {
                "asset_id": asset_id(m),
                "ts": _rfc(ts),
                "signals": {tag: float(r[tag]) for tag in TELEMETRY_TAGS},
            },
        )
        for ts, m, r in telemetry
    ]
    alarms = sorted(
        (
            (
                asset_id(int(r["machineID"])),
                {
                    "asset_id": asset_id(int(r["machineID"])),
                    "ts": _rfc(_ts(r["datetime"])),
                    "tag": r["errorID"],
                    "kind": "FAULT",
                    "priority": 2,
                    "state": "active",
                    "code": r["errorID"],
                },
            )
            for r in data.errors
            if inside(r)
        ),
        key=lambda x: (x[1]["ts"], x[0], x[1]["tag"]),
    )

    events: list[tuple[datetime, str, dict]] = []
    truth: list[dict] = []
    groups: dict[tuple[int, datetime], bool] = {}  # (machine, hour) -> has a failure
    for r in data.maint:
        if inside(r):
            m, ts = int(r["machineID"]), _ts(r["datetime"])
            groups.setdefault((m, ts), False)
            events.append(
                _event(m, ts, "0-maint", r["comp"], "maintenance", True, f"{r['comp']} replacement")
            )
    for r in data.failures:
        if inside(r):
            m, ts = int(r["machineID"]), _ts(r["datetime"])
            groups[(m, ts)] = True
            ev = _event(m, ts, "1-fail", r["failure"], "down", False, f"{r['failure']} failure")
            events.append(ev)
            truth.append(
                {
                    "type": "incident",
                    "source": "dispatch",
                    "asset_id": asset_id(m),
                    "ts": _rfc(ts),
                    "event_id": ev[2]["event_id"],
                    "mechanism": r["failure"],
                    "precursor_onset": None,
                    "precursor": "unknown",
                }
            )
    for (m, ts), failed in groups.items():
        back = ts + timedelta(hours=repair_hours if failed else maintenance_hours)
        if back <= hi:
            events.append(_event(m, back, "2-running", None, "running", False, None))
    events.sort(key=lambda e: (e[0], e[2]["asset_id"], e[2]["event_id"]))
    dispatch = [(e[2]["asset_id"], e[2]) for e in events]

    assets = []
    for r in data.machines:
        m = int(r["machineID"])
        if m in machines:
            model, age = r["model"], int(r["age"])
            assets.append(
                {
                    "asset_id": asset_id(m),
                    "name": f"PdM machine {m} ({model})",
                    "kind": model,
                    "site": "azure-pdm",
                    "area": model,
                    "criticality": criticality(model, age),
                    "attributes": {"model": model, "age_years": age, "source": "azure-pdm"},
                }
            )
    return Replay(assets, signals, alarms, dispatch, truth, (lo, hi))


def _event(
    machine: int,
    ts: datetime,
    what: str,
    comp: str | None,
    state: str,
    planned: bool,
    reason: str | None,
) -> tuple[datetime, str, dict]:
    # The id sorts maintenance before a failure of the same hour, and both before the restart.
    event_id = f"pdm-{asset_id(machine)}-{ts:%Y%m%d%H}-{what}" + (f"-{comp}" if comp else "")
    msg = {
        "event_id": event_id,
        "asset_id": asset_id(machine),
        "ts": _rfc(ts),
        "state": state,
        "planned": planned,
    }
    if comp:
        msg["reason_code"] = comp
    if reason:
        msg["reason"] = reason
    return ts, state, msg
