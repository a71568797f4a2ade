"""The Kafka message contracts of SPEC.md and replay asset records, plus their row forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictFloat,
    ValidationError,
    field_validator,
)

MAX_ID = 128
# 1970..2200: anything outside is a unit mistake (seconds vs ms, µs) rather than a real time.
_MIN_TS = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TS = datetime(2200, 1, 1, tzinfo=UTC)


def parse_timestamp(value: Any) -> datetime:
    """RFC 3339 with an offset, or integer epoch milliseconds, to an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("timestamp must be an RFC 3339 string or epoch milliseconds")
    if isinstance(value, int):
        try:
            ts = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("epoch milliseconds out of range") from None
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not an RFC 3339 timestamp") from None
        if ts.tzinfo is None:
            raise ValueError("timestamp needs an offset (e.g. Z or +02:00)")
        ts = ts.astimezone(UTC)
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp needs an offset")
        ts = value.astimezone(UTC)
    else:
        raise ValueError("timestamp must be an RFC 3339 string or epoch milliseconds")
    if not _MIN_TS <= ts < _MAX_TS:
        raise ValueError("timestamp outside 1970..2200")
    return ts


Timestamp = Annotated[datetime, PlainValidator(parse_timestamp, json_schema_input_type=str | int)]
# PostgreSQL text cannot hold NUL, so a NUL must fail validation here, not the batch write later.
_NO_NUL = r"^[^\x00]*$"
# An identifier (asset, tag, event) holds no control character: the API could not be asked for
# it (its path and query parameters use the same pattern), and features pivot tags on one.
ID_PATTERN = r"^[^\x00-\x1f]+$"
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
ShortText = Annotated[str | None, Field(default=None, max_length=MAX_ID, pattern=_NO_NUL)]
OptionalText = Annotated[str | None, Field(default=None, max_length=2000, pattern=_NO_NUL)]

SignalQuality = Literal["good", "uncertain", "bad"]
AlarmKind = Literal["HI", "HIHI", "LO", "LOLO", "TRIP", "DEV", "FAULT"]
AlarmState = Literal["active", "cleared"]
EquipmentState = Literal["running", "idle", "standby", "down", "maintenance"]
IncidentKind = Literal["near_miss", "injury", "fire", "release", "equipment_damage", "stop_work"]


class _Message(BaseModel):
    # Unknown fields are ignored (SPEC); numbers must be real, finite numbers, not strings.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, strict=True)


class SignalSnapshot(_Message):
    """`plant.control.signals`: one snapshot of one asset's tags."""

    asset_id: Identifier
    ts: Timestamp
    signals: Annotated[dict[Identifier, StrictFloat | None], Field(min_length=1, max_length=5000)]
    quality: SignalQuality = "good"


class Alarm(_Message):
    """`plant.control.alarms`: one alarm journal entry."""

    asset_id: Identifier
    ts: Timestamp
    kind: AlarmKind
    priority: Annotated[int, Field(ge=1, le=4)]
    state: AlarmState
    tag: Annotated[
        str | None, Field(default=None, min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)
    ] = None
    code: ShortText = None


class DispatchEvent(_Message):
    """`plant.dispatch.events`: an equipment state change."""

    event_id: Identifier
    asset_id: Identifier
    ts: Timestamp
    state: EquipmentState
    planned: bool = False
    reason_code: ShortText = None
    reason: OptionalText = None
    crew: ShortText = None
    operator: ShortText = None


class Incident(_Message):
    """`plant.hse.incidents`: a safety event linked to equipment."""

    incident_id: Identifier
    asset_id: Identifier
    ts: Timestamp
    kind: IncidentKind
    severity: Annotated[int, Field(ge=1, le=5)]
    description: OptionalText = None


STREAM_MODELS: dict[str, type[_Message]] = {
    "signals": SignalSnapshot,
    "alarms": Alarm,
    "dispatch": DispatchEvent,
    "incidents": Incident,
}


class AssetRecord(_Message):
    """A line of a replay's `assets.jsonl`: one asset of the registry."""

    asset_id: Identifier
    name: OptionalText = None
    kind: ShortText = None
    site: ShortText = None
    area: ShortText = None
    criticality: Annotated[int, Field(ge=1, le=5)] = 3
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _jsonb_safe(cls, value: dict[str, Any]) -> dict[str, Any]:
        # jsonb refuses a NUL anywhere in a string, key or value, at any depth.
        if _holds_nul(value):
            raise ValueError("holds a NUL character, which the database cannot store")
        return value


def _holds_nul(value: Any) -> bool:
    """Whether a NUL is in any string of a JSON value, keys included."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class ContractViolation(Exception):
    """A message that does not meet its topic's contract; `code` goes into the DLQ header."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def decode(model: type[_Message], raw: bytes, max_bytes: int) -> _Message:
    """Parse and validate one message value, raising ContractViolation with a short reason."""
    if raw is None:
        raise ContractViolation("empty", "message has no value")
    if len(raw) > max_bytes:
        raise ContractViolation("oversized", f"message is {len(raw)} bytes, limit {max_bytes}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ContractViolation("bad_json", f"not valid JSON: {first['msg']}") from None
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise ContractViolation("invalid", f"{where}: {first['msg']}") from None


def signal_rows(msg: SignalSnapshot) -> list[tuple[datetime, str, str, float, str]]:
    """One row per non-null tag: (ts, asset_id, tag, value, quality)."""
    ts, asset, quality = msg.ts, msg.asset_id, msg.quality
    return [(ts, asset, tag, v, quality) for tag, v in msg.signals.items() if v is not None]


def alarm_row(msg: Alarm) -> tuple:
    """(ts, asset_id, tag, kind, priority, state, code)."""
    return (msg.ts, msg.asset_id, msg.tag, msg.kind, msg.priority, msg.state, msg.code)


def dispatch_row(msg: DispatchEvent) -> tuple:
    """(event_id, ts, asset_id, state, planned, reason_code, reason, crew, operator)."""
    return (
        msg.event_id, msg.ts, msg.asset_id, msg.state, msg.planned,
        msg.reason_code, msg.reason, msg.crew, msg.operator,
    )  # fmt: skip


def incident_row(msg: Incident, source: str = "kafka") -> tuple:
    """(incident_id, ts, asset_id, kind, severity, description, source)."""
    return (msg.incident_id, msg.ts, msg.asset_id, msg.kind, msg.severity, msg.description, source)
