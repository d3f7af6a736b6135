"""JSON from outside, read so that nothing in it can crash the reader or lose a digit.

Numbers with a fraction or an exponent become `Decimal` exactly as written (`620.0` stays
`620.0`; a float would be refused by boto3 and round `5.1`); `NaN` and `Infinity`, which
are not JSON, are refused; so is nesting deeper than json_limits.MAX_DEPTH (contract section
10), counted before the stdlib parser, which raises RecursionError on 50,000 nested lists.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from rh_common.domain import json_limits


class UnreadableJson(ValueError):
    """Not JSON we read; the message says why and never quotes the input."""


def _not_a_number(name: str) -> Any:
    raise UnreadableJson(f"{name} is not a JSON number")


def load(raw: bytes | str) -> Any:
    """The JSON value; raises UnreadableJson (a ValueError, as json's own errors are)."""
    if json_limits.too_deep(raw):  # before json.loads, which recurses once per level
        raise UnreadableJson(f"nested deeper than {json_limits.MAX_DEPTH} levels")
    return json.loads(raw, parse_float=Decimal, parse_constant=_not_a_number)
