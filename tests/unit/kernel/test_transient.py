"""Which database errors say "try again" (retried in place) and which say "never"."""

from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure

from services.common.storage.mongo import is_transient
from services.common.tokens import KeysUnavailable

LOCKED = (
    "[msg_insert.go:168 handler.(*Handler).MsgInsert] [collection.go:135 "
    "sqlite.(*collection).InsertAll.func1] database is locked (5) (SQLITE_BUSY)"
)


def test_a_locked_ferretdb_database_and_write_conflicts_are_transient() -> None:
    assert is_transient(OperationFailure(LOCKED, 1, {"ok": 0.0, "errmsg": LOCKED, "code": 1}))
    assert is_transient(OperationFailure("WriteConflict", 112))
    assert is_transient(AutoReconnect("connection reset"))
    assert is_transient(KeysUnavailable("cannot fetch the JWKS"))  # the desk is down


def test_bad_requests_and_duplicates_are_not_transient() -> None:
    assert not is_transient(DuplicateKeyError("E11000 duplicate key", 11000))
    assert not is_transient(OperationFailure("unknown operator: $foo", 2))
    assert not is_transient(ValueError("bug"))
