"""The HSE risk register: list, create, read, update (optimistic concurrency), history."""

from __future__ import annotations

from fastapi import APIRouter, status

from models.rating import RiskMatrix
from precursor.core.errors import InvalidInput, NotFound
from services.api.deps import Caller, Conn, HseCaller, Matrix
from services.api.params import AssetFilter, EntityId, Limit, TextFilter
from services.api.schemas.common import ERRORS
from services.api.schemas.register import (
    EntryCreate,
    EntryPage,
    EntryPublic,
    EntryUpdate,
    HistoryItem,
    Status,
)
from services.register import store

REQUIRED = ("title", "hazard", "likelihood", "consequence", "status", "measures")

router = APIRouter(prefix="/v1/risk-register", tags=["risk register"], responses=ERRORS)


def public(entry: dict, matrix: RiskMatrix) -> dict:
    """The stored entry plus its residual likelihood and consequence."""
    rl, rc, _ = store.residual(entry["likelihood"], entry["consequence"], entry["measures"], matrix)
    return {**entry, "residual_likelihood": rl, "residual_consequence": rc}


@router.get("", response_model=EntryPage, summary="Register entries")
def list_entries(
    conn: Conn,
    matrix: Matrix,
    _: Caller,
    status: Status | None = None,
    asset_id: AssetFilter = None,
    area: TextFilter = None,
    limit: Limit = 200,
) -> dict:
    """Entries, most recently changed first, filtered by status, asset or area."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT entry_id FROM risk_register "
            "WHERE (%(s)s::text IS NULL OR status = %(s)s) "
            "AND (%(a)s::text IS NULL OR asset_id = %(a)s) "
            "AND (%(r)s::text IS NULL OR area = %(r)s) "
            "ORDER BY updated_at DESC, entry_id DESC LIMIT %(n)s",
            {"s": status, "a": asset_id, "r": area, "n": limit},
        )
    ]
    return {"items": [public(store.get_entry(conn, i), matrix) for i in ids]}


@router.post(
    "",
    response_model=EntryPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an entry",
)
def create_entry(body: EntryCreate, conn: Conn, matrix: Matrix, caller: HseCaller) -> dict:
    """A new entry; rating and residual rating are derived from the matrix in settings."""
    data = body.model_dump(mode="json")
    entry = store.create_entry(conn, data, caller.name, matrix)
    return public(entry, matrix)


@router.get("/{entry_id}", response_model=EntryPublic, summary="One entry")
def get_entry(entry_id: EntityId, conn: Conn, matrix: Matrix, _: Caller) -> dict:
    """One entry with its linked alerts."""
    entry = store.get_entry(conn, entry_id)
    if entry is None:
        raise NotFound(f"risk register entry {entry_id} not found")
    return public(entry, matrix)


@router.patch("/{entry_id}", response_model=EntryPublic, summary="Update an entry")
def update_entry(
    entry_id: EntityId, body: EntryUpdate, conn: Conn, matrix: Matrix, caller: HseCaller
) -> dict:
    """Change some fields; send the `version` you read: a stale one is a 409."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    version = changes.pop("version")
    cleared = [k for k in REQUIRED if k in changes and changes[k] is None]
    if cleared:
        raise InvalidInput(f"{', '.join(cleared)} cannot be cleared (null)")
    entry = store.update_entry(conn, entry_id, changes, version, caller.name, matrix)
    return public(entry, matrix)


@router.get("/{entry_id}/history", response_model=list[HistoryItem], summary="Audit trail")
def entry_history(entry_id: EntityId, conn: Conn, _: Caller) -> list[dict]:
    """Every change of the entry, oldest first: who, when, before and after."""
    if (
        conn.execute("SELECT 1 FROM risk_register WHERE entry_id = %s", (entry_id,)).fetchone()
        is None
    ):
        raise NotFound(f"risk register entry {entry_id} not found")
    return store.history(conn, entry_id)
