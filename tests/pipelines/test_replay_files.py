"""A replay's asset registry file: read as written, refused line by line when it is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipelines.replay.files import read_assets
from precursor.core.errors import PrecursorError

CONVEYOR = {
    "asset_id": "CV-01",
    "name": "belt conveyor CV-01",
    "kind": "belt_conveyor",
    "site": "north",
    "area": "conveying",
    "criticality": 4,
    "attributes": {"simulated": True, "tags": ["load_tph"]},
}


def _write(directory: Path, *lines: bytes) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "assets.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (directory / "signals.jsonl").write_bytes(b'{"asset_id": "CV-01", "ts": 0, "signals": {}}\n')
    return directory


def test_assets_are_read_as_written_with_the_registry_defaults(tmp_path: Path) -> None:
    text = {**CONVEYOR, "attributes": {"note": "a backslash: \\u0000 is text here"}}
    directory = _write(tmp_path / "plant", orjson.dumps(text), b"", b'{"asset_id": "PP-01"}')
    first, second = read_assets(directory)
    assert first == text
    assert second == {
        "asset_id": "PP-01", "name": None, "kind": None, "site": None, "area": None,
        "criticality": 3, "attributes": {},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"asset_id": "PP-01", "criticality": 9}', "criticality"),
        (b'{"asset_id": "PP-01", "criticality": "high"}', "criticality"),
        (b'{"kind": "slurry_pump"}', "asset_id"),
        (b'{"asset_id": "PP\\n01"}', "asset_id"),
        (b'{"asset_id": "PP-01", "attributes": [1]}', "attributes"),
        (b'{"asset_id": "PP-01", "attributes": {"tags": ["a\\u0000"]}}', "attributes.*NUL"),
        (b'{"asset_id": "PP-01",', "not valid JSON"),
    ],
)
def test_a_bad_asset_line_is_an_error_naming_the_line(
    tmp_path: Path, line: bytes, reason: str
) -> None:
    directory = _write(tmp_path / "plant", orjson.dumps(CONVEYOR), line)
    with pytest.raises(PrecursorError, match=rf"assets\.jsonl line 2: .*{reason}"):
        read_assets(directory)


def test_replay_files_refuses_a_bad_registry_in_one_line_before_connecting(tmp_path: Path) -> None:
    """No stack runs here: the registry is checked before anything is connected to."""
    directory = _write(tmp_path / "plant", orjson.dumps(CONVEYOR), b'{"asset_id": ""}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECURSOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "precursor", "replay", "files", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PRECURSOR_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("precursor replay: error: ")
    assert "assets.jsonl line 2: asset_id:" in result.stderr
