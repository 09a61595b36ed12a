"""CalledIt's records: logged calls and their verdicts, kept beside the framework's store.

A package rather than three sibling modules because it has the same nouns as ``stores/`` —
rows, validation, a shared base, one module per backend — and the tests mirror it the same way.
The framework store knows nothing of calls: :func:`calls_of` puts a :class:`CallStore` on the
backend a server already opened (same SQLite file and writer thread, the same DynamoDB
client and table prefix, or the same Redis and key prefix), and the call tables are created on
first use.
"""

from __future__ import annotations

from agentstream.apps.calledit.records.base import CallRecords, CallStore
from agentstream.apps.calledit.records.rows import (
    CALL_STATUSES,
    VERDICT_STATUSES,
    CallRow,
    CallStatus,
    Verdict,
    VerdictStatus,
)
from agentstream.apps.calledit.records.validation import (
    MAX_CALL_BYTES,
    decode_cursor,
    encode_cursor,
    validate_call_record,
    validate_verdict,
)
from agentstream.stores.dynamodb_base import DynamoDBBase
from agentstream.stores.errors import StoreError
from agentstream.stores.protocols import Store
from agentstream.stores.sqlite import SQLiteStore

__all__ = [
    "CALL_STATUSES",
    "MAX_CALL_BYTES",
    "VERDICT_STATUSES",
    "CallRecords",
    "CallRow",
    "CallStatus",
    "CallStore",
    "Verdict",
    "VerdictStatus",
    "calls_of",
    "decode_cursor",
    "encode_cursor",
    "validate_call_record",
    "validate_verdict",
]

# One call store per framework store, living as long as it does (its schema check runs once).
# Kept on the store object itself: the pair is then one cycle the collector frees together. (A
# WeakKeyDictionary cannot do this: its value refers back to its key, which keeps both alive.)
_ATTR = "_calledit_calls"


def calls_of(store: Store) -> CallStore:
    """The calls kept on ``store``'s backend.

    Raises:
        StoreError: The backend is one CalledIt cannot keep calls in.
    """
    found = getattr(store, _ATTR, None)
    if not isinstance(found, CallRecords):
        found = _build(store)
        setattr(store, _ATTR, found)
    return found


def _build(store: Store) -> CallRecords:
    if isinstance(store, SQLiteStore):
        from agentstream.apps.calledit.records.sqlite import SQLiteCalls

        return SQLiteCalls(store)
    if isinstance(store, DynamoDBBase):
        from agentstream.apps.calledit.records.dynamodb import DynamoDBCalls

        return DynamoDBCalls(store)
    from agentstream.stores.redis import RedisStore

    if isinstance(store, RedisStore):
        from agentstream.apps.calledit.records.redis import RedisCalls

        return RedisCalls(store)
    raise StoreError(f"CalledIt cannot keep calls in a {type(store).__name__}")
