"""The plant's shift pattern: named shifts by their local start time in the plant's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SHIFTS = "day=06:00,night=18:00"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def plant_zone(name: str) -> ZoneInfo:
    """The IANA time zone by name, or ValueError saying what is wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Australia/Perth'") from None


@dataclass(frozen=True)
class ShiftPattern:
    """Shifts named by local start time; each runs until the next one starts (the last one
    until the first one's start the next day)."""

    timezone: str
    starts: tuple[tuple[str, time], ...]  # (name, local start), earliest first

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> ShiftPattern:
        """'day=06:00,night=18:00' in a time zone, or ValueError saying what is wrong."""
        plant_zone(timezone)
        starts: list[tuple[str, time]] = []
        for item in text.split(","):
            name, sep, clock = (part.strip() for part in item.partition("="))
            if not sep or not _NAME.fullmatch(name):
                raise ValueError(
                    f"{item.strip()!r}: write each shift as name=HH:MM, e.g. {DEFAULT_SHIFTS}"
                )
            match = _CLOCK.fullmatch(clock)
            if match is None:
                raise ValueError(f"{item.strip()!r}: the start must be a time HH:MM")
            starts.append((name, time(int(match[1]), int(match[2]))))
        names = [n for n, _ in starts]
        if len(set(names)) != len(names):
            raise ValueError("shift names must differ")
        if len({t for _, t in starts}) != len(starts):
            raise ValueError("no two shifts may start at the same time")
        return cls(timezone, tuple(sorted(starts, key=lambda s: s[1])))

    @property
    def mean_hours(self) -> float:
        """The average shift length: 24 h over the number of shifts."""
        return 24.0 / len(self.starts)
