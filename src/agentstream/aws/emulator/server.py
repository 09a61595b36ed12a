"""The emulator: one port for WebSockets, ``@connections``, Bedrock and the console.

``Emulator(stack).start()`` starts the local DynamoDB (and creates the template's tables), the
function workers' environment and the listener; ``stop()`` ends all of it. The CLI
(``agentstream emulate``) and the tests use it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentstream.aws.emulator import lambda_api, management
from agentstream.aws.emulator.connection import Limits
from agentstream.aws.emulator.dynamodb import LocalDynamoDB
from agentstream.aws.emulator.gateway import Gateway
from agentstream.aws.emulator.http import (
    BadRequest,
    Request,
    Response,
    read_request,
    write_response,
)
from agentstream.aws.emulator.runtime import Runtime
from agentstream.aws.emulator.template import Stack

logger = logging.getLogger(__name__)


@dataclass
class Options:
    """How to run the emulator (the CLI's flags)."""

    host: str = "127.0.0.1"
    port: int = 0
    limits: Limits = field(default_factory=Limits)
    dynamodb_endpoint: str | None = None  # None: start a moto server
    model: str = "local"
    management_secret: str | None = None
    verbose: bool = False
    tls: bool = False  # also listen over TLS; events then name it as their domainName
    bedrock: Any = None  # a BedrockService; built from ``model`` when None


class Emulator:
    """A running emulation of one stack."""

    def __init__(self, stack: Stack, options: Options | None = None) -> None:
        """Prepare to serve ``stack`` (nothing runs until :meth:`start`)."""
        self.stack = stack
        self.options = options or Options()
        self.dynamodb = LocalDynamoDB(self.options.dynamodb_endpoint, stack.region)
        self.server: asyncio.Server | None = None
        self.tls_server: asyncio.Server | None = None
        self.gateway: Gateway | None = None
        self.bedrock: Any = self.options.bedrock
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        """The port the emulator listens on."""
        if self.server is None:
            raise RuntimeError("emulator not started")  # noqa: TRY003 - programming error
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def endpoint(self) -> str:
        """``http://host:port`` of the emulator."""
        return f"http://{self.options.host}:{self.port}"

    def url(self, stage: str = "prod") -> str:
        """The WebSocket URL of a stage."""
        return f"ws://{self.options.host}:{self.port}/{stage}"

    async def start(self) -> None:
        """Start DynamoDB, create tables, listen, and prepare the functions' environment."""
        await asyncio.to_thread(self.dynamodb.start)
        await asyncio.to_thread(self.dynamodb.create_tables, self.stack.tables)
        if self.bedrock is None:
            from agentstream.aws.emulator.bedrock import BedrockService

            self.bedrock = BedrockService.for_model(self.options.model)
        self.server = await asyncio.start_server(
            self._client, self.options.host, self.options.port, limit=2**20
        )
        env = {
            "AGENTSTREAM_EMULATOR_ENDPOINT": self.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoint,
        }
        domain = await self._start_tls(env) if self.options.tls else None
        runtime = Runtime(self.stack.functions, self.stack.region, env)
        self.gateway = Gateway(self.stack, runtime, self.options.limits, self.options.verbose)
        self.gateway.domain_name = domain
        for api in self.stack.apis:
            for stage in api.stages:
                logger.info("serving api=%s (%s) at %s", api.api_id, api.name, self.url(stage))

    async def _start_tls(self, env: dict[str, str]) -> str:
        """Listen over TLS with a fresh self-signed certificate the handlers trust."""
        from agentstream.aws.emulator.tls import self_signed, server_context

        folder = Path(tempfile.mkdtemp(prefix="agentstream-emulator-tls-"))
        cert, key = self_signed(folder)
        self.tls_server = await asyncio.start_server(
            self._client, self.options.host, 0, ssl=server_context(cert, key), limit=2**20
        )
        port = int(self.tls_server.sockets[0].getsockname()[1])
        env.update(AWS_CA_BUNDLE=str(cert), REQUESTS_CA_BUNDLE=str(cert))
        logger.info("tls management API at https://localhost:%d (certificate %s)", port, cert)
        return f"localhost:{port}"

    async def stop(self) -> None:
        """Close connections, stop workers and servers."""
        for server in (self.server, self.tls_server):
            if server is not None:
                server.close()
        if self.gateway is not None:
            for conn in list(self.gateway.connections.values()):
                conn.close(1001, "Going away")
            await asyncio.sleep(0)
            await self.gateway.runtime.close()
        for writer in list(self._clients):  # idle keep-alive connections end cleanly
            writer.close()
        await asyncio.sleep(0)
        await asyncio.to_thread(self.dynamodb.stop)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str((writer.get_extra_info("peername") or ("",))[0])
        self._clients.add(writer)
        try:
            await self._serve_http(reader, writer, peer)
        except (BadRequest, ValueError) as exc:
            with contextlib.suppress(ConnectionError):
                await write_response(
                    writer, Response.json(400, {"message": str(exc)}, Connection="close")
                )
        except (ConnectionError, asyncio.IncompleteReadError):
            logger.debug("peer=%s | connection dropped", peer)
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _serve_http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        assert self.gateway is not None  # noqa: S101 - set in start()
        while (request := await read_request(reader, peer)) is not None:
            if request.is_websocket:
                await self.gateway.websocket(request, reader, writer)
                return
            await self._answer_http(request, writer)

    async def _answer_http(self, request: Request, writer: asyncio.StreamWriter) -> None:
        """Bedrock, Lambda Invoke, @connections or the console: loopback (or secret) only."""
        assert self.gateway is not None  # noqa: S101 - set in start()
        secret = self.options.management_secret
        if not management.peer_allowed(request.peer, request.headers, secret):
            logger.warning(
                "http peer=%s %s | refused: not loopback, no secret", request.peer, request.path
            )
            error = {"x-amzn-ErrorType": "ForbiddenException"}
            await write_response(writer, Response.json(403, {"message": "Forbidden"}, **error))
            return
        if await self.bedrock.handle(request, writer):
            return
        response = await lambda_api.handle(self.gateway, request)
        if response is None:
            response = await management.handle(self.gateway, request, secret)
        await write_response(writer, response or Response.json(404, {"message": "Not Found"}))
