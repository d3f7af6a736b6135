"""The type check (make typecheck) fails a fake that drifted from its port, as tests/support/port_conformance.py
types every fake: the same pattern over a fake with a wrong signature, through mypy's own API and the
project's [tool.mypy] configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

RETRIES_WITH = """
from rh_common.services import ports

class FakeRetries:
    def schedule(self, {parameters}) -> str:
        return "message-1"

retries: ports.RetryScheduler = FakeRetries()
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("type_check")  # its own mypy cache too: make typecheck may be writing .mypy_cache


def check(program: str, workdir: Path) -> tuple[str, int]:
    module = workdir / "fake_retries.py"  # a file: the configuration's `files` rule out `mypy -c`
    module.write_text(program)
    cache = workdir / ".mypy_cache"
    stdout, stderr, status = api.run(["--config-file", str(PYPROJECT), "--cache-dir", str(cache), str(module)])
    return stdout + stderr, status


def test_a_fake_with_the_ports_signature_passes(workdir: Path) -> None:
    # GIVEN a fake whose method has the port's signature / WHEN mypy checks it as the port / THEN it passes
    report, status = check(RETRIES_WITH.format(parameters="resend_request_id: str, delay_seconds: int"), workdir)
    assert status == 0, report


def test_a_fake_with_a_wrong_signature_fails_the_check(workdir: Path) -> None:
    # GIVEN a fake whose `schedule` lost the delay
    # WHEN mypy checks it as the port
    report, status = check(RETRIES_WITH.format(parameters="resend_request_id: str"), workdir)
    # THEN the assignment is a type error naming the port
    assert status == 1, report
    assert 'expression has type "FakeRetries", variable has type "RetryScheduler"' in report
