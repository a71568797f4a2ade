"""SIGINT / SIGTERM set the stop event even when they land while the event's lock is held."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# The main thread holds the Event's internal lock (as it does for an instant inside
# Event.wait) when SIGINT arrives. A handler that calls stop.set() itself then waits for that
# lock forever; `up` once hung exactly so on Ctrl-C.
CHILD = textwrap.dedent(
    """
    import os, signal, threading, time
    from precursor.core.signals import stop_on_signals

    stop = stop_on_signals(threading.Event()) if MODE == "product" else threading.Event()
    if MODE == "handler":
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    with stop._cond:  # CPython's Event keeps its lock here
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)  # the Python-level handler runs during these bytecodes
    print("stopped" if stop.wait(10) else "not stopped", flush=True)
    """
)


def _run(mode: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"MODE = {mode!r}\n{CHILD}"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_signal_while_the_event_lock_is_held_still_stops_the_process() -> None:
    done = _run("product", timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"


def test_the_old_handler_would_hang_there_so_the_case_is_real() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        _run("handler", timeout=5)  # it hangs for good; 5 s is plenty for Python to start
