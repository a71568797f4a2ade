"""When to draw a progress bar: on a terminal, unless told to be quiet."""

from __future__ import annotations

import os


def no_bar(quiet: bool = False) -> bool | None:
    """tqdm's `disable` for a command's bar: True when the command is quiet (--json, a paced
    run) or TQDM_DISABLE is set, else None, which draws only when stderr is a terminal (a
    service's log file or a piped run gets none). An explicit `disable=False` would override
    TQDM_DISABLE, as tqdm lets arguments win over its environment."""
    if quiet or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        return True
    return None
