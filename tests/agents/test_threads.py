"""Where chat apps keep conversations: the gateway's store, or one in-memory store per gateway."""

from __future__ import annotations

import asyncio

from agentstream.agents.threads import app_store, thread_id
from agentstream.gateway.context import ReplyContext, Services
from agentstream.gateway.settings import Settings
from agentstream.stores import open_store


def context(services: Services) -> ReplyContext:
    return ReplyContext(
        connection_id="c", user="u", settings=Settings(model="scripted"), services=services
    )


def test_thread_ids_are_per_app_user_and_key_and_stable() -> None:
    """Same inputs give the same id; another app, user or key gives another."""
    base = thread_id("titles", "ann", "p1")
    assert base == thread_id("titles", "ann", "p1")
    assert base.startswith("titles/") and len(base) == len("titles/") + 32
    others = {thread_id("strategy", "ann", "p1"), thread_id("titles", "bob", "p1")}
    others |= {thread_id("titles", "ann", "p2")}
    assert base not in others and len(others) == 3


def test_user_and_key_cannot_be_shifted_into_each_other() -> None:
    """('ab', 'c') and ('a', 'bc') are different conversations."""
    assert thread_id("app", "ab", "c") != thread_id("app", "a", "bc")


async def test_the_gateways_store_is_used_when_it_has_one() -> None:
    """With services.store set, that store is returned and no fallback is opened."""
    store = open_store("sqlite://:memory:")
    await store.open()
    services = Services(store=store)
    assert await app_store(context(services)) is store
    assert services.fallback_store is None
    await store.close()


async def test_without_a_store_one_in_memory_store_is_shared_by_concurrent_callers() -> None:
    """Concurrent first calls share one fallback store that keeps messages; store stays None."""
    services = Services()
    first, second = await asyncio.gather(app_store(context(services)), app_store(context(services)))
    assert first is second and services.store is None
    await first.append_message("t", {"role": "user", "content": "hi"})
    again = await app_store(context(services))
    assert [m["content"] for m in await again.read_messages("t", limit=5)] == ["hi"]
    await first.close()


async def test_each_gateway_gets_its_own_fallback_store() -> None:
    """Two gateways (two Services) never share an in-memory store."""
    a, b = await app_store(context(Services())), await app_store(context(Services()))
    assert a is not b
    await a.close()
    await b.close()
