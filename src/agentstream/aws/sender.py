"""Posting frames to API Gateway WebSocket clients through ``apigatewaymanagementapi``.

On AWS every frame a client gets is one HTTPS ``POST @connections/{id}`` (~20 ms in-region), so
the sender is where the AWS path keeps its speed and its manners:

- a frame over API Gateway's 128 KB message limit is never posted (the caller replaces it);
- ``410 GoneException`` means the client left: :meth:`Sender.post` returns False, once, and the
  caller detaches the connection and deletes its row;
- ``429`` / ``LimitExceededException`` / throttling backs off (exponential, with jitter) and
  retries, so a burst slows down instead of losing frames.

Coalescing (merging text deltas within a window) happens before frames reach the sender, in
:mod:`agentstream.aws.fanout`. boto3 is imported lazily; the client is thread-safe, so one sender
serves every connection of an invocation.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from agentstream.errors import AgentstreamError
from agentstream.gateway.settings import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)

# API Gateway refuses a WebSocket message over 128 KB (a frame of exactly this size passes).
MAX_FRAME_BYTES: Final = MAX_MESSAGE_BYTES
_THROTTLED: Final = frozenset(
    {"LimitExceededException", "TooManyRequestsException", "ThrottlingException"}
)


class SendFailed(AgentstreamError):
    """A frame could not be posted (throttled past every retry, or the endpoint failed)."""

    code = "send_failed"


class FrameTooLarge(AgentstreamError):
    """A frame is over API Gateway's 128 KB message limit."""

    code = "frame_too_large"


def management_client(endpoint: str, *, region: str | None = None) -> Any:
    """A boto3 ``apigatewaymanagementapi`` client for ``endpoint`` (``https://{domain}/{stage}``).

    Retries are ours (see :class:`Sender`), so botocore's are off; timeouts are short because a
    stuck POST would hold every later frame of the stream.
    """
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(
        connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1, "mode": "standard"}
    )
    return boto3.session.Session().client(
        "apigatewaymanagementapi", endpoint_url=endpoint, region_name=region, config=config
    )


def error_code(exc: Exception) -> tuple[str, int]:
    """The AWS error code and HTTP status of a botocore ``ClientError`` (or ``("", 0)``)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "", 0
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


class Sender:
    """Posts frames to connections, retrying throttles and reporting clients that left."""

    def __init__(
        self,
        client: Any,
        *,
        max_bytes: int = MAX_FRAME_BYTES,
        retries: int = 6,
        backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Post through ``client`` (an ``apigatewaymanagementapi`` client).

        Args:
            client: A boto3 ``apigatewaymanagementapi`` client.
            max_bytes: The largest frame posted, in UTF-8 bytes.
            retries: Throttled posts retried this many times before :class:`SendFailed`.
            backoff_s: The first backoff; it doubles per retry (with jitter), up to
                ``max_backoff_s``.
            max_backoff_s: The longest single backoff.
            sleep: How to wait (tests pass a recorder).
        """
        self.client = client
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self.posts = 0
        self.throttled = 0

    def post(self, connection_id: str, frame: str) -> bool:
        """Post one frame; False when the client has left (410 GoneException).

        Raises:
            FrameTooLarge: ``frame`` is over ``max_bytes`` (nothing was posted).
            SendFailed: still throttled after every retry, or another error from the API.
        """
        data = frame.encode("utf-8", "surrogatepass")
        if len(data) > self.max_bytes:
            raise FrameTooLarge(f"frame of {len(data)} bytes (limit {self.max_bytes})")
        for attempt in range(self.retries + 1):
            try:
                self.client.post_to_connection(ConnectionId=connection_id, Data=data)
                self.posts += 1
                return True
            except Exception as exc:  # botocore's errors: classified by code, never swallowed
                code, status = error_code(exc)
                if code == "GoneException" or status == 410:
                    logger.info("conn=%s | client left (410)", connection_id)
                    return False
                if not (code in _THROTTLED or status == 429) or attempt == self.retries:
                    raise SendFailed(f"post to {connection_id}: {code or exc}") from exc
                self.throttled += 1
                self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff: spreads retries of many senders apart."""
        ceiling = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not secrets

    def post_all(self, connection_id: str, frames: Iterable[str]) -> bool:
        """Post frames in order; stops and returns False as soon as the client has left."""
        return all(self.post(connection_id, frame) for frame in frames)

    def delete(self, connection_id: str) -> None:
        """Close a client's connection (a client that already left is not an error)."""
        try:
            self.client.delete_connection(ConnectionId=connection_id)
        except Exception as exc:  # botocore's errors: a gone client is what we wanted
            code, status = error_code(exc)
            if code != "GoneException" and status != 410:
                raise SendFailed(f"close {connection_id}: {code or exc}") from exc
