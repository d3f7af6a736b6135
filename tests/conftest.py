"""Make the repository root importable, so tests can ``from tests.events import load_event``."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def pytest_report_header(config):
    # Here, not in tests/integration/conftest.py: the header is printed before that one is loaded.
    from tests.integration import backends

    return backends.report_header()
