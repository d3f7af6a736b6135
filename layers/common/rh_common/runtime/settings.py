"""Typed reads of the function environment that template.yaml sets."""

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


def resend_max_items() -> int:
    """RESEND_MAX_ITEMS: the items of one resend (POST /resends, quote, a batch's group)."""
    return integer("RESEND_MAX_ITEMS", 5)


def batch_max_items() -> int:
    """BATCH_MAX_ITEMS: the items of one plan or batch."""
    return integer("BATCH_MAX_ITEMS", 50)


def optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None
