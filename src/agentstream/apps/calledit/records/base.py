"""The call store: what CalledIt asks of it, and the steps both backends share.

:class:`CallStore` is the protocol the app uses. :class:`CallRecords` implements it once for
every backend: it validates, stamps, keeps "one call per run" idempotent, turns a taken call id
into a Conflict, pages with one cursor format, and creates the backend's tables on first use.
A backend (``sqlite.py``, ``dynamodb.py``) supplies only the storage steps, each one atomic.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, Protocol

from agentstream.apps.calledit.records.rows import CallRow, Verdict
from agentstream.apps.calledit.records.validation import (
    CALL_ID_RE,
    MAX_CALL_BYTES,
    check_call_id,
    decode_cursor,
    encode_cursor,
    validate_call_record,
    validate_verdict,
)
from agentstream.stores.base import BaseStore
from agentstream.stores.errors import Conflict, InvalidRecord, NotFound, StoreUnavailable
from agentstream.stores.validation import check_id, dumps

RETRIES: Final = 8
# One page of a listing, as a backend returns it: (created_us, row), newest first.
Page = list[tuple[int, CallRow]]


class RunTaken(Conflict):
    """The user already has a call for this run (the base answers with that call)."""


class Contended(StoreUnavailable):
    """Another writer interfered with an atomic write; trying again may succeed."""


class CallStore(Protocol):
    """CalledIt's calls and verdicts; every method raises the store's errors."""

    max_call_bytes: int
    max_page: int

    async def save_call(
        self,
        user_id: str,
        record: Mapping[str, Any],
        *,
        run_id: str | None,
        call_id: str | None = None,
    ) -> CallRow:
        """Validate and store a call; the same ``(user_id, run_id)`` again returns the first."""

    async def get_call(self, user_id: str, call_id: str) -> CallRow:
        """One of the user's calls. NotFound when unknown or someone else's."""

    async def list_calls(
        self, user_id: str, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[CallRow], str | None]:
        """The user's calls newest first, and a cursor for the next page (None at the end)."""

    async def set_verdict(self, user_id: str, call_id: str, verdict: Mapping[str, Any]) -> CallRow:
        """Save ``{status, reasoning, evidence[]}`` with the call and move its status."""

    async def due_calls(self, before: date, limit: int = 100) -> list[CallRow]:
        """Pending calls of any user whose verification_date <= ``before``, oldest date first."""


class CallRecords(ABC):
    """:class:`CallStore` on a framework store; subclasses add the storage steps."""

    def __init__(self, store: BaseStore, *, max_call_bytes: int = MAX_CALL_BYTES) -> None:
        """Keep calls beside ``store``'s own tables, on its connection and clock."""
        self.store = store
        self.max_call_bytes = max_call_bytes
        self.max_page = store.limits.max_page
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()

    # --- what a backend supplies --------------------------------------------------------------

    @abstractmethod
    async def _create_schema(self) -> None:
        """Create or migrate the backend's call tables (idempotent)."""

    @abstractmethod
    async def _insert(self, row: CallRow, stamp: int) -> None:
        """Write a new call atomically with its run's guard.

        Raises:
            RunTaken: The user already has a call for ``row.run_id``.
            Conflict: ``row.call_id`` is taken.
            Contended: A concurrent writer got in the way; the base tries again.
        """

    @abstractmethod
    async def _find(self, user_id: str, call_id: str) -> CallRow | None:
        """The user's call by id, or None."""

    @abstractmethod
    async def _find_by_run(self, user_id: str, run_id: str) -> CallRow | None:
        """The user's call logged from ``run_id``, or None."""

    @abstractmethod
    async def _page(self, user_id: str, after: tuple[int, str] | None, count: int) -> Page:
        """Up to ``count`` of the user's calls strictly older than ``after``, newest first."""

    @abstractmethod
    async def _write_verdict(
        self, user_id: str, call_id: str, verdict: Verdict, stamp: int
    ) -> CallRow | None:
        """Store the verdict and its status; None when there is no such call."""

    @abstractmethod
    async def _due(self, before: date, limit: int) -> list[CallRow]:
        """Pending calls dated on or before ``before``, oldest date first, at most ``limit``."""

    # --- the shared steps ---------------------------------------------------------------------

    async def ready(self) -> None:
        """Create the call tables once per store; a failure is retried on the next call."""
        if self._schema_ready:
            return
        async with self._schema_lock:
            if not self._schema_ready:
                await self._create_schema()
                self._schema_ready = True

    async def save_call(
        self,
        user_id: str,
        record: Mapping[str, Any],
        *,
        run_id: str | None,
        call_id: str | None = None,
    ) -> CallRow:
        """Validate and store a call; the same ``(user_id, run_id)`` again returns the first."""
        clean = validate_call_record(record, self.max_call_bytes)
        stamp = self.store.stamp_us()
        row = CallRow(
            call_id=check_call_id(call_id) if call_id is not None else uuid.uuid4().hex,
            user_id=check_id("user_id", user_id),
            run_id=check_id("run_id", run_id) if run_id is not None else None,
            record=clean,
            status="pending",
            created_at=stamp / 1e6,
            updated_at=stamp / 1e6,
        )
        await self.ready()
        return await self._save_once(row, stamp)

    async def _save_once(self, row: CallRow, stamp: int) -> CallRow:
        """Insert; when the run already has a call, that call is the answer (idempotency)."""
        for attempt in range(RETRIES):
            try:
                await self._insert(row, stamp)
                return row
            except RunTaken:
                found = await self._find_by_run(row.user_id, row.run_id) if row.run_id else None
                if found is not None:
                    return found
            except Contended:
                pass
            await asyncio.sleep(0.05 * 2**attempt)
        raise StoreUnavailable(f"save_call run={row.run_id}: still contended after {RETRIES} tries")

    async def get_call(self, user_id: str, call_id: str) -> CallRow:
        """One of the user's calls. NotFound when unknown or someone else's."""
        await self.ready()
        found = await self._find(user_id, call_id) if CALL_ID_RE.fullmatch(call_id) else None
        if found is None:
            raise NotFound(f"call {call_id} not found")
        return found

    async def list_calls(
        self, user_id: str, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[CallRow], str | None]:
        """The user's calls newest first, and a cursor for the next page (None at the end).

        One more row than asked is read: it says whether a next page exists, so a page that
        ends exactly at the last call carries no cursor to an empty page.
        """
        limit = self.store.page_limit(limit)
        after = decode_cursor(cursor) if cursor else None
        await self.ready()
        page = await self._page(user_id, after, limit + 1)
        rows = [row for _, row in page[:limit]]
        if len(page) <= limit:
            return rows, None
        created_us, last = page[limit - 1]
        return rows, encode_cursor(created_us, last.call_id)

    async def set_verdict(self, user_id: str, call_id: str, verdict: Mapping[str, Any]) -> CallRow:
        """Save ``{status, reasoning, evidence[]}`` with the call and move its status."""
        checked = validate_verdict(verdict, self.store.now(), self.max_call_bytes)
        await self.ready()
        saved = None
        if CALL_ID_RE.fullmatch(call_id):
            saved = await self._write_verdict(user_id, call_id, checked, self.store.stamp_us())
        if saved is None:
            raise NotFound(f"call {call_id} not found")
        return saved

    async def due_calls(self, before: date, limit: int = 100) -> list[CallRow]:
        """Pending calls of any user whose verification_date <= ``before``, oldest date first."""
        if not isinstance(before, date):
            raise InvalidRecord("before", "must be a date")
        limit = self.store.page_limit(limit)
        await self.ready()
        return await self._due(before, limit)

    def verdict_text(self, verdict: Verdict) -> str:
        """The verdict as stored: JSON text within the record bound."""
        return dumps(verdict.to_dict(), "verdict", self.max_call_bytes)
