"""A ready-made Lambda handler: ``Handler: agentstream.aws.handler.handler`` in a template.

It serves the app ``AGENTSTREAM_APP`` names (``calledit``, ``titles``, ``strategy``,
``realestate``, or ``module:app`` / ``path/to/file.py:app``, as ``agentstream serve`` takes),
built once per Lambda container on the first event.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from agentstream.aws.lambda_adapter import LambdaAdapter

_adapter: LambdaAdapter | None = None
_lock = threading.Lock()


def adapter() -> LambdaAdapter:
    """The container's adapter, built on first use."""
    global _adapter
    with _lock:
        if _adapter is None:
            from agentstream.apps import load_app

            _adapter = LambdaAdapter(load_app(os.environ.get("AGENTSTREAM_APP", "calledit")))
        return _adapter


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point."""
    return adapter()(event, context)
