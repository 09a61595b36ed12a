"""Amazon Bedrock through Strands' ``BedrockModel`` (ConverseStream), with clear errors.

``--model bedrock`` uses Strands' default model; ``--model bedrock:MODEL_ID`` names a model or an
inference profile. Credentials are boto3's usual chain, or a Bedrock API key in
``AWS_BEARER_TOKEN_BEDROCK`` (sent as ``Authorization: Bearer``, no SigV4). The endpoint follows
boto3's ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (a local Bedrock, the emulator's).

Vendor errors are translated at this boundary into agentstream errors with their own codes, so
a run ends with an error frame that says what happened instead of ``internal_error``: throttling
(``model_throttled``), no access to the model (``model_access_denied``), an unknown model id
(``model_not_found``), the service failing (``model_unavailable``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncGenerator
from typing import Any, ClassVar

from strands.models import BedrockModel
from strands.types.exceptions import ModelThrottledException

from agentstream.errors import AgentstreamError

logger = logging.getLogger(__name__)


class ModelError(AgentstreamError):
    """The model provider refused or failed the request."""

    code: ClassVar[str] = "model_error"


class ModelThrottled(ModelError):
    """The provider is throttling requests; trying again later may work."""

    code: ClassVar[str] = "model_throttled"


class ModelAccessDenied(ModelError):
    """The credentials may not use this model (IAM, model access, or a bad API key)."""

    code: ClassVar[str] = "model_access_denied"


class ModelNotFound(ModelError):
    """No such model or inference profile in this region."""

    code: ClassVar[str] = "model_not_found"


class ModelUnavailable(ModelError):
    """The provider failed or is not ready; trying again later may work."""

    code: ClassVar[str] = "model_unavailable"


_THROTTLED = {"throttlingexception", "servicequotaexceededexception", "toomanyrequestsexception"}
_DENIED = {
    "accessdeniedexception",
    "unrecognizedclientexception",
    "expiredtokenexception",
    "invalidsignatureexception",
}
_NOT_FOUND = {"resourcenotfoundexception"}
_UNAVAILABLE = {
    "serviceunavailableexception",
    "internalserverexception",
    "modelnotreadyexception",
    "modeltimeoutexception",
    "modelstreamerrorexception",
}


def translate(exc: BaseException, model_id: str) -> ModelError | None:
    """The agentstream error for a Bedrock failure, or None when ``exc`` is none of them."""
    if isinstance(exc, ModelThrottledException):
        return ModelThrottled(f"Bedrock is throttling requests to {model_id}; try again shortly")
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", "")).strip()
    kind = code.lower()
    if kind in _THROTTLED:
        return ModelThrottled(f"Bedrock is throttling requests to {model_id}; try again shortly")
    if kind in _DENIED:
        return ModelAccessDenied(
            f"no access to Bedrock model {model_id} ({code}: {message}); enable the model in "
            "the Bedrock console and allow bedrock:InvokeModelWithResponseStream, or check "
            "AWS_BEARER_TOKEN_BEDROCK"
        )
    if kind in _NOT_FOUND or (kind == "validationexception" and "model identifier" in message):
        return ModelNotFound(f"Bedrock has no model {model_id} here ({code}: {message})")
    if kind in _UNAVAILABLE:
        return ModelUnavailable(f"Bedrock failed ({code}: {message}); try again shortly")
    if code:
        return ModelError(f"Bedrock refused the request ({code}: {message})")
    return None


class Bedrock(BedrockModel):
    """Strands' ``BedrockModel`` whose failures are agentstream errors with their own codes."""

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """Stream as Strands does; translate throttling, access and other Bedrock errors."""
        try:
            async for event in super().stream(*args, **kwargs):
                yield event
        except Exception as exc:  # translated at the boundary; anything else goes on as it is
            translated = translate(exc, str(self.config.get("model_id")))
            if translated is None:
                raise
            logger.warning("bedrock | %s: %s", translated.code, translated)
            raise translated from exc


def create_bedrock(model_id: str = "") -> Bedrock:
    """A Bedrock model (``model_id`` empty: Strands' default), with ``AWS_BEARER_TOKEN_BEDROCK``."""
    api_key = os.environ.get("AWS_BEARER_TOKEN_BEDROCK") or None
    config: dict[str, Any] = {"model_id": model_id} if model_id else {}
    return Bedrock(api_key=api_key, **config)
