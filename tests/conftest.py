"""Make the repository root importable, so tests can ``from tests.events import load_event``.

Tests by kind: ``unit/`` pure (no AWS, no HTTP), ``functional/`` the handlers and adapters over
in-process moto, fakes or botocore's Stubber, ``local/`` the local stack's own parts,
``integration/`` the whole local stack over HTTP/SQS/EventBridge; ``support/`` their shared builders.
"""

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def pytest_report_header(config):
    # Here, not in tests/integration/conftest.py: the header is printed before that one is loaded.
    from tests.integration import backends

    return backends.report_header()


@pytest.fixture
def template():
    """template.yaml as the local stack reads it (pure: no AWS)."""
    from local.template import LocalTemplate

    return LocalTemplate.load()
