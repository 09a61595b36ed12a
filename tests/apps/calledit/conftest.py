"""The store tests' fixtures (moto server, dummy AWS env, fake clock), shared, not copied."""

from __future__ import annotations

from tests.stores import conftest as shared

moto_server = shared.moto_server
own_moto = shared.own_moto
aws_env = shared.aws_env
clock = shared.clock
