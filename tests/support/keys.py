"""API keys for tests: a key file with hashes, and the plaintext keys to call with."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.common.auth import hash_key, new_key


def write_key_file(path: Path, keys: dict[str, tuple[list[str], list[str]]]) -> dict[str, str]:
    """`keys`: name -> (sites, roles). Returns name -> plaintext key."""
    plain = {name: new_key() for name in keys}
    document = {
        "keys": [
            {"name": name, "sha256": hash_key(plain[name]), "sites": sites, "roles": roles}
            for name, (sites, roles) in keys.items()
        ]
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return plain
