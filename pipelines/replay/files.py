"""Replays a directory of JSONL files in the topic format (what `simulate --to files` writes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from pipelines.simulate.sinks import STREAMS
from precursor.core.contracts import AssetRecord, ContractViolation, decode
from precursor.core.errors import PrecursorError

_MAX_ASSET_BYTES = 1 << 20


def stream_files(directory: Path) -> dict[str, Path]:
    """The stream files present in `directory`; an error when there are none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PrecursorError(f"not a directory: {directory}")
    found = {s: directory / f"{s}.jsonl" for s in STREAMS if (directory / f"{s}.jsonl").exists()}
    if not found:
        raise PrecursorError(f"no <stream>.jsonl files ({', '.join(STREAMS)}) in {directory}")
    return found


def read_assets(directory: Path) -> list[dict]:
    """assets.jsonl, if present, each line checked against the registry's contract; a bad line
    is an error naming it, before anything is sent (a registry is not a stream with a DLQ)."""
    path = Path(directory) / "assets.jsonl"
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(decode(AssetRecord, line, _MAX_ASSET_BYTES).model_dump())
        except ContractViolation as exc:
            raise PrecursorError(f"{path} line {number}: {exc.message}") from None
    return records


def lines(path: Path) -> Iterator[tuple[str | None, bytes]]:
    """(key, raw line) per message; the line is sent unchanged, so bad lines reach the DLQ."""
    with open(path, "rb") as fh:
        for raw in fh:
            raw = raw.rstrip(b"\r\n")
            if not raw:
                continue
            try:
                key = orjson.loads(raw).get("asset_id")
            except (orjson.JSONDecodeError, AttributeError):
                key = None
            yield (key if isinstance(key, str) else None), raw


def replay_files(directory: Path, send: Callable[[str, str | None, bytes], None]) -> dict[str, int]:
    """Send every line of every stream file; returns counts per stream."""
    counts = {}
    for stream, path in stream_files(directory).items():
        n = 0
        for key, raw in lines(path):
            send(stream, key, raw)
            n += 1
        counts[stream] = n
    return counts
