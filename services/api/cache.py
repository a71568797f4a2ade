"""Serialized responses of the hot read routes, valid while the data has not changed.

The alert hub counts PostgreSQL notifications (new scores, alert changes); a response is
stored under the generation read *before* its query, so a change committed mid-query makes it
a miss rather than a stale hit. A TTL bounds the age regardless."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

import orjson
from fastapi import Response
from starlette.concurrency import run_in_threadpool

TTL_S = 30.0
MAX_ITEMS = 512


class ResponseCache:
    """A small LRU of JSON bodies keyed by route and parameters."""

    def __init__(self, ttl_s: float = TTL_S, max_items: int = MAX_ITEMS):
        self._ttl = ttl_s
        self._max = max_items
        self._items: OrderedDict[Hashable, tuple[object, float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    async def respond(
        self, key: Hashable, generation: object | None, compute: Callable[[], object]
    ) -> Response:
        """The cached body for (key, generation), else `compute()` (run in the threadpool,
        it does blocking I/O) serialized and kept."""
        now = time.monotonic()
        if generation is not None and self._ttl > 0:
            with self._lock:
                hit = self._items.get(key)
                if hit is not None and hit[0] == generation and hit[1] > now:
                    self._items.move_to_end(key)
                    return Response(hit[2], media_type="application/json")
        body = orjson.dumps(await run_in_threadpool(compute))
        if generation is not None and self._ttl > 0:
            with self._lock:
                self._items[key] = (generation, now + self._ttl, body)
                self._items.move_to_end(key)
                while len(self._items) > self._max:
                    self._items.popitem(last=False)
        return Response(body, media_type="application/json")
