"""`precursor apikey create|list|revoke`: API keys for the HTTP API."""

from __future__ import annotations

import argparse

from precursor.core import db, endpoints

ROLES = ("operator", "reliability", "hse", "admin")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `apikey` and its actions to the CLI."""
    p = sub.add_parser(
        "apikey",
        help="create, list and revoke API keys",
        description="API keys map to roles: operator, reliability, hse, admin. Keys are stored "
        "hashed; a new key is printed once.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    c = actions.add_parser("create", help="create a key and print it once")
    c.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    c.add_argument("--name", required=True, help="who or what uses it (shown in audit trails)")
    c.set_defaults(run=create)
    ls = actions.add_parser("list", help="list keys (never the secrets)")
    ls.set_defaults(run=list_)
    r = actions.add_parser("revoke", help="revoke a key by its id")
    r.add_argument("key_id", help="the id shown by `apikey list` (k_...)")
    r.set_defaults(run=revoke)


def create(args: argparse.Namespace) -> int:
    """Store a key and print it as the last word of the last line."""
    from services.api.keys import create_key

    settings = endpoints.resolve(args.settings, need_kafka=False)
    with db.connect(settings) as conn:
        key_id, secret = create_key(conn, args.name, args.role)
    print(f"created {key_id} ({args.role}) for {args.name.strip()}; it is shown only once.")
    print(f"key: {secret}")
    return 0


def list_(args: argparse.Namespace) -> int:
    """A table of keys."""
    from services.api.keys import list_keys

    settings = endpoints.resolve(args.settings, need_kafka=False)
    with db.connect(settings) as conn:
        keys = list_keys(conn)
    if not keys:
        print("no API keys yet: precursor apikey create --role ROLE --name NAME")
        return 0

    def when(t) -> str:
        return t.strftime("%Y-%m-%d %H:%M") if t else "-"

    print(f"{'key_id':<12} {'role':<12} {'created':<17} {'last used':<17} {'revoked':<17} name")
    for k in keys:
        print(
            f"{k['key_id']:<12} {k['role']:<12} {when(k['created_at']):<17} "
            f"{when(k['last_used_at']):<17} {when(k['revoked_at']):<17} {k['name']}"
        )
    return 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke one key."""
    from services.api.keys import revoke_key

    settings = endpoints.resolve(args.settings, need_kafka=False)
    with db.connect(settings) as conn:
        at = revoke_key(conn, args.key_id)
    print(f"revoked {args.key_id} at {at:%Y-%m-%d %H:%M:%S %Z}")
    return 0
