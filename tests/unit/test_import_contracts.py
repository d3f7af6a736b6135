"""The import contracts of rh_common (pyproject.toml [tool.importlinter]) fail on a forbidden import.

`make test` runs `lint-imports` over the real package; here it runs over a copy with one import added,
so each contract is shown to catch what it forbids (and the untouched copy to pass).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "rh_common"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(layer: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, before the editable install's finder.
    env = {**os.environ, "PYTHONPATH": str(layer)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=layer,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "rh_common", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_package_as_it_is_keeps_every_contract(layer: Path) -> None:
    result = lint_imports(layer)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        str(layer)
        in subprocess.run(
            [sys.executable, "-c", "import rh_common; print(rh_common.__file__)"],
            env={**os.environ, "PYTHONPATH": str(layer)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    ), "lint-imports would have read the installed package, not the copy"


@pytest.mark.parametrize(
    ("module", "added", "broken"),
    [
        ("domain/codes.py", "from rh_common.adapters.dynamodb import base", "BROKEN"),
        ("domain/codes.py", "import botocore", "the domain imports the standard library only BROKEN"),
        ("domain/inventory.py", "import pydantic", "the domain imports the standard library only BROKEN"),
        ("adapters/dynamodb/quote_cache.py", "from rh_common.services import quote_service", "BROKEN"),
        ("services/hold_service.py", "from rh_common.adapters.dynamodb import inventory_store", "BROKEN"),
        ("services/hold_service.py", "import boto3", "through the ports only BROKEN"),
        ("contract/views.py", "from rh_common.runtime import wiring", "BROKEN"),
    ],
    ids=[
        "domain-imports-an-adapter",
        "domain-imports-botocore",
        "domain-imports-pydantic",
        "adapter-imports-a-service",
        "service-imports-an-adapter",
        "service-imports-boto3",
        "contract-imports-runtime",
    ],
)
def test_a_forbidden_import_fails_the_contracts(layer: Path, module: str, added: str, broken: str) -> None:
    source = layer / "rh_common" / module
    source.write_text(source.read_text() + f"\n{added}  # noqa\n")
    result = lint_imports(layer)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout
