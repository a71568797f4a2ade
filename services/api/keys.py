"""API keys: create (shown once), list, revoke, and resolve a presented key to its role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from precursor.core.errors import InvalidInput, NotFound

ROLES = ("operator", "reliability", "hse", "admin")
KEY_PREFIX = "prc_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, its human name and its role."""

    key_id: str
    name: str
    role: str

    def has(self, *roles: str) -> bool:
        """True when the role is one of `roles`; admin can do everything."""
        return self.role == "admin" or self.role in roles


def hash_key(secret: str) -> bytes:
    """The stored form of a key."""
    return hashlib.sha256(secret.encode()).digest()


def create_key(conn: psycopg.Connection, name: str, role: str) -> tuple[str, str]:
    """Store a new key; returns (key_id, secret). The secret is not kept anywhere."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 200 or "\x00" in name:
        raise InvalidInput("the key name must be 1-200 printable characters")
    key_id = "k_" + secrets.token_hex(4)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_keys (key_id, name, role, key_hash) VALUES (%s, %s, %s, %s)",
        (key_id, name.strip(), role, hash_key(secret)),
    )
    return key_id, secret


def list_keys(conn: psycopg.Connection) -> list[dict]:
    """Every key's id, name, role and dates (never the secret), oldest first."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT key_id, name, role, created_at, revoked_at, last_used_at FROM api_keys "
            "ORDER BY created_at, key_id"
        )
        .fetchall()
    )


def revoke_key(conn: psycopg.Connection, key_id: str) -> datetime:
    """Revoke a key by id; returns when. Revoking twice keeps the first time."""
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s "
        "RETURNING revoked_at",
        (key_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no API key with id {key_id!r} (see `precursor apikey list`)")
    return row[0]


def resolve(conn: psycopg.Connection, secret: str) -> Principal | None:
    """The principal of a presented key, or None when it is unknown or revoked."""
    row = conn.execute(
        "UPDATE api_keys SET last_used_at = now() WHERE key_hash = %s AND revoked_at IS NULL "
        "RETURNING key_id, name, role",
        (hash_key(secret),),
    ).fetchone()
    return Principal(*row) if row else None
