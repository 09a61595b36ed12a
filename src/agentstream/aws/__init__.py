"""The AWS path: agentstream apps in Lambda behind an API Gateway WebSocket API.

``handler = agentstream.aws.lambda_handler(app)`` builds the one Lambda entry point of an app
(or use :mod:`agentstream.aws.handler` with ``AGENTSTREAM_APP``);
:mod:`~agentstream.aws.sender` posts frames through ``apigatewaymanagementapi``;
:mod:`~agentstream.aws.live` keeps runs' subscribers and cancel flags in DynamoDB so resume and
cancel work across invocations. ``emulator/`` serves SAM templates locally.
"""

from agentstream.aws.lambda_adapter import LambdaAdapter, lambda_handler

__all__ = ["LambdaAdapter", "lambda_handler"]
