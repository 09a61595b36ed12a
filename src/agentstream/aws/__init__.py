"""The AWS path: agentstream apps in Lambda behind an API Gateway WebSocket API.

:func:`agentstream.aws.lambda_adapter.lambda_handler` builds the one Lambda entry point of an app;
:mod:`~agentstream.aws.sender` posts frames through ``apigatewaymanagementapi``;
:mod:`~agentstream.aws.live` keeps runs' subscribers and cancel flags in DynamoDB so resume and
cancel work across invocations. ``emulator/`` serves SAM templates locally.
"""
