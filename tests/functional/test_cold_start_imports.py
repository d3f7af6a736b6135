"""What a handler module never imports: libraries (or parts) its init never needs (a cold start pays for each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import rh_common
from local.template import LocalTemplate

LAYER = Path(rh_common.__file__).parents[1]
NEVER_IMPORTED = {
    "WebhookFunction": ("requests", "pydantic", "pycountry"),  # calls no Return Helper API; no pydantic model
    "EventPublisherFunction": ("requests", "pydantic", "pycountry"),
    "InventoryReferenceFunction": ("requests", "pydantic", "pycountry"),
    # requests: only the scheduled runs call Return Helper (its stream invocations release parked reports)
    "ReconcilerFunction": ("pydantic", "pycountry", "requests"),
    # Powertools' OpenAPI models: only /openapi.json and /docs build the document; requests: only the
    # routes that call Return Helper build its client
    "MerchantApiFunction": ("aws_lambda_powertools.event_handler.openapi.models", "requests"),
    # retries and sync pages need no request model: an automation resend's body imports them on first use
    "ResendWorkerFunction": ("pydantic", "pycountry"),
}


@pytest.mark.parametrize(("logical_id", "modules"), list(NEVER_IMPORTED.items()))
def test_a_handler_module_imports_without_the_libraries_its_path_never_calls(logical_id, modules) -> None:
    # GIVEN an interpreter where those libraries cannot be imported
    spec = LocalTemplate.load().functions()[logical_id]
    env = {**os.environ, **spec.environment, "RH_SECRET_ID": "rh-secret", "AWS_DEFAULT_REGION": "us-east-1"}
    env["PYTHONPATH"] = os.pathsep.join([str(spec.code_dir), str(LAYER)])
    script = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if any(name == m or name.startswith(m + '.') for m in {modules!r}):\n"
        "            raise ImportError(name + ' imported')\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import app\n"
    )
    # WHEN the handler module is imported / THEN it imports
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=spec.code_dir, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
