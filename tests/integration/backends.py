"""Which DynamoDB the integration tests' stacks run on: the one `make run` chooses.

DynamoDB Local when Java is found; the moto fallback only where Java is missing (or when
LOCAL_DYNAMODB=moto asks for it). On moto, a test whose guarantee rests on DynamoDB's atomicity
under concurrent requests (moto has no isolation between requests) is marked
`needs_dynamodb_local` and skipped, never weakened.
"""

from __future__ import annotations

import os
from functools import cache

import pytest

from local.dynamodb_local import java_available

MARKER = "needs_dynamodb_local"
MOTO_REASON = "needs DynamoDB Local: moto's writes are not isolated under concurrent requests"


@cache
def backend() -> str:
    requested = os.environ.get("LOCAL_DYNAMODB", "auto")
    if requested in ("dynamodb-local", "moto"):
        return requested
    return "dynamodb-local" if java_available() else "moto"


def report_header() -> str:
    if backend() == "moto":
        return f"integration stack DynamoDB: moto (tests marked {MARKER} are skipped)"
    return "integration stack DynamoDB: DynamoDB Local"


def skip_on_moto(items: list[pytest.Item]) -> None:
    if backend() != "moto":
        return
    for item in items:
        marker = item.get_closest_marker(MARKER)
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason") or MOTO_REASON))
