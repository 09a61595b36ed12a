"""Prometheus metrics for one gateway: what an operator watches, cheap enough to leave on.

Every app gets its own :class:`~prometheus_client.CollectorRegistry` (never the global one), so
several apps or tests in one process do not collide. The per-token path pays almost nothing:
gauges are read when ``/metrics`` is scraped, frames are counted once per socket write batch, and
the publish → socket write latency is observed for one frame in :data:`LATENCY_SAMPLE`.

=========================================  =====================================================
``agentstream_connections_active``         open WebSockets (read at scrape)
``agentstream_runs_active``                runs still streaming (read at scrape)
``agentstream_runs_total{app,state}``      runs ended, by end state
``agentstream_events_sent_total{dialect}`` frames written to sockets and SSE streams (1)
``agentstream_first_event_seconds``        run start → its first frame written to a socket
``agentstream_run_seconds``                run start → its terminal event
``agentstream_event_latency_seconds``      publish → socket write (sampled)
``agentstream_model_tokens_total{kind}``   tokens the embedded model read / generated
``agentstream_slow_client_closes_total``   clients closed 1013 because their outbox filled up
``agentstream_store_write_seconds``        one recorder batch: all live runs' new events
=========================================  =====================================================

(1) Merged text counts once; an AI SDK stream counts its parts, under ``aisdk``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from agentstream.runs.core import RunCore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Observe the latency of one frame in this many: a histogram observation costs about as much as
# the rest of a frame's bookkeeping, and a sample of thousands of frames per second is plenty.
LATENCY_SAMPLE = 16

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_RUN = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Metrics:
    """The metrics of one app's gateway, in their own registry."""

    def __init__(self, app: str, clock: Callable[[], float] = time.time) -> None:
        """Create every metric for ``app`` in a fresh registry."""
        self.app = app
        self.clock = clock
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections_active = Gauge(
            "agentstream_connections_active", "Open WebSocket connections", registry=r
        )
        self.runs_active = Gauge("agentstream_runs_active", "Runs still streaming", registry=r)
        self.runs_total = Counter(
            "agentstream_runs_total", "Runs ended, by end state", ["app", "state"], registry=r
        )
        self.events_sent = Counter(
            "agentstream_events_sent_total",
            "Frames written to client sockets",
            ["dialect"],
            registry=r,
        )
        self.first_event = Histogram(
            "agentstream_first_event_seconds",
            "Run start to its first frame written to a socket",
            buckets=_FAST,
            registry=r,
        )
        self.run_seconds = Histogram(
            "agentstream_run_seconds", "Run start to its end", buckets=_RUN, registry=r
        )
        self.event_latency = Histogram(
            "agentstream_event_latency_seconds",
            f"Event publish to socket write (one frame in {LATENCY_SAMPLE} sampled)",
            buckets=_FAST,
            registry=r,
        )
        self.slow_client_closes = Counter(
            "agentstream_slow_client_closes_total",
            "Clients closed because their send queue filled up",
            registry=r,
        )
        self.store_write = Histogram(
            "agentstream_store_write_seconds",
            "One recorder batch write (every live run's new events) to the store",
            buckets=_FAST,
            registry=r,
        )
        r.register(ModelTokens())
        # Labelled children, looked up once (labels() takes a lock and builds a tuple).
        self._sent: dict[str, Any] = {}
        self._ends: dict[str, Any] = {}

    def bind(self, connections: Callable[[], int], runs: Callable[[], int]) -> None:
        """Read the two gauges from the gateway when scraped (nothing to update per event)."""
        self.connections_active.set_function(lambda: float(connections()))
        self.runs_active.set_function(lambda: float(runs()))

    # -- hooks -----------------------------------------------------------------------------

    def track(self, run: RunCore) -> None:
        """Count ``run`` by its end state and time it when it ends."""
        run.on_end(self._ended)

    def _ended(self, run: RunCore) -> None:
        counter = self._ends.get(run.state.value)
        if counter is None:
            counter = self._ends[run.state.value] = self.runs_total.labels(
                self.app, run.state.value
            )
        counter.inc()
        self.run_seconds.observe(max(0.0, self.clock() - run.started_at))

    def sent(self, dialect: str, frames: int) -> None:
        """``frames`` frames were written to a socket in ``dialect``."""
        counter = self._sent.get(dialect)
        if counter is None:
            counter = self._sent[dialect] = self.events_sent.labels(dialect)
        counter.inc(frames)

    def written(self, seq: int, ts: float, now: float) -> None:
        """An event stamped at ``ts`` was written at ``now`` (the first of its run when seq 1)."""
        if seq == 1:
            self.first_event.observe(max(0.0, now - ts))
        self.event_latency.observe(max(0.0, now - ts))

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class ModelTokens(Collector):
    """Tokens the embedded models of this process read and generated (llama.cpp's counts)."""

    def collect(self) -> Iterable[Metric]:
        """One sample per kind, summed over the loaded engines (0 before any is loaded)."""
        family = CounterMetricFamily(
            "agentstream_model_tokens", "Tokens read and generated by the model", labels=["kind"]
        )
        prompt = generated = 0
        # Only look if an engine module was imported: scraping must never load a model.
        engine = sys.modules.get("agentstream.models.engine")
        for eng in getattr(engine, "_ENGINES", {}).values():
            prompt += eng.totals.prompt_tokens
            generated += eng.totals.generated_tokens
        family.add_metric(["prompt"], prompt)
        family.add_metric(["generated"], generated)
        yield family
