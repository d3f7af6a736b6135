"""Typed reads of the function environment that template.yaml sets (the item caps: contract.item_caps).

No defaults here: template.yaml is the one home of every setting's default (a parameter's Default, or
the value the function's environment names). Lambda always gets that environment and the local stack
reads it from the template, so a setting missing here is a template that does not set it: refused at
once, not run with a second, drifting default.
"""

from __future__ import annotations

import os


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (template.yaml sets it)")
    return value


def integer(name: str) -> int:
    return int(required(name))


def code_set(name: str) -> frozenset[str]:
    return frozenset(part.strip() for part in required(name).split(",") if part.strip())


def optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None
