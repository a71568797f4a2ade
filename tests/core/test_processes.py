"""Child-process plumbing: how a child's end is reported, its log stays bounded, and a dead
embedded server is restarted or reported."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from precursor.core.errors import RuntimeStartError
from precursor.core.runtime import stack as stack_module
from precursor.core.runtime.broker import EmbeddedBroker
from precursor.core.runtime.processes import LOG_FILE_ENV, exit_text, open_log, stop_process
from precursor.core.runtime.stack import Stack
from precursor.core.settings import Settings
from tests.helpers import wait_for


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


def test_a_log_past_its_size_is_kept_once_as_dot_1_and_a_small_one_is_appended(
    tmp_path: Path,
) -> None:
    log = tmp_path / "logs" / "scorer.log"
    with open_log(log, rotate_bytes=10) as fh:  # creates the directory
        fh.write(b"first run\n")
    with open_log(log, rotate_bytes=10) as fh:  # 10 bytes: not past the limit, appended
        fh.write(b"second\n")
    assert log.read_bytes() == b"first run\nsecond\n"
    with open_log(log, rotate_bytes=10) as fh:
        fh.write(b"third\n")
    assert (tmp_path / "logs" / "scorer.log.1").read_bytes() == b"first run\nsecond\n"
    assert log.read_bytes() == b"third\n"
    log.write_bytes(b"x" * 11)
    with open_log(log, rotate_bytes=10):
        pass
    assert (tmp_path / "logs" / "scorer.log.1").read_bytes() == b"x" * 11  # the older one goes
    assert log.read_bytes() == b""


_LOGGING_SERVICE = """
import logging, sys
from precursor.cli.main import _configure_logging
from precursor.core.settings import load_settings
_configure_logging("INFO", False, load_settings().log_file)  # as main() does
logging.getLogger().handlers[0].maxBytes = 2000  # the real limit is 20 MB
print("printed before", flush=True)
for i in range(100):
    logging.getLogger("precursor.test").info("line %03d %s", i, "x" * 40)
print("printed after", flush=True)
sys.stderr.write("stderr after\\n")
"""


def test_a_service_started_by_up_rotates_its_log_while_it_runs(tmp_path: Path) -> None:
    """`up` hands the child its log as stdout/stderr and names it in PRECURSOR_LOG_FILE; the
    child's logging rotates the file, and what it prints afterwards follows into the new one."""
    log = tmp_path / "logs" / "scorer.log"
    env = {**os.environ, LOG_FILE_ENV: str(log)}
    with open_log(log) as fh:
        subprocess.run(
            [sys.executable, "-c", _LOGGING_SERVICE],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
            check=True,
            timeout=60,
        )
    current, older = log.read_text(), log.with_name("scorer.log.1").read_text()
    assert "precursor.test: line 099" in current
    assert "printed after" in current and "stderr after" in current
    assert "printed after" not in older
    assert "line 000" not in current
    assert log.stat().st_size <= 2000 + 200  # one record past the limit at most


def test_up_gives_up_on_a_broker_that_cannot_come_back_with_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module.time, "sleep", lambda _: None)  # skip the back-off
    stack = Stack(Settings(data_dir=tmp_path))
    stack.broker = EmbeddedBroker(tmp_path / "logs").start()
    port = stack.broker.port
    try:
        os.kill(stack.broker.pid, signal.SIGKILL)
        wait_for(lambda: stack.broker.ended is not None, 10, "the broker to die")
        with socket.socket() as squatter:  # someone else takes its port meanwhile
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            for _ in range(stack_module.MAX_RESTARTS):
                stack.supervise()  # each attempt fails on the taken port and is logged
            with pytest.raises(RuntimeStartError, match="embedded broker keeps failing"):
                stack.supervise()
    finally:
        stack.broker.stop()


def test_children_of_up_keep_progress_bars_out_of_their_logs(tmp_path: Path) -> None:
    """A service's stdout is its log file: tqdm, told by the child environment, draws nothing."""
    stack = Stack(Settings(data_dir=tmp_path, database_url="postgresql://x@h/db",
                           kafka_bootstrap="h:9092"))  # fmt: skip
    # As the commands draw their bars: an explicit `disable` (tqdm lets it win over TQDM_*).
    code = (
        "from tqdm import tqdm\nfrom precursor.core.progress import no_bar\n"
        "for _ in tqdm(range(3), desc='train', disable=no_bar(False)): pass\nprint('done')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=stack.child_env(), capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout == "done\n" and "train" not in out.stderr
