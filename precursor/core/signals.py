"""SIGINT / SIGTERM turned into a stop event, without ever taking a lock in a signal handler."""

from __future__ import annotations

import signal
import socket
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_keep: list[tuple[socket.socket, socket.socket]] = []  # wakeup sockets, open for the process's life


def stop_on_signals(stop: threading.Event) -> threading.Event:
    """Set `stop` when SIGINT or SIGTERM arrives (call from the main thread).

    A Python signal handler runs in the main thread between two bytecodes, possibly while that
    thread is inside `stop.wait()` holding the Event's internal lock; `stop.set()` from the
    handler then waits for that lock forever. It happened: `up` once ignored every Ctrl-C with
    its main thread stuck in `Event.set` inside `Event.wait`. So the handlers do nothing; the
    interpreter's C-level handler writes each signal's number to a socket (`set_wakeup_fd`,
    async-signal-safe), and a thread of its own reads it and sets the event."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    _keep.append((reader, writer))  # open for the life of the process
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _ignore)  # replaces KeyboardInterrupt / the default exit
    wanted = {int(s) for s in STOP_SIGNALS}

    def watch() -> None:
        while data := reader.recv(64):
            if wanted.intersection(data):
                stop.set()

    threading.Thread(target=watch, name="stop-signals", daemon=True).start()
    return stop


def _ignore(signum: int, frame: object) -> None:
    """The Python-level handler: the wakeup byte already carries the signal."""
