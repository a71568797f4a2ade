"""How a child's end is reported: exit codes, and the signal a stopped child died of."""

from __future__ import annotations

import signal
import subprocess
import sys

from precursor.core.runtime.processes import exit_text, stop_process


def test_a_child_stopped_by_sigterm_reads_as_that_signal_not_as_a_negative_exit() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    code = stop_process(child, signal.SIGTERM, timeout=10)
    assert code == -signal.SIGTERM
    assert exit_text(code) == "signal SIGTERM"


def test_exit_codes_and_unknown_states_read_plainly() -> None:
    done = subprocess.run([sys.executable, "-c", "raise SystemExit(3)"], check=False)
    assert exit_text(done.returncode) == "exit 3"
    assert exit_text(0) == "exit 0"
    assert exit_text(None) == "still running"
    assert exit_text(-200) == "signal 200"
