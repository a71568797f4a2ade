"""The API key `up --demo` opens its console with: made once per data dir and kept there."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

KEY_FILE = "demo-console-key"
KEY_NAME = "demo console (up --demo)"


def demo_console_key(conn: psycopg.Connection, data_dir: Path) -> str:
    """The demo's admin key: the one kept in the data dir while it still signs in, else a new
    one (first run, or the old one was revoked), written there readable by its owner only."""
    from services.api.keys import create_key, resolve

    path = data_dir / KEY_FILE
    try:
        kept = path.read_text().strip()
    except OSError:
        kept = ""
    if kept and resolve(conn, kept) is not None:
        conn.commit()
        return kept
    _, secret = create_key(conn, KEY_NAME, "admin")
    conn.commit()
    # Written only once it is stored: a key file never names a key the database lacks.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret
