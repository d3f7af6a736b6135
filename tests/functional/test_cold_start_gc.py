"""rh_common.runtime.cold_start: no garbage collection while a handler module imports, back on (and what the
import made frozen) once it has."""

from __future__ import annotations

import gc
import importlib

import pytest

from local.template import LocalTemplate
from rh_common.runtime import cold_start


def test_importing_it_turns_collection_off_until_the_module_says_it_is_done() -> None:
    gc.unfreeze()
    try:
        importlib.reload(cold_start)  # what the first import in a fresh process does
        assert not gc.isenabled()
    finally:
        cold_start.finished()
    assert gc.isenabled()
    # What the init made is left out of later collections (gc.freeze).
    assert gc.get_freeze_count() > 0


@pytest.mark.parametrize("logical_id", list(LocalTemplate.load().functions()))
def test_every_handler_module_leaves_collection_on(load_function, logical_id: str) -> None:
    gc.disable()  # as a fresh process's first import of rh_common.runtime.cold_start leaves it
    try:
        module = load_function(logical_id)
    finally:
        enabled = gc.isenabled()
        gc.enable()
    assert module.cold_start is cold_start and enabled
