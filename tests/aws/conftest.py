"""Fixtures of the AWS tests (defined in :mod:`tests.aws.fixtures`)."""

from tests.aws.fixtures import moto_endpoint, world  # noqa: F401 - fixtures by name
