"""The Idempotency-Key grammar (contract section 3), for both doors: the merchant API's header and the
automation queue's `idempotencyKey`.

1-255 printable ASCII characters (0x21-0x7E, with spaces inside), no leading or trailing space. The key
travels to Return Helper as the `x-returnhelper-idempotency-key` header on every attempt, so a key that
HTTP cannot carry (a non-ASCII character, a newline) must be refused before anything is stored or
reserved: `requests` would refuse it only at the first upstream call, with the items already held.
Pydantic-free: the resend worker checks keys before it imports pydantic.
"""

from __future__ import annotations

import re
from typing import TypeGuard

MAX_LENGTH = 255
# A batch's groups are keyed `<key>#g<index>` (rh_common.services.batch_service.group_key): room for the suffix.
BATCH_MAX_LENGTH = 200

_GRAMMAR = re.compile(r"[!-~](?:[ -~]*[!-~])?")
# The same grammar for the OpenAPI document (the length is the schema's maxLength).
PATTERN = r"^[!-~]([ -~]*[!-~])?$"


def rule(max_length: int = MAX_LENGTH) -> str:
    return f"must be 1-{max_length} printable ASCII characters, without leading or trailing spaces"


def is_valid(key: object, max_length: int = MAX_LENGTH) -> TypeGuard[str]:
    return isinstance(key, str) and len(key) <= max_length and _GRAMMAR.fullmatch(key) is not None


def checked(key: str | None, max_length: int = MAX_LENGTH) -> str | None:
    """The key unchanged (None: no key given), else ValueError with the rule (never the key: it is the
    caller's text, which may carry anything)."""
    if key is not None and not is_valid(key, max_length):
        raise ValueError(f"Idempotency-Key {rule(max_length)}")
    return key


def checked_batch_key(key: str | None) -> str | None:
    return checked(key, BATCH_MAX_LENGTH)
