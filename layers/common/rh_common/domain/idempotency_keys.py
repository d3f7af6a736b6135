"""The Idempotency-Key grammar (contract section 3), for both doors: the merchant API's header and the
automation queue's `idempotencyKey`; and every key derived from one, or from our own state, for a
record's id or a Return Helper call (the one home of their formats: a changed format would orphan the
records and repeat the upstream operations of deployed stacks).

1-255 printable ASCII characters (0x21-0x7E, with spaces inside), no leading or trailing space. The key
travels to Return Helper as the `x-returnhelper-idempotency-key` header on every attempt, so a key that
HTTP cannot carry (a non-ASCII character, a newline) must be refused before anything is stored or
reserved: `requests` would refuse it only at the first upstream call, with the items already held.
Pydantic-free: the resend worker checks keys before it imports pydantic.
"""

from __future__ import annotations

import re
import uuid
from typing import TypeGuard

MAX_LENGTH = 255
# A batch's groups are keyed `<key>#g<index>` (group_key below): room for the suffix.
BATCH_MAX_LENGTH = 200

# uuid5 namespaces: fixed for ever (stored ids and keys already sent upstream are derived with them).
_REQUEST_IDS = uuid.UUID("6f1d7b0e-2f43-4a57-9a8e-52f3c1b0d9a4")
_HOLD_KEYS = uuid.UUID("0b6f4f7e-52a8-4a1f-9d0c-3f0e1c7d2a51")
_FULFILMENT_IDS = uuid.UUID("c3a0e6d2-7b1f-4e35-8f2a-91d4b6e0a7c5")

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


# ------------------------------------------------------------------ derived keys


def request_id_for(idempotency_key: str | None) -> str:
    """The resend request id a key names: the same key always names the same record, so a conditional put
    on it is the idempotency check (strongly consistent). Without a key, a new id each time."""
    return str(uuid.uuid5(_REQUEST_IDS, idempotency_key)) if idempotency_key else str(uuid.uuid4())


def group_key(batch_key: str, index: int) -> str:
    """The Idempotency-Key of a batch's group `index` (0-based): each group is a resend request of its own."""
    return f"{batch_key}#g{index}"


def fulfilment_id_for(idempotency_key: str) -> str:
    """The fulfilment id a POST /fulfilments key names (its record's key in the batch table: FULFILMENT_PREFIX)."""
    return str(uuid.uuid5(_FULFILMENT_IDS, idempotency_key))


def fulfilment_group_key(fulfilment_key: str, warehouse_id: int, round_: int, index: int = 0) -> str:
    """The Idempotency-Key of a fulfilment's resend of one warehouse: `round_` counts the picks made again after
    a unit turned out reserved (a stale index), `index` the groups a warehouse needs over RESEND_MAX_ITEMS."""
    return f"{fulfilment_key}#f{warehouse_id}.{round_}.{index}"


def cancel_key(request_id: str) -> str:
    """Return Helper's idempotency key for cancelling the resend a request created (every attempt alike)."""
    return f"cancel-{request_id}"


def hold_key(inventory_id: int, version: str | None) -> str:
    """Return Helper's idempotency key for putting an item on hold: the same item state gives the same key,
    so a retried hold is one operation upstream."""
    return str(uuid.uuid5(_HOLD_KEYS, f"{inventory_id}#{version}"))
