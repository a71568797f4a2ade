"""The product's exception hierarchy: one root, small meaningful subclasses."""

from __future__ import annotations


class PrecursorError(Exception):
    """Root of every error Precursor raises on purpose; the CLI prints these as one line."""


class ConfigurationError(PrecursorError):
    """A setting is missing, unknown or inconsistent."""


class RuntimeStartError(PrecursorError):
    """An embedded service (PostgreSQL, broker) could not be started."""


class DatabaseUnavailable(PrecursorError):
    """The database cannot be reached: callers back off and retry (backpressure)."""


class BrokerUnavailable(PrecursorError):
    """The Kafka bootstrap address does not answer."""


class MigrationError(PrecursorError):
    """A schema migration failed or the recorded history does not match the files."""


class RequestError(PrecursorError):
    """A request the caller must change; the API maps `status` and `code` to its JSON error."""

    status = 400
    code = "bad_request"


class NotFound(RequestError):
    """The named thing does not exist."""

    status = 404
    code = "not_found"


class Conflict(RequestError):
    """The request conflicts with the current state (stale version, closed alert)."""

    status = 409
    code = "conflict"


class InvalidInput(RequestError):
    """A value is well-formed but not acceptable (range, order, unknown name)."""

    status = 422
    code = "invalid"
