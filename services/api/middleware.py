"""Request metrics as plain ASGI middleware (it must not buffer the SSE stream)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from precursor.core.metrics import API_IN_FLIGHT, API_REQUEST_SECONDS

METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"})


class RequestMetrics:
    """Latency by method, route template and status, and requests in flight."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        API_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            API_IN_FLIGHT.dec()
            route = scope.get("route")
            # Templates, never raw paths: label values stay bounded by the routes.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in METHODS else "other"
            API_REQUEST_SECONDS.labels(method, template, str(status)).observe(
                time.perf_counter() - started
            )
