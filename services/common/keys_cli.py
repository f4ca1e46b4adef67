"""`qloop keys`: the API keys of systems, in the key file (QLOOP_API_KEYS_FILE or --file).

    qloop keys add NAME --sites sz --roles submit,read   prints the key once; stores its hash
    qloop keys list                                      names, sites, roles (never a key)
    qloop keys revoke NAME
    qloop keys hash KEY                                  the SHA-256 the file holds
    qloop keys trust USER --sites sz --roles complaint_owner   a broker user whose
                                                         case.command the workflow runs
    qloop keys distrust USER

Running services read the file again when it changes (services/common/auth.py): no restart.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from services.common.auth import ApiKey, BrokerUser, KeyFile, hash_key, load_key_file, new_key


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="API keys of systems")
    keys.add_argument("--file", type=Path, help="default: $QLOOP_API_KEYS_FILE")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    add = commands.add_parser("add", help="a new key, shown once")
    add.add_argument("name")
    add.add_argument("--sites", required=True, help="comma-separated, or * for every site")
    add.add_argument("--roles", required=True, help="comma-separated, e.g. submit,read")
    add.set_defaults(func=_add)
    commands.add_parser("list", help="the keys (names, sites, roles)").set_defaults(func=_list)
    revoke = commands.add_parser("revoke", help="remove a key")
    revoke.add_argument("name")
    revoke.set_defaults(func=_revoke)
    hashed = commands.add_parser("hash", help="the SHA-256 of a key, as the file holds it")
    hashed.add_argument("key")
    hashed.set_defaults(func=lambda args: print(hash_key(args.key)) or 0)
    trust = commands.add_parser("trust", help="trust a broker user's case commands")
    trust.add_argument("name", help="the RabbitMQ user (qloop broker users)")
    trust.add_argument("--sites", required=True, help="comma-separated site ids")
    trust.add_argument("--roles", required=True, help="the roles it acts with there")
    trust.set_defaults(func=_trust)
    distrust = commands.add_parser("distrust", help="stop trusting a broker user")
    distrust.add_argument("name")
    distrust.set_defaults(func=_distrust)


def _path(args: argparse.Namespace) -> Path:
    path = args.file or os.environ.get("QLOOP_API_KEYS_FILE")
    if not path:
        raise SystemExit("qloop keys: give --file or set QLOOP_API_KEYS_FILE")
    return Path(path)


def _read(path: Path) -> list[ApiKey]:
    return list(_file(path).keys)


def _file(path: Path) -> KeyFile:
    return load_key_file(path) if path.exists() else KeyFile()


def _write(path: Path, keys: list[ApiKey], users: list[BrokerUser] | None = None) -> None:
    """Replace the file at once (a service never reads half of it), readable by its owner.
    The broker users stay as they are unless given."""
    if users is None:
        users = list(_file(path).broker_users)
    document: dict[str, Any] = {"keys": [k.model_dump(mode="json") for k in keys]}
    if users:
        document["broker_users"] = [u.model_dump(mode="json") for u in users]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8"
    ) as out:
        yaml.safe_dump(document, out, sort_keys=False)
    os.chmod(out.name, 0o600)
    os.replace(out.name, path)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _add(args: argparse.Namespace) -> int:
    path = _path(args)
    keys = _read(path)
    if any(k.name == args.name for k in keys):
        print(f"qloop keys: a key {args.name!r} exists; revoke it first", file=sys.stderr)
        return 1
    plain = new_key()
    keys.append(
        ApiKey(
            name=args.name,
            sha256=hash_key(plain),
            sites=_split(args.sites),
            roles=_split(args.roles),
        )
    )
    _write(path, keys)
    print(plain)
    print(f"(key {args.name!r} added to {path}; it is shown only now)", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    found = _file(_path(args))
    for key in found.keys:
        print(f"{key.name:<24} sites={','.join(key.sites):<12} roles={','.join(key.roles)}")
    for user in found.broker_users:
        print(
            f"{user.name:<24} sites={','.join(user.sites):<12} roles={','.join(user.roles)}"
            " (broker user)"
        )
    return 0


def _trust(args: argparse.Namespace) -> int:
    path = _path(args)
    found = _file(path)
    user = BrokerUser(name=args.name, sites=_split(args.sites), roles=_split(args.roles))
    users = [u for u in found.broker_users if u.name != args.name] + [user]
    _write(path, list(found.keys), users)
    print(f"broker user {args.name} trusted at {','.join(user.sites)} as {','.join(user.roles)}")
    return 0


def _distrust(args: argparse.Namespace) -> int:
    path = _path(args)
    found = _file(path)
    users = [u for u in found.broker_users if u.name != args.name]
    if len(users) == len(found.broker_users):
        print(f"qloop keys: no broker user {args.name!r} in {path}", file=sys.stderr)
        return 1
    _write(path, list(found.keys), users)
    print(f"distrusted {args.name}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    path = _path(args)
    keys = _read(path)
    kept = [k for k in keys if k.name != args.name]
    if len(kept) == len(keys):
        print(f"qloop keys: no key {args.name!r} in {path}", file=sys.stderr)
        return 1
    _write(path, kept)
    print(f"revoked {args.name}")
    return 0
