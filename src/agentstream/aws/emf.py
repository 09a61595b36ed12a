"""The Lambda path's figures as CloudWatch Embedded Metric Format (EMF) log lines.

Locally ``/metrics`` serves Prometheus; a Lambda has nothing to scrape, so the adapter writes the
same figures as one JSON line each on stdout, which Lambda sends to CloudWatch Logs and
CloudWatch turns into metrics (no API call, no extra permission, no agent):

==========================  ==================  ===========================================
metric                      dimensions          when
==========================  ==================  ===========================================
``Connections``             App                 a ``$connect`` accepted (Count)
``Disconnections``          App                 a ``$disconnect`` (Count)
``Runs``                    App, State          a run ended: finished, failed or cancelled
``EventsSent``              App                 frames of that run posted to clients
``FirstEventSeconds``       App                 run start → its first frame posted
``RunSeconds``              App                 run start → its end
==========================  ==================  ===========================================

Lines go to namespace ``agentstream`` (``AGENTSTREAM_METRICS_NAMESPACE``; empty turns them off).
A run's line also carries its ``RunId`` as a plain property (searchable in Logs Insights, no
metric dimension, so no cost per run).

Written by hand rather than with aws-lambda-powertools' ``Metrics``: the format is one small
documented JSON object, and Powertools would be one more package in every Lambda bundle and
import at every cold start for these few lines.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

NAMESPACE_ENV = "AGENTSTREAM_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "agentstream"

Metric = tuple[str, float, str]  # name, value, unit
Group = tuple[Sequence[str], Sequence[Metric]]  # dimension names, and the metrics under them


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def document(
    namespace: str,
    groups: Sequence[Group],
    values: Mapping[str, Any],
    timestamp_ms: int,
) -> dict[str, Any]:
    """One EMF object: per group, its dimension names and metrics; ``values`` fills both."""
    directives = [
        {
            "Namespace": namespace,
            "Dimensions": [list(dimensions)],
            "Metrics": [{"Name": name, "Unit": unit} for name, _, unit in metrics],
        }
        for dimensions, metrics in groups
    ]
    body: dict[str, Any] = {"_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}}
    body.update(values)
    for _, metrics in groups:
        body.update({name: value for name, value, _ in metrics})
    return body


class Emf:
    """Writes one app's EMF lines (to stdout unless ``write`` is given)."""

    def __init__(
        self,
        app: str,
        *,
        namespace: str | None = None,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Emit for ``app`` under ``namespace`` (default: the environment's, or agentstream)."""
        self.app = app
        env = os.environ.get(NAMESPACE_ENV, DEFAULT_NAMESPACE)
        self.namespace = env if namespace is None else namespace
        self.write = write or _stdout
        self.clock = clock

    def emit(
        self,
        groups: Sequence[Group],
        **values: Any,
    ) -> None:
        """Write one line (nothing when the namespace is empty: metrics are off)."""
        if not self.namespace:
            return
        body = document(
            self.namespace, groups, {"App": self.app, **values}, int(self.clock() * 1000)
        )
        self.write(json.dumps(body, separators=(",", ":")))

    def connected(self) -> None:
        """A ``$connect`` was accepted."""
        self.emit([(["App"], [("Connections", 1, "Count")])])

    def disconnected(self) -> None:
        """A ``$disconnect`` ran."""
        self.emit([(["App"], [("Disconnections", 1, "Count")])])

    def run_ended(
        self,
        run_id: str,
        state: str,
        *,
        run_seconds: float,
        first_event_seconds: float | None,
        events_sent: int,
    ) -> None:
        """A run ended in ``state``; ``first_event_seconds`` is None when no frame went out."""
        timings: list[Metric] = [
            ("EventsSent", events_sent, "Count"),
            ("RunSeconds", round(max(0.0, run_seconds), 6), "Seconds"),
        ]
        if first_event_seconds is not None:
            timings.append(
                ("FirstEventSeconds", round(max(0.0, first_event_seconds), 6), "Seconds")
            )
        groups: list[Group] = [(["App", "State"], [("Runs", 1, "Count")]), (["App"], timings)]
        self.emit(groups, State=state, RunId=run_id)
