"""Dependencies as Annotated aliases: the pool, a connection, the settings, the caller's role."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from models.rating import RiskMatrix
from models.shifts import ShiftPattern
from precursor.core.errors import DatabaseUnavailable
from precursor.core.settings import Settings
from services.api.errors import Forbidden, Unauthorized
from services.api.keys import Principal, hash_key, resolve

_bearer = HTTPBearer(auto_error=False, description="an API key from `precursor apikey create`")


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


async def get_pool(request: Request) -> ConnectionPool:
    """The process's pool; 503 while the database was unreachable at start."""
    pool = request.app.state.pool
    if pool is None:
        raise DatabaseUnavailable("database not reachable")
    return pool


async def get_matrix(request: Request) -> RiskMatrix:
    """The rating matrix from settings."""
    return request.app.state.matrix


async def get_shifts(request: Request) -> ShiftPattern:
    """The plant's shift pattern from settings."""
    return request.app.state.settings.shift_pattern


SettingsDep = Annotated[Settings, Depends(get_settings)]
Shifts = Annotated[ShiftPattern, Depends(get_shifts)]
Pool = Annotated[ConnectionPool, Depends(get_pool)]
Matrix = Annotated[RiskMatrix, Depends(get_matrix)]


async def get_principal(
    request: Request,
    pool: Pool,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller behind the bearer key; 401 when missing, unknown or revoked. Async so that
    a cached key costs no thread hop; a lookup runs in the threadpool."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing API key: send `Authorization: Bearer <key>`")
    secret = credentials.credentials
    if len(secret) > 200 or "\x00" in secret:
        raise Unauthorized("unknown or revoked API key")
    cache: dict = request.app.state.key_cache
    ttl = request.app.state.settings.api_key_cache_s
    now = time.monotonic()
    digest = hash_key(secret)  # the cache never holds a secret
    hit = cache.get(digest)
    if hit is not None and hit[1] > now:
        principal = hit[0]
    else:
        principal = await run_in_threadpool(_lookup, pool, secret)
        if principal is not None and ttl > 0:
            if len(cache) > 10_000:
                cache.clear()  # bounded: keys are few, so only garbage fills it
            cache[digest] = (principal, now + ttl)
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    return principal


def _lookup(pool: ConnectionPool, secret: str) -> Principal | None:
    with pool.connection() as conn:
        return resolve(conn, secret)


Caller = Annotated[Principal, Depends(get_principal)]


def get_conn(pool: Pool, _: Caller) -> Iterator[psycopg.Connection]:
    """A pooled connection for one request; committed when the handler returns normally.
    It depends on the caller so that the key lookup's connection is back in the pool before
    this one is taken: a request never holds two (which could starve the pool)."""
    with pool.connection() as conn:
        yield conn


Conn = Annotated[psycopg.Connection, Depends(get_conn)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through `roles` (and admin), else 403."""

    async def check(principal: Caller) -> Principal:
        if not principal.has(*roles):
            allowed = ", ".join((*roles, "admin"))
            raise Forbidden(f"role {principal.role} may not do this (needs one of: {allowed})")
        return principal

    return check


OperatorCaller = Annotated[Principal, Depends(require("operator"))]
HseCaller = Annotated[Principal, Depends(require("hse"))]
ReliabilityCaller = Annotated[Principal, Depends(require("reliability"))]
AnalystCaller = Annotated[Principal, Depends(require("reliability", "hse"))]
