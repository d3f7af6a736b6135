"""Typed reads of the function environment that template.yaml sets (the item caps: contract.item_caps)."""

from __future__ import annotations

import os


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (template.yaml sets it)")
    return value


def integer(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def code_set(name: str, default: str) -> frozenset[str]:
    raw = os.environ.get(name, "").strip() or default
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None
