"""The message contracts: what is accepted, what is refused, and the rows they become."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from precursor.core.contracts import (
    Alarm,
    ContractViolation,
    DispatchEvent,
    Incident,
    SignalSnapshot,
    decode,
    parse_timestamp,
    signal_rows,
)

LIMIT = 1_000_000
tag_names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=40,
)
finite = st.floats(allow_nan=False, allow_infinity=False)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2199, 1, 1), timezones=st.just(UTC)
)


@given(
    asset=tag_names,
    ts=instants,
    signals=st.dictionaries(tag_names, st.one_of(finite, st.none()), min_size=1, max_size=30),
    quality=st.sampled_from(["good", "uncertain", "bad"]),
)
def test_signal_snapshot_valid_message_gives_one_row_per_non_null_tag(
    asset, ts, signals, quality
) -> None:
    raw = orjson.dumps({"asset_id": asset, "ts": ts.isoformat(), "signals": signals,
                        "quality": quality, "extra": {"ignored": True}})  # fmt: skip
    rows = signal_rows(decode(SignalSnapshot, raw, LIMIT))
    assert len(rows) == sum(v is not None for v in signals.values())
    for row_ts, row_asset, tag, value, row_quality in rows:
        assert (row_ts, row_asset, row_quality) == (ts, asset, quality)
        assert value == signals[tag]


@given(st.binary(max_size=300))
def test_decode_arbitrary_bytes_never_raises_anything_but_a_contract_violation(raw) -> None:
    for model in (SignalSnapshot, Alarm, DispatchEvent, Incident):
        try:
            decode(model, raw, LIMIT)
        except ContractViolation as exc:
            assert exc.code in {"bad_json", "invalid", "oversized", "empty"}


@given(instants.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)))
def test_timestamp_rfc3339_and_epoch_ms_agree(ts: datetime) -> None:
    epoch_ms = round(ts.timestamp() * 1000)
    assert parse_timestamp(epoch_ms) == parse_timestamp(ts.isoformat())


def test_timestamp_offsets_are_normalised_to_utc() -> None:
    assert parse_timestamp("2026-03-01T08:00:00+02:00") == datetime(2026, 3, 1, 6, tzinfo=UTC)
    assert parse_timestamp("2026-03-01T06:00:00Z").tzinfo == UTC


@pytest.mark.parametrize(
    "value", ["2026-03-01T06:00:00", "yesterday", True, 1.5, None, 10**16, -(10**15)]
)
def test_timestamp_without_offset_or_of_wrong_kind_is_refused(value) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{", "bad_json"),
        (b'{"asset_id": "A", "ts": 1, "signals": {"v": "1.0"}}', "invalid"),
        (b'{"asset_id": "A", "ts": 1, "signals": {"v": true}}', "invalid"),
        (b'{"asset_id": "A", "ts": 1, "signals": {"v": 1e999}}', "invalid"),
        (b'{"asset_id": "A", "ts": 1, "signals": {"v": NaN}}', "invalid"),
        (b'{"asset_id": "A", "ts": 1, "signals": {}}', "invalid"),
        (b'{"asset_id": "", "ts": 1, "signals": {"v": 1}}', "invalid"),
        (b'{"asset_id": "A", "ts": 1, "signals": {"v": 1}, "quality": "great"}', "invalid"),
        (b'{"asset_id": "A\\u0000", "ts": 1, "signals": {"v": 1}}', "invalid"),
        (b'{"asset_id": "A\\n", "ts": 1, "signals": {"v": 1}}', "invalid"),
        (b'{"asset_id": "A", "ts": 1, "signals": {"FIC\\u001f101": 1}}', "invalid"),
    ],
)
def test_signal_snapshot_bad_messages_are_refused_with_a_code(raw: bytes, code: str) -> None:
    with pytest.raises(ContractViolation) as info:
        decode(SignalSnapshot, raw, LIMIT)
    assert info.value.code == code


def test_oversized_message_is_refused_before_parsing() -> None:
    raw = orjson.dumps({"asset_id": "A", "ts": 1, "signals": {"v": 1.0}, "pad": "x" * 100})
    with pytest.raises(ContractViolation) as info:
        decode(SignalSnapshot, raw, 50)
    assert info.value.code == "oversized"


def test_dispatch_event_defaults_and_optional_fields() -> None:
    raw = b'{"event_id": "d-1", "asset_id": "HT-07", "ts": "2026-03-01T06:10:00Z", "state": "down"}'
    msg = decode(DispatchEvent, raw, LIMIT)
    assert msg.planned is False and msg.reason_code is None and msg.crew is None


@pytest.mark.parametrize("state", ["running", "idle", "standby", "down", "maintenance"])
def test_dispatch_event_accepts_every_spec_state(state: str) -> None:
    raw = orjson.dumps({"event_id": "e", "asset_id": "A", "ts": 0, "state": state})
    assert decode(DispatchEvent, raw, LIMIT).state == state


def test_alarm_and_incident_ranges_are_enforced() -> None:
    ok = {"asset_id": "A", "ts": 0, "kind": "HIHI", "priority": 1, "state": "cleared"}
    assert decode(Alarm, orjson.dumps(ok), LIMIT).tag is None
    for bad in ({**ok, "priority": 5}, {**ok, "kind": "HIGH"}, {**ok, "state": "on"}):
        with pytest.raises(ContractViolation):
            decode(Alarm, orjson.dumps(bad), LIMIT)
    inc = {"incident_id": "i", "asset_id": "A", "ts": 0, "kind": "fire", "severity": 5}
    assert decode(Incident, orjson.dumps(inc), LIMIT).severity == 5
    with pytest.raises(ContractViolation):
        decode(Incident, orjson.dumps({**inc, "severity": 6}), LIMIT)


def test_null_signal_values_are_skipped_not_zeroed() -> None:
    raw = b'{"asset_id": "A", "ts": 0, "signals": {"a": null, "b": 2.5}}'
    rows = signal_rows(decode(SignalSnapshot, raw, LIMIT))
    assert [(r[2], r[3]) for r in rows] == [("b", 2.5)]
    assert not any(math.isnan(r[3]) for r in rows)
    assert rows[0][0] == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(0)
