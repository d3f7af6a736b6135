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


# The session's header, summary and xdist scheduling are here, not in tests/integration/conftest.py:
# the header is printed before that one is loaded, and pytest-xdist's controller (which schedules and
# prints the summary) never loads it, as it collects nothing.

INTEGRATION = "tests/integration/"


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook, asked once by the controller
def pytest_xdist_make_scheduler(config, log):
    """With -n (`make test`): the integration tests are one unit of work, which one worker runs in
    collection order as a serial run does, so each stack starts once, and the heavy tests (the fuzzing
    within its time box, the soak, the quick bench) never share the machine with one another; the
    other workers share out the unit, functional and local tests.
    pytest-xdist's own --dist loadgroup cannot say this under pytest 9.2 (it groups by renaming node
    ids through an attribute pytest 9.2 no longer reads). An explicit --dist keeps xdist's schedulers."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class IntegrationAsOneUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return INTEGRATION if nodeid.startswith(INTEGRATION) else nodeid

    return IntegrationAsOneUnit(config, log)


def pytest_report_header(config):
    from tests.integration import backends

    return backends.report_header()


def pytest_sessionfinish(session):
    from tests.integration import openapi_conformance

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its checked answers go to the controller
        workeroutput["checkedAnswers"] = sorted(openapi_conformance.checked_answers())


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the controller hears from a finished worker
def pytest_testnodedown(node, error):
    from tests.integration import openapi_conformance

    openapi_conformance.add_checked_answers(getattr(node, "workeroutput", {}).get("checkedAnswers", []))


def pytest_terminal_summary(terminalreporter):
    from tests.integration import openapi_conformance

    checked = openapi_conformance.checked_answers()
    if checked:
        terminalreporter.write_sep("-", "answers checked against /openapi.json")
        operations = sorted({(method, path) for method, path, _ in checked})
        for method, path in operations:
            codes = sorted(status for m, p, status in checked if (m, p) == (method, path))
            terminalreporter.write_line(f"  {method} {path}: {', '.join(map(str, codes))}")


@pytest.fixture
def template():
    """template.yaml as the local stack reads it (pure: no AWS)."""
    from local.template import LocalTemplate

    return LocalTemplate.load()
