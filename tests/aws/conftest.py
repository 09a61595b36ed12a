"""Fixtures of the AWS tests (defined in :mod:`tests.aws.lambda_world`)."""

from tests.aws.lambda_world import moto_endpoint, world  # noqa: F401 - fixtures by name
