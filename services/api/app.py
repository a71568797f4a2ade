"""FastAPI application factory: the lifespan opens the pool, starts the alert listener and
the registry watcher; nothing connects at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from precursor import __version__
from precursor.core.db import database_url, open_pool
from precursor.core.settings import Settings
from services.api import errors
from services.api.cache import ResponseCache
from services.api.events import AlertHub
from services.api.middleware import RequestMetrics
from services.api.models_view import models_snapshot
from services.api.params import known_query_only
from services.api.routes import alerts, assets, downtime, forecast, operations, register, stream
from services.predict.policy import matrix_from

logger = logging.getLogger(__name__)

CONSOLE = Path(__file__).parent / "console"

DESCRIPTION = """Early warnings, the HSE risk register, downtime root cause and KPIs.

Authenticate with `Authorization: Bearer <key>`; keys come from
`precursor apikey create --role ROLE --name NAME`. Errors are
`{"error": {"code": ..., "message": ...}}`."""


# Every /v1 router; the stream route comes before /{alert_id} so "stream" is not taken for an id.
ROUTERS = (
    assets.router,
    forecast.router,
    stream.router,
    alerts.router,
    register.router,
    downtime.router,
    operations.router,
)


def create_app(settings: Settings) -> FastAPI:
    """Build the app for these settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Not waiting: while the database is away the API stays up and answers 503, and the
        # pool reconnects by itself when it is back.
        app.state.pool = open_pool(settings, min_size=2, max_size=10, timeout=5, wait=False)
        app.state.hub = AlertHub(database_url(settings))
        app.state.hub.start()
        yield
        await app.state.hub.stop()
        app.state.pool.close()

    app = FastAPI(
        title="Precursor",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.matrix = matrix_from(settings)
    app.state.key_cache = {}
    app.state.cache = ResponseCache(ttl_s=settings.api_cache_s)
    app.state.pool = None
    errors.install(app)
    app.add_middleware(RequestMetrics)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(known_query_only)])

    # The operator console: static files, no build step (services/api/console).
    app.mount("/console", StaticFiles(directory=CONSOLE), name="console")

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(CONSOLE / "index.html")

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
                models = models_snapshot(conn)
        except Exception as exc:  # any failure means not ready, with the reason
            return _not_ready(f"database not reachable: {type(exc).__name__}")
        if models["champion"] is None:
            return _not_ready(models["detail"]["error"])
        return JSONResponse({"status": "ready", "champion": models["champion"]})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "not_ready", "message": reason}}, status_code=503)
