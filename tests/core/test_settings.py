"""Settings: defaults, validation, unknown keys, hidden secrets."""

from __future__ import annotations

import pydantic
import pytest

from precursor.core.errors import ConfigurationError
from precursor.core.settings import Settings, load_settings


def test_settings_defaults_mean_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("PRECURSOR_"):
            monkeypatch.delenv(key)
    s = load_settings()
    assert s.database_url is None and s.kafka_bootstrap is None
    assert s.partitions == 6
    assert s.topics.inputs["signals"] == "plant.control.signals"
    assert "plant.control.signals.dlq" in s.topics.all_with_dlq()


def test_settings_unknown_key_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECURSOR_DATABSE_URL", "postgresql://x")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    # a typo is named with the setting it most likely meant; a stray name only by itself
    assert "PRECURSOR_DATABSE_URL (did you mean PRECURSOR_DATABASE_URL?)" in str(caught.value)
    monkeypatch.setenv("PRECURSOR_SCORERS", "2")
    with pytest.raises(ConfigurationError, match=r"PRECURSOR_SCORERS(,|$)"):
        load_settings()


def test_settings_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECURSOR_PARTITIONS", "zero")
    with pytest.raises(ConfigurationError, match="PRECURSOR_PARTITIONS"):
        load_settings()


def test_settings_log_level_is_checked_and_case_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECURSOR_LOG_LEVEL", "warning")
    assert load_settings().log_level == "WARNING"
    monkeypatch.setenv("PRECURSOR_LOG_LEVEL", "loud")
    with pytest.raises(ConfigurationError, match="PRECURSOR_LOG_LEVEL"):
        load_settings()


def test_shift_pattern_is_parsed_sorted_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().shift_pattern.mean_hours == 12  # day=06:00,night=18:00 UTC
    monkeypatch.setenv("PRECURSOR_PLANT_TIMEZONE", "Australia/Perth")
    monkeypatch.setenv("PRECURSOR_SHIFTS", " night = 22:00, day=6:00,swing=14:00")
    pattern = load_settings().shift_pattern
    assert pattern.timezone == "Australia/Perth"
    assert [(n, t.isoformat("minutes")) for n, t in pattern.starts] == [
        ("day", "06:00"), ("swing", "14:00"), ("night", "22:00")
    ]  # fmt: skip
    assert pattern.mean_hours == 8
    for bad, why in [
        ("day=06:00,day=18:00", "names must differ"),
        ("a=06:00,b=06:00", "same time"),
        ("day=25:00", "HH:MM"),
        ("06:00,18:00", "name=HH:MM"),
        ("", "name=HH:MM"),
    ]:
        monkeypatch.setenv("PRECURSOR_SHIFTS", bad)
        with pytest.raises(ConfigurationError, match=f"PRECURSOR_SHIFTS: .*{why}"):
            load_settings()
    monkeypatch.setenv("PRECURSOR_SHIFTS", "day=06:00")
    monkeypatch.setenv("PRECURSOR_PLANT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match="PRECURSOR_PLANT_TIMEZONE: 'Mars/Olympus'"):
        load_settings()


def test_settings_hide_the_database_password_and_are_frozen() -> None:
    s = Settings(database_url="postgresql://u:hunter2@db/x")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    assert s.database_url.get_secret_value().endswith("@db/x")
    with pytest.raises(pydantic.ValidationError):
        s.partitions = 3  # type: ignore[misc]


def test_kafka_security_settings_become_client_options(monkeypatch) -> None:
    from precursor.core.kafka import security
    from precursor.core.settings import load_settings

    assert security(load_settings()) == {}
    monkeypatch.setenv("PRECURSOR_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("PRECURSOR_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("PRECURSOR_KAFKA_SASL_USERNAME", "ingest")
    monkeypatch.setenv("PRECURSOR_KAFKA_SASL_PASSWORD", "s3cret")
    s = load_settings()
    assert "s3cret" not in repr(s)
    assert security(s) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ingest",
        "sasl_plain_password": "s3cret",
    }
    monkeypatch.setenv("PRECURSOR_KAFKA_SECURITY_PROTOCOL", "TLS-ish")
    import pytest

    from precursor.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="PRECURSOR_KAFKA_SECURITY_PROTOCOL"):
        load_settings()
