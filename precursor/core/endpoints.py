"""endpoints.json: how a running `precursor up` tells other commands where the stack is."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from precursor.core.errors import ConfigurationError
from precursor.core.settings import Settings


@dataclass(frozen=True)
class Endpoints:
    """Addresses of a running stack."""

    database_url: str
    kafka_bootstrap: str
    api_url: str | None
    mlflow_tracking_uri: str
    metrics_url: str | None = None
    pid: int | None = None


def without_password(url: str) -> str:
    """A database or tracking URL (or key=value conninfo) fit to print: any password as ***."""
    parts = urlsplit(url)
    if parts.scheme and parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)


def write_endpoints(path: Path, endpoints: Endpoints) -> None:
    """Write atomically, readable by the owner only (the URL may hold a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(endpoints), indent=2) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_endpoints(path: Path) -> Endpoints | None:
    """The endpoints of a running `up`, or None when there is no (live) file."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    pid = raw.get("pid")
    if pid is not None and not _alive(int(pid)):
        return None  # a stale file left by an `up` that was killed
    fields = Endpoints.__dataclass_fields__
    return Endpoints(**{k: v for k, v in raw.items() if k in fields})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def resolve(settings: Settings, *, need_kafka: bool = True) -> Settings:
    """Fill unset database URL / bootstrap from a running `up`; fail with a one-line hint."""
    update: dict[str, object] = {}
    found = None
    if settings.database_url is None or (need_kafka and settings.kafka_bootstrap is None):
        found = read_endpoints(settings.endpoints_path)
        if found is None:
            missing = "PRECURSOR_DATABASE_URL" if settings.database_url is None else ""
            if need_kafka and settings.kafka_bootstrap is None:
                missing = " and ".join(filter(None, [missing, "PRECURSOR_KAFKA_BOOTSTRAP"]))
            raise ConfigurationError(
                f"no running stack found at {settings.endpoints_path}: "
                f"start `precursor up` or set {missing}"
            )
        if settings.database_url is None:
            update["database_url"] = SecretStr(found.database_url)
        if settings.kafka_bootstrap is None:
            update["kafka_bootstrap"] = found.kafka_bootstrap
        if settings.mlflow_tracking_uri is None:
            update["mlflow_tracking_uri"] = found.mlflow_tracking_uri
    return settings.model_copy(update=update) if update else settings
