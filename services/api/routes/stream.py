"""GET /v1/alerts/stream: server-sent events, resumable with Last-Event-ID."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from precursor.core.errors import InvalidInput
from precursor.core.metrics import API_SSE_CLIENTS
from services.api.deps import Caller, Pool
from services.api.events import events_after, latest_event_id
from services.api.schemas.common import ERRORS

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=ERRORS)


def _start_id(header: str | None, query: int | None) -> int | None:
    if query is not None:
        return query
    if header is None or not header.strip():
        return None
    try:
        value = int(header.strip())
    except ValueError:
        raise InvalidInput("Last-Event-ID must be an event id (an integer)") from None
    if not 0 <= value < 2**63:
        raise InvalidInput("Last-Event-ID is out of range")
    return value


@router.get(
    "/stream",
    summary="Alert events as server-sent events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "event stream"}},
)
async def stream(
    request: Request,
    pool: Pool,
    _: Caller,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=30)] = None,
    after: Annotated[
        int | None, Query(ge=0, le=2**62, description="resume after this event id")
    ] = None,
) -> EventSourceResponse:
    """Events `opened`, `escalated`, `acknowledged`, `closed`; each `id` is the event id, so
    a reconnecting client (Last-Event-ID, or `after=`) misses nothing."""
    start = _start_id(last_event_id, after)
    if start is None:
        start = await run_in_threadpool(latest_event_id, pool)
    hub = request.app.state.hub

    async def generate() -> AsyncIterator[dict]:
        last = start
        API_SSE_CLIENTS.inc()
        try:
            yield {"event": "ready", "data": orjson.dumps({"after": last}).decode()}
            while True:
                batch = await run_in_threadpool(events_after, pool, last)
                for e in batch:
                    last = e["event_id"]
                    yield {
                        "id": str(last),
                        "event": e["kind"],
                        "data": orjson.dumps(e["payload"]).decode(),
                    }
                if len(batch) < 500:
                    await hub.wait()
        finally:
            API_SSE_CLIENTS.dec()

    return EventSourceResponse(generate(), ping=15)
