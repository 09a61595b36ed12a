"""Handler contexts are frozen; a run route's context always has its run; services are typed."""

from __future__ import annotations

import dataclasses

import pytest

from agentstream.gateway.context import ReplyContext, RouteContext, Services
from agentstream.gateway.settings import Settings
from agentstream.runs.core import RunCore
from agentstream.runs.registry import RunRegistry


def test_a_route_context_hands_out_its_runs_cancel_signal() -> None:
    """ctx.cancel_signal is the run's own flag, so cancelling the run is seen by the handler."""
    run = RunCore(owner="u")
    ctx = RouteContext(connection_id="c", user="u", settings=Settings(model="scripted"), run=run)  # type: ignore[arg-type]
    assert ctx.cancel_signal is run.cancel_signal
    run.request_cancel()
    assert ctx.cancel_signal.is_set()


def test_contexts_are_frozen() -> None:
    """A handler cannot reassign what it was given."""
    ctx = ReplyContext(connection_id="c", user="u", settings=Settings(model="scripted"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.user = "mallory"  # type: ignore[misc]


def test_a_reply_context_has_no_run() -> None:
    """Reply routes get no run; a run route's context cannot be made without one."""
    assert "run" not in {f.name for f in dataclasses.fields(ReplyContext)}
    with pytest.raises(TypeError):
        RouteContext(connection_id="c", user="u", settings=Settings(model="scripted"))  # type: ignore[call-arg]


def test_services_default_to_no_store_and_their_own_registry() -> None:
    """Without a gateway, services hold no store, no tools and a fresh run registry."""
    services = Services()
    assert services.store is None and services.evidence_tools == ()
    assert isinstance(services.runs, RunRegistry) and services.runs is not Services().runs
