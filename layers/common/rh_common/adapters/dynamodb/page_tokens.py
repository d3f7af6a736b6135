"""Page tokens (`nextToken`), one home for every listing: a DynamoDB start key as URL-safe base64 JSON.

A token comes back from anyone, so it is decoded against the exact shape the listing issues (its key
names, each value's type, numbers a DynamoDB key can hold) before it becomes an ExclusiveStartKey:
anything else is InvalidPageToken (422 on `nextToken`), never a DynamoDB ValidationException (a 500).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from rh_common.domain import json_limits
from rh_common.domain.errors import InvalidPageToken

# What the listings put in a token: ids, epoch numbers and key strings. A string is at most DynamoDB's
# sort key size; a number is a non-negative int64 (what an id or a time is; never 41 digits).
_MAX_INT = 2**63 - 1
_MAX_TEXT = 1024
_NOT_OURS = "nextToken is not a token from this listing"


def encode(fields: Mapping[str, str | int]) -> str:
    raw = json.dumps(dict(fields), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, shape: Mapping[str, type[str] | type[int]]) -> dict[str, str | int]:
    """The token's fields, exactly `shape`'s names with values of its types, else InvalidPageToken."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, or a character that is not ASCII
        raise InvalidPageToken(_NOT_OURS) from exc
    if json_limits.too_deep(raw):
        raise InvalidPageToken(_NOT_OURS)
    try:
        fields = json.loads(raw)
    except ValueError as exc:
        raise InvalidPageToken(_NOT_OURS) from exc
    if not isinstance(fields, dict) or set(fields) != set(shape):
        raise InvalidPageToken(_NOT_OURS)
    for name, kind in shape.items():
        if not _is(fields[name], kind):
            raise InvalidPageToken(_NOT_OURS)
    return fields


def _is(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and 0 <= value <= _MAX_INT
    return type(value) is str and 0 < len(value) <= _MAX_TEXT
