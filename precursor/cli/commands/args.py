"""Argument types shared by subcommands: each turns bad input into a one-line argparse error."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

# Simulated plants: a typo of a few zeros in the days would plan for minutes before the first
# progress bar; the scoring grid's buckets are 15 min, so coarser snapshots leave some empty.
SIM_MAX_DAYS = 3650
SIM_MAX_INTERVAL_S = 900
# Plants and benchmarks are built in memory: past these a typo runs out of memory, not time.
MAX_ASSETS = 10_000
BENCH_MAX_SAMPLES = 20_000_000
MAX_TAGS_PER_MESSAGE = 1000
# bench api: each client holds a connection (a file descriptor); each request is kept for its
# latency percentiles.
BENCH_MAX_CLIENTS = 1000
BENCH_MAX_REQUESTS = 1_000_000


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def existing_file(text: str) -> Path:
    """A path to a file that is there (given explicitly, a missing one is a mistake)."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def positive_int(text: str) -> int:
    """A whole number > 0."""
    value = _whole(text, "a whole number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def _at_most(limit: int, what: str) -> Callable[[str], int]:
    """A type for a whole number 1..limit of `what`."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"at most {limit:,} {what}, not {value:,}")
        return value

    return parse


# A plant's assets (simulated, demo or benchmarked), a benchmark's samples, a snapshot's tags,
# days of a benchmark's synthetic history, an API benchmark's clients and requests.
asset_count = _at_most(MAX_ASSETS, "assets")
sample_count = _at_most(BENCH_MAX_SAMPLES, "samples")
tags_per_message = _at_most(MAX_TAGS_PER_MESSAGE, "tags")
whole_days = _at_most(SIM_MAX_DAYS, "days")
client_count = _at_most(BENCH_MAX_CLIENTS, "clients")
request_count = _at_most(BENCH_MAX_REQUESTS, "requests")


def seed_number(text: str) -> int:
    """A random seed: a whole number >= 0."""
    value = _whole(text, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a whole number >= 0, not {value}")
    return value


def simulated_days(text: str) -> float:
    """Days of a simulated plant: a number > 0, at most SIM_MAX_DAYS."""
    value = positive_float(text)
    if value > SIM_MAX_DAYS:
        raise argparse.ArgumentTypeError(f"at most {SIM_MAX_DAYS} days (ten years), not {text}")
    return value


def snapshot_interval(text: str) -> int:
    """Seconds between a simulated plant's snapshots: 1..SIM_MAX_INTERVAL_S."""
    value = _whole(text, "a whole number")
    if not 1 <= value <= SIM_MAX_INTERVAL_S:
        raise argparse.ArgumentTypeError(
            f"must be 1-{SIM_MAX_INTERVAL_S} s (a snapshot in every 15-min scoring bucket), "
            f"not {value}"
        )
    return value


def port_number(text: str) -> int:
    """A TCP port, 0-65535 (0: the system picks a free one)."""
    value = _whole(text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {value}")
    return value


def http_url(text: str) -> str:
    """An http(s) URL with a host, without a trailing slash."""
    parsed = urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.rstrip("/")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def positive_float(text: str) -> float:
    """A number > 0."""
    value = _number(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0: {text}")
    return value


MAX_SEEDS = 1000


def days_list(text: str) -> list[float]:
    """Numbers of days (as simulated_days), comma-separated (`60,90,120`), each once, in the
    order given."""
    try:
        return list(dict.fromkeys(simulated_days(part.strip()) for part in text.split(",")))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"days are positive numbers up to {SIM_MAX_DAYS}, comma-separated (e.g. 60,90,120): "
            f"{text!r}"
        ) from None


def seed_list(text: str) -> list[int]:
    """Seeds as `8-15`, `7,9,11` or a mix (`7,8-10`): whole numbers >= 0, each once, at most
    MAX_SEEDS (each is minutes of work)."""
    seeds: dict[int, None] = {}
    try:
        for part in text.split(","):
            lo, sep, hi = part.strip().partition("-")
            first = int(lo)
            last = int(hi) if sep else first
            if first < 0 or last < first:
                raise ValueError
            seeds.update(dict.fromkeys(range(first, min(last, first + MAX_SEEDS) + 1)))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds are whole numbers >= 0 or ranges like 8-15, comma-separated: {text!r}"
        ) from None
    if len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS} seeds, not {text!r}")
    return list(seeds)


def timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp with an offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"timestamp needs an offset (e.g. Z): {text!r}")
    return value


class Destination(argparse.Action):
    """`--to kafka` or `--to files DIR`, stored as ("kafka", None) or ("files", DIR)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        kwargs.setdefault("default", ("kafka", None))
        kwargs.setdefault("metavar", "kafka|files DIR")
        super().__init__(option_strings, dest, nargs="+", **kwargs)  # type: ignore[arg-type]

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        words: list[str],  # type: ignore[override]
        option_string: str | None = None,
    ) -> None:
        if words == ["kafka"]:
            value: tuple[str, Path | None] = ("kafka", None)
        elif len(words) == 2 and words[0] == "files":
            value = ("files", Path(words[1]))
        else:
            raise argparse.ArgumentError(
                self, f"takes `kafka` or `files DIR`, not {' '.join(words)!r}"
            )
        setattr(namespace, self.dest, value)
