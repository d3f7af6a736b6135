"""SnapStart hooks: registered only where Lambda's runtime provides snapshot_restore_py, and what they do."""

from __future__ import annotations

import random
import sys
import types

import pytest

from rh_common.adapters.dynamodb import base
from rh_common.runtime import snapstart


def test_outside_lambda_nothing_is_registered() -> None:
    assert "snapshot_restore_py" not in sys.modules
    assert snapstart.register() is False


def test_in_lambda_the_hooks_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for the runtime's module (it exists only in Lambda): records what is registered.
    before, after = [], []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = before.append
    runtime.register_after_restore = after.append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)

    def own() -> None:
        pass

    assert snapstart.register(own) is True
    assert before == [snapstart.prepare, own]
    assert after == [snapstart.refresh]


def test_prepare_creates_the_dynamodb_client_before_the_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    base.client.cache_clear()
    snapstart.prepare()
    assert base.client.cache_info().currsize == 1
    assert "aws_lambda_powertools.utilities.parameters" in sys.modules
    base.client.cache_clear()


def test_refresh_reseeds_random_so_restored_copies_draw_differently() -> None:
    random.seed(13)
    snapshot = random.getstate()  # what every environment restored from one snapshot starts with
    first = [random.random() for _ in range(3)]
    random.setstate(snapshot)
    snapstart.refresh()
    assert [random.random() for _ in range(3)] != first
