"""The local stack's parts' shared fixtures."""

from __future__ import annotations

import pytest

from local.aws_services import MotoServer
from local.processes import free_ports

REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_endpoint():
    """A moto server of the local stack's own kind, one per test module."""
    [port] = free_ports(1)
    server = MotoServer(port, REGION)
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()
