"""Schemathesis over the running stack's own /openapi.json: no finding, or the test fails.

The stack is seeded first with what the document's examples name (inventories arrive through
signed webhooks; the example resend is created with the example Idempotency-Key), so the
examples reach 200s and the stateful phase follows POST /resends' links to real resends.
Configuration and the reasons for what it leaves out: schemathesis.toml at the project root.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from local.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_SECONDS = 60
ARTIFACTS = PROJECT_ROOT / ".local" / "artifacts"


def _seeded(parameter_or_body: dict) -> object:
    return parameter_or_body["examples"]["seeded"]["value"]


def _arrive(stack: dict, inventory_id: int, warehouse_id: int) -> None:
    """The emulator registers the parcel and sends its signed newInventoryCreated webhook to the stack."""
    arrived = requests.post(
        f"{stack['emulator']}/_emulator/inventories",
        json={"returnInventoryId": inventory_id, "warehouseId": warehouse_id},
        timeout=30,
    )
    assert arrived.status_code == 201 and arrived.json()["webhook"]["status"] == 200, arrived.text


def seed_examples(stack: dict, api) -> dict:
    """Make the document's example values name real records; returns them."""
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")
    paths = requests.get(f"{stack['api']}/openapi.json", timeout=10).json()["paths"]
    inventory_id = _seeded(paths["/inventories/{returnInventoryId}"]["get"]["parameters"][0])
    warehouse_id = _seeded(paths["/inventories"]["get"]["parameters"][0])
    create = paths["/resends"]["post"]
    body = _seeded(create["requestBody"]["content"]["application/json"])
    key = _seeded(next(p for p in create["parameters"] if p["name"].lower() == "idempotency-key"))
    for extra in (0, 1, 2):  # the example item and two neighbours a fuzzer may name
        _arrive(stack, inventory_id + extra, warehouse_id)
    created = api.post("/resends", json=body, headers={"Idempotency-Key": key})
    assert created.status_code in (201, 202), created.text
    return {"inventoryId": inventory_id, "idempotencyKey": key, "resendRequestId": created.json()["resendRequestId"]}


def summary_of(output: str) -> dict:
    """Operations tested and test cases generated, from st run's SUMMARY."""
    tested = re.search(r"Tested:\s*(\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    return {
        "operationsTested": int(tested.group(1)) if tested else None,
        "cases": int(cases.group(1)) if cases else None,
    }


def test_schemathesis_finds_nothing(stack, api):
    seeded = seed_examples(stack, api)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = ARTIFACTS / f"schemathesis-{stack['dynamodbBackend']}.txt"
    har = report.with_suffix(".har.json")  # every request and answer, for the per-operation check below
    env = {
        **os.environ,
        "SCHEMATHESIS_API_KEY": stack["apiKey"],
        "NO_COLOR": "1",
        # the operator routes (SigV4 in the document) signed with the stack's operator credentials
        "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks",
        "SCHEMATHESIS_OPERATOR": json.dumps(stack["operator"]),
    }
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{stack['api']}/openapi.json",
            "--url",
            stack["api"],
            "--checks",
            CHECKS,
            "--max-time",
            str(MAX_SECONDS),
            "--no-color",
            "--report",
            "har",
            "--report-har-path",
            str(har),
        ],
        cwd=PROJECT_ROOT,  # schemathesis.toml
        env=env,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS * 4,
    )
    output = run.stdout + run.stderr
    report.write_text(output)
    summary = summary_of(output)
    print(f"schemathesis: {summary}, seeded {seeded}; full output in {report}")
    assert run.returncode == 0, f"schemathesis found something (full output in {report}):\n{output[-6000:]}"
    paths = requests.get(f"{stack['api']}/openapi.json", timeout=10).json()["paths"]
    operations = [(method.upper(), path) for path, ops in paths.items() for method in ops]
    assert summary["operationsTested"] == len(operations), output[-3000:]
    assert summary["cases"] and summary["cases"] > 100, output[-3000:]
    answered = statuses_by_operation(json.loads(har.read_text()), operations)
    only_404 = [operation for operation, codes in answered.items() if codes <= {404}]
    assert not only_404, f"only ever answered 404: {only_404} ({answered})"
    # the operator routes were reached, not only refused for want of a signature
    only_403 = [operation for operation, codes in answered.items() if codes <= {403}]
    assert not only_403, f"only ever answered 403: {only_403} ({answered})"


def statuses_by_operation(har: dict, operations: list[tuple[str, str]]) -> dict[tuple[str, str], set[int]]:
    """The statuses each documented operation was answered with, from the HAR report."""
    patterns = {
        (method, template): re.compile(
            "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
        )
        for method, template in operations
    }
    answered: dict[tuple[str, str], set[int]] = {operation: set() for operation in operations}
    for entry in har["log"]["entries"]:
        path = urlsplit(entry["request"]["url"]).path
        for (method, template), pattern in patterns.items():
            if entry["request"]["method"] == method and pattern.fullmatch(path):
                answered[(method, template)].add(entry["response"]["status"])
    return answered
