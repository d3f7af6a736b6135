"""`make bench-quick` runs and writes every figure. Benchmarks are not timed tests: no number is judged here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.warm import OPERATIONS
from local.settings import PROJECT_ROOT
from local.template import LocalTemplate

pytestmark = pytest.mark.integration


def test_quick_bench_writes_the_table_and_its_json_twin_with_every_figure(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out-dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    page = (tmp_path / "benchmarks.md").read_text()

    template = LocalTemplate.load()
    functions = set(template.functions())
    assert set(results["coldStart"]["functions"]) == functions
    for row in results["coldStart"]["functions"].values():
        assert row["importAndClient"]["median"] > 0 and row["ratio"] > 0 and row["venv"]["median"] > 0
    snapstart = {name for name, row in results["coldStart"]["functions"].items() if "snapshotInit" in row}
    assert snapstart == {"WebhookFunction", "MerchantApiFunction"}
    assert set(results["warm"]["operations"]) == set(OPERATIONS)
    assert set(results["dynamodb"]["operations"]) == set(OPERATIONS)
    assert "artifacts" in results["artifacts"] and results["artifacts"]["source"]
    figures = [goal["figure"] for goal in results["goals"]]
    # cold starts, four layer goals, four warm goals, six request goals
    assert len(figures) == len(functions) + 4 + 4 + 6, figures
    assert all(goal["met"] in (True, False) for goal in results["goals"])

    headings = ("## Every goal, before and after", "## 1. Cold start", "## 2. Warm", "## 3. DynamoDB", "## 4. Built")
    for heading in headings:
        assert heading in page
    for name in [*functions, *(label for label in OPERATIONS.values()), *figures]:
        assert f"| {name} |" in page, f"no table row for {name}"
    assert "Quick mode" in page  # never mistaken for the real numbers
