"""The two DynamoDB backends the local stack can run on, for the integration tests.

The session's `stack` fixture is parametrized over them, so every integration test that uses
the stack runs against DynamoDB Local and against the moto fallback `make run` uses when Java
is missing; test ids end in `[dynamodb-local]` / `[moto]`. A test whose guarantee rests on
DynamoDB's atomicity under concurrent requests (moto has none: no isolation between requests)
is marked `needs_dynamodb_local` and skipped on moto, never weakened. Without Java the
DynamoDB Local half is skipped, saying so. `INTEGRATION_BACKENDS=moto` (comma-separated) runs
a subset.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from functools import cache

import pytest

from local.dynamodb_local import java_available

BACKENDS = ("dynamodb-local", "moto")
MARKER = "needs_dynamodb_local"
MOTO_REASON = "needs DynamoDB Local: moto's writes are not isolated under concurrent requests"


def selected() -> list[str]:
    raw = os.environ.get("INTEGRATION_BACKENDS") or ",".join(BACKENDS)
    chosen = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"INTEGRATION_BACKENDS: unknown {sorted(unknown)}; choose from {BACKENDS}")
    return chosen


def params() -> list:
    return [pytest.param(name, id=name) for name in selected()]


@cache
def java() -> bool:
    return java_available()


def require(backend: str) -> None:
    """Skip (not fail) the DynamoDB Local half when there is no Java to run it."""
    if backend == "dynamodb-local" and not java():
        pytest.skip("DynamoDB Local backend not run: Java 17+ not found (the moto backend still runs)")


def report_header() -> str:
    backends = ", ".join(selected())
    java_note = "Java found" if java() else "Java NOT found: the DynamoDB Local half will be skipped"
    return f"integration stack DynamoDB backends: {backends} ({java_note})"


def backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("stack") if callspec is not None else None


# The backend rides on each test's report (user_properties), so it is counted where the reports
# arrive: in the one pytest process of a serial run, in pytest-xdist's controller otherwise.
PROPERTY = "dynamodbBackend"
_outcomes: dict[str, Counter] = defaultdict(Counter)


def modify_items(items: list[pytest.Item]) -> None:
    for item in items:
        backend = backend_of(item)
        if backend is None:
            continue
        item.user_properties.append((PROPERTY, backend))
        marker = item.get_closest_marker(MARKER)
        if backend == "moto" and marker is not None:
            item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason") or MOTO_REASON))


def log_report(report: pytest.TestReport) -> None:
    backend = dict(report.user_properties).get(PROPERTY)
    if backend is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _outcomes[backend][report.outcome if not (report.failed and report.when == "setup") else "error"] += 1


def summary_lines() -> list[str]:
    lines = []
    for backend in selected():
        counts = _outcomes.get(backend)
        if not counts:
            continue
        shown = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
        lines.append(f"  {backend}: {shown}")
    return lines
