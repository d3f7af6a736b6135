"""Unit tests run without a function's environment; the request models read their item caps from it, and
the code has no default for them: template.yaml's are the one (rh_common.runtime.settings says why)."""

from __future__ import annotations

import functools

import pytest

from local.template import LocalTemplate

ITEM_CAPS = ("RESEND_MAX_ITEMS", "BATCH_MAX_ITEMS")


@functools.cache
def _merchant_api_environment() -> dict[str, str]:
    return dict(LocalTemplate.load().functions()["MerchantApiFunction"].environment)


@pytest.fixture(autouse=True)
def item_caps_as_the_template_sets_them(monkeypatch):
    environment = _merchant_api_environment()
    for name in ITEM_CAPS:
        monkeypatch.setenv(name, environment[name])
