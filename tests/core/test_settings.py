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
    with pytest.raises(ConfigurationError, match="PRECURSOR_DATABSE_URL"):
        load_settings()


def test_settings_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECURSOR_PARTITIONS", "zero")
    with pytest.raises(ConfigurationError, match="PRECURSOR_PARTITIONS"):
        load_settings()


def test_settings_hide_the_database_password_and_are_frozen() -> None:
    s = Settings(database_url="postgresql://u:hunter2@db/x")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    assert s.database_url.get_secret_value().endswith("@db/x")
    with pytest.raises(pydantic.ValidationError):
        s.partitions = 3  # type: ignore[misc]
