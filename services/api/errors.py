"""The API's error body: every 4xx/5xx is {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from precursor.core.errors import DatabaseUnavailable, RequestError

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


class Unauthorized(RequestError):
    """No key, or a key that is unknown or revoked."""

    status = 401
    code = "unauthorized"


class Forbidden(RequestError):
    """A valid key whose role may not do this."""

    status = 403
    code = "forbidden"


def error_response(
    status: int, code: str, message: str, headers: dict | None = None, **extra: object
) -> JSONResponse:
    """The one JSON error shape."""
    body: dict = {"code": code, "message": message, **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _location(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install(app: FastAPI) -> None:
    """Register the handlers that map every error to the JSON body."""

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":  # not a field's value: the body is no JSON
            at, why = first.get("loc", ("body", "?"))[-1], first.get("ctx", {}).get("error", "")
            message = f"the request body is not valid JSON (at character {at}: {why})"
            return error_response(400, "bad_request", message)
        if tuple(first.get("loc", ())) == ("body",) and isinstance(first.get("input"), bytes):
            # A body FastAPI did not parse as JSON: sent without its content type (curl -d).
            message = "the request body must be JSON sent with Content-Type: application/json"
            return error_response(400, "bad_request", message)
        details = [
            {"field": _location(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
            for e in errors[:20]
        ]
        message = f"{_location(tuple(first.get('loc', ())))}: {first.get('msg', 'invalid')}"
        return error_response(422, "invalid", message, details=details)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), exc.headers)

    @app.exception_handler(psycopg.errors.DataError)
    async def data_error(request: Request, exc: psycopg.errors.DataError) -> JSONResponse:
        # A value PostgreSQL cannot represent (out-of-range time, bad text) is the caller's.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid value"
        return error_response(422, "invalid", first)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("database unavailable: %s", exc)
        return error_response(
            503,
            "unavailable",
            "the database is not reachable; retry shortly",
            {"Retry-After": "5"},
        )

    for cls in (DatabaseUnavailable, PoolTimeout, psycopg.OperationalError):
        app.add_exception_handler(cls, unavailable)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; see the server log")
