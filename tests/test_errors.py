"""The error tree drawn in ``agentstream/errors.py``: every leaf is under the root with its code."""

from __future__ import annotations

import pytest

from agentstream.agents.invoke import TokenLimit
from agentstream.apps import UnknownApp
from agentstream.apps.calledit.agent import NoRecord
from agentstream.apps.calledit.calls import CallError
from agentstream.apps.calledit.verify import NoVerdict
from agentstream.apps.realestate.embedding import EmbeddingUnavailable
from agentstream.apps.strategy.schemas import InvalidStrategy
from agentstream.clock import BadTimestamp, BadTimezone
from agentstream.errors import AgentstreamError, AppError, BadRequest
from agentstream.gateway.identity import Forbidden, Unauthenticated
from agentstream.gateway.messages import BadMessage
from agentstream.models import UnknownModel
from agentstream.models.engine import ModelError
from agentstream.models.scripted import ScriptedModelError
from agentstream.models.weights import WeightsError
from agentstream.protocol.codec import DecodeError
from agentstream.protocol.dialects import UnknownDialect
from agentstream.runs.log import LogGap
from agentstream.stores.errors import InvalidRecord, NotFound, StoreUnavailable

# (leaf, its branch in the tree, code, HTTP status, the built-in it also is)
TREE: list[tuple[type[AgentstreamError], type[AgentstreamError], str, int, type[Exception]]] = [
    (BadMessage, BadRequest, "bad_request", 400, ValueError),
    (UnknownDialect, BadRequest, "unknown_dialect", 400, LookupError),
    (DecodeError, BadRequest, "invalid_json", 400, ValueError),
    (UnknownModel, BadRequest, "unknown_model", 400, ValueError),
    (UnknownApp, BadRequest, "unknown_app", 404, LookupError),
    (BadTimezone, BadRequest, "bad_timezone", 400, ValueError),
    (BadTimestamp, BadRequest, "bad_timestamp", 400, ValueError),
    (StoreUnavailable, AgentstreamError, "store_unavailable", 503, Exception),
    (NotFound, AgentstreamError, "not_found", 404, LookupError),
    (InvalidRecord, BadRequest, "invalid_record", 422, ValueError),
    (ModelError, AgentstreamError, "model_error", 500, Exception),
    (ScriptedModelError, ModelError, "model_error", 500, Exception),
    (TokenLimit, ModelError, "max_tokens", 500, Exception),
    (WeightsError, AgentstreamError, "weights_error", 500, ValueError),
    (Unauthenticated, AgentstreamError, "unauthenticated", 401, PermissionError),
    (Forbidden, AgentstreamError, "forbidden", 403, PermissionError),
    (LogGap, AgentstreamError, "log_gap", 410, LookupError),
    (NoRecord, AppError, "no_record", 500, Exception),
    (NoVerdict, AppError, "no_verdict", 500, Exception),
    (InvalidStrategy, AppError, "invalid_strategy", 500, ValueError),
    (EmbeddingUnavailable, AppError, "embedding_unavailable", 503, Exception),
]


@pytest.mark.parametrize(
    ("leaf", "branch", "code", "status", "builtin"), TREE, ids=[t[0].__name__ for t in TREE]
)
def test_each_leaf_is_under_the_root_with_its_drawn_code(
    leaf: type[AgentstreamError],
    branch: type[AgentstreamError],
    code: str,
    status: int,
    builtin: type[Exception],
) -> None:
    """Each leaf derives from its branch and the built-in, with the class-level code and status."""
    assert issubclass(leaf, branch) and issubclass(leaf, builtin)
    assert (leaf.code, leaf.http_status) == (code, status)


def test_each_leaf_named_in_the_docstring_is_checked() -> None:
    """The drawn tree and this test name the same leaves, so neither drifts from the other."""
    import agentstream.errors as errors

    drawn = errors.__doc__ or ""
    for leaf, *_ in TREE:
        assert leaf.__name__ in drawn, leaf.__name__


def test_call_error_chooses_its_code_per_refusal() -> None:
    """CallError is a BadMessage whose code and status are set per instance, not guessed."""
    error = CallError("no such call", "not_found", 404)
    assert isinstance(error, BadMessage)
    assert (error.code, error.http_status) == ("not_found", 404)
    assert (CallError.code, CallError.http_status) == ("bad_request", 400)
