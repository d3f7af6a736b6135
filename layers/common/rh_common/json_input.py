"""JSON from outside, read so that nothing in it can crash the reader or lose a digit.

Numbers with a fraction or an exponent become `Decimal` exactly as written (`620.0` stays
`620.0`; a float would be refused by boto3 and round `5.1`); `NaN` and `Infinity`, which
are not JSON, are refused; so is nesting deeper than MAX_DEPTH (contract section 10: the
stdlib parser raises RecursionError on 50,000 nested lists, and anything that walks a deep
value after it would too).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

MAX_DEPTH = 64


class UnreadableJson(ValueError):
    """Not JSON we read; the message says why and never quotes the input."""


def _not_a_number(name: str) -> Any:
    raise UnreadableJson(f"{name} is not a JSON number")


def load(raw: bytes | str) -> Any:
    """The JSON value; raises UnreadableJson (a ValueError, as json's own errors are)."""
    try:
        value = json.loads(raw, parse_float=Decimal, parse_constant=_not_a_number)
    except RecursionError:
        raise UnreadableJson(f"nested deeper than {MAX_DEPTH} levels") from None
    if deeper_than(value, MAX_DEPTH, raw):
        raise UnreadableJson(f"nested deeper than {MAX_DEPTH} levels")
    return value


def deeper_than(value: Any, limit: int, raw: bytes | str | None = None) -> bool:
    """Whether objects and arrays nest more than `limit` levels (the outermost is level 1)."""
    if raw is not None:
        # Every level opens with a bracket: few brackets in all, no need to walk (the usual case).
        opened = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else raw.count("[") + raw.count("{")
        if opened <= limit:
            return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
