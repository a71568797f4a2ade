"""Precursor settings: one frozen pydantic-settings class read from PRECURSOR_* variables."""

from __future__ import annotations

import difflib
import itertools
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.shifts import DEFAULT_SHIFTS, ShiftPattern, plant_zone
from precursor.core.errors import ConfigurationError

ENV_PREFIX = "PRECURSOR_"


class Topics:
    """The Kafka topic names in use, derived from settings."""

    def __init__(self, signals: str, alarms: str, dispatch: str, incidents: str, alerts: str):
        self.signals = signals
        self.alarms = alarms
        self.dispatch = dispatch
        self.incidents = incidents
        self.alerts = alerts

    @property
    def inputs(self) -> dict[str, str]:
        """Stream name -> topic for the four input streams."""
        return {
            "signals": self.signals,
            "alarms": self.alarms,
            "dispatch": self.dispatch,
            "incidents": self.incidents,
        }

    def all_with_dlq(self) -> list[str]:
        """Every topic the product uses, including each input's `.dlq` twin."""
        names = list(self.inputs.values())
        return [*names, *(dlq_topic(t) for t in names), self.alerts]


def _upper(value: object) -> object:
    """Log levels are accepted in any case (`info`, `INFO`)."""
    return value.upper() if isinstance(value, str) else value


def dlq_topic(topic: str) -> str:
    """The dead-letter twin of a topic."""
    return f"{topic}.dlq"


class Settings(BaseSettings):
    """Everything configurable; unset database URL / bootstrap means the embedded default."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", validate_default=True
    )

    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL/TimescaleDB URL; unset: embedded PostgreSQL"
    )
    kafka_bootstrap: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset: embedded Tansu broker"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle for TLS")
    data_dir: Path = Field(default=Path(".precursor"), description="embedded data, endpoints.json")

    topic_signals: str = "plant.control.signals"
    topic_alarms: str = "plant.control.alarms"
    topic_dispatch: str = "plant.dispatch.events"
    topic_incidents: str = "plant.hse.incidents"
    topic_alerts: str = "precursor.alerts"
    partitions: int = Field(default=6, ge=1, le=1024)

    consumer_group: str = Field(default="precursor-ingest", min_length=1)
    batch_size: int = Field(default=20_000, ge=1, le=1_000_000, description="rows per flush")
    batch_max_age_s: float = Field(default=1.0, gt=0, le=300, description="flush age bound")
    max_message_bytes: int = Field(default=1_048_576, ge=256)
    kafka_session_timeout_ms: int = Field(
        default=6000,
        ge=500,
        description="group session timeout; the embedded broker delays joins by about half",
    )

    metrics_port: int = Field(default=9464, ge=0, le=65535, description="0 disables /metrics")
    metrics_host: str = Field(default="127.0.0.1", description="bind address of /metrics")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    mlflow_tracking_uri: str | None = None
    api_cache_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="max age of cached forecast / alert-list responses (0 disables the cache)",
    )
    api_key_cache_s: float = Field(
        default=5.0, ge=0, le=300, description="how long a resolved key is trusted (revocation lag)"
    )

    horizon_h: float = Field(default=24.0, gt=0, le=24 * 30, description="prediction horizon")
    min_downtime_min: float = Field(default=30.0, ge=0, description="incident: stop length")
    alert_budget: float = Field(default=0.5, gt=0, description="false alerts per asset-week")
    alert_open_rating: Literal["medium", "high", "critical"] = "high"
    alert_cooldown_h: float = Field(default=4.0, ge=0, description="below threshold to close")
    likelihood_bands: str = Field(
        default="0.6,0.8,1,2", description="L2..L5 lower bounds, multiples of the threshold"
    )
    rating_bands: str = Field(
        default="5,10,20", description="L x C where medium/high/critical start"
    )
    score_interval_s: float = Field(default=10.0, gt=0, description="scorer loop period")
    score_scale_out: bool = Field(
        default=False,
        description="share the assets with the other scorers that set it, through a Kafka "
        "consumer group on the signals topic (run one `precursor score` per host)",
    )
    plant_timezone: str = Field(default="UTC", description="IANA time zone of the shift clock")
    shifts: str = Field(
        default=DEFAULT_SHIFTS, description="shift names and local start times, name=HH:MM,..."
    )

    retention_days: int = Field(
        default=730,
        ge=0,
        description="TimescaleDB raw-sample retention in days; 0 keeps raw samples for good "
        "(historic replays: the policy counts from the wall clock, not the data's)",
    )
    compress_after_days: int = Field(default=7, ge=1, description="TimescaleDB compression age")
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = "INFO"
    log_file: Path | None = Field(
        default=None,
        description="write log records here, rotated at 20 MB (`up` sets it for its services)",
    )

    @field_validator("plant_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        plant_zone(value)
        return value

    @field_validator("shifts")
    @classmethod
    def _valid_shifts(cls, value: str) -> str:
        ShiftPattern.parse(value)
        return value

    @cached_property
    def shift_pattern(self) -> ShiftPattern:
        """The plant's shifts in its time zone."""
        return ShiftPattern.parse(self.shifts, self.plant_timezone)

    @cached_property
    def topics(self) -> Topics:
        """Topic names as one object."""
        return Topics(
            self.topic_signals,
            self.topic_alarms,
            self.topic_dispatch,
            self.topic_incidents,
            self.topic_alerts,
        )

    @property
    def endpoints_path(self) -> Path:
        """Where a running `precursor up` announces its endpoints."""
        return self.data_dir / "endpoints.json"

    @property
    def resolved_mlflow_uri(self) -> str:
        """MLflow tracking URI: explicit, else a sqlite store under the data dir."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"


def parse_floats(text: str, n: int, name: str) -> tuple[float, ...]:
    """'0.25,0.5,1,2' -> increasing floats, or a one-line error naming the setting."""
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigurationError(f"{name} must be {n} comma-separated numbers: {text!r}") from None
    if len(values) != n or any(b <= a for a, b in itertools.pairwise(values)):
        raise ConfigurationError(f"{name} must be {n} increasing numbers: {text!r}")
    return values


def _unknown_env_keys() -> list[str]:
    """Unknown PRECURSOR_* variables, each with the setting it most likely misspells."""
    known = sorted(ENV_PREFIX + name.upper() for name in Settings.model_fields)
    out = []
    for key in sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k not in known):
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
        out.append(f"{key} (did you mean {close[0]}?)" if close else key)
    return out


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; unknown PRECURSOR_* keys are one clear error."""
    unknown = _unknown_env_keys()
    if unknown:
        raise ConfigurationError(f"unknown setting(s) in the environment: {', '.join(unknown)}")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ENV_PREFIX + ".".join(str(p) for p in first["loc"]).upper()
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigurationError(f"invalid setting {field}: {message}") from None
