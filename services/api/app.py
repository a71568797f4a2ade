"""FastAPI application factory: the lifespan opens the pool; nothing connects at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from precursor import __version__
from precursor.core.db import open_pool
from precursor.core.errors import DatabaseUnavailable
from precursor.core.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app for these settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            app.state.pool = open_pool(settings, min_size=1, max_size=8, timeout=10)
        except DatabaseUnavailable:
            app.state.pool = None  # /readyz says so; the process stays up
        yield
        if app.state.pool is not None:
            app.state.pool.close()

    app = FastAPI(title="Precursor", version=__version__, lifespan=lifespan)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        pool = request.app.state.pool
        if pool is None:
            return _not_ready("database not reachable")
        try:
            with pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # any failure means not ready, with the reason
            return _not_ready(f"database not reachable: {type(exc).__name__}")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "not_ready", "message": reason}}, status_code=503)
