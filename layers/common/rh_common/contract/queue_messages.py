"""The messages the resend worker takes, one shape per queue (contract sections 5 and 10).

- the resend request queue (automation, written by the merchant's systems): the intake shapes only,
  {"idempotencyKey": str, "request": <CreateResend body>}, or with "batch": true
  {"idempotencyKey": str, "batch": true, "request": <POST /resends/batch body>}, or
  {"idempotencyKey": str, "fulfilment": <POST /fulfilments body>} (section 12)
- the retry queue (written by this system only): {"resendRequestId": str}
- the inventory sync queue (this system only): {"kind": "inventorySyncPage" | "inventoryReread", "syncId", ...}
  (made and read by rh_common.services.inventory_sync)
- the delivery replay queue (this system only): {"kind": "deliveryReplayPage", "replayId", "page"}
  (made and read by rh_common.services.delivery_replay)

Each queue has its own parser, and each refuses every other shape: whoever may send to the automation
queue must not be able to burn a request's attempts with a retry-shaped message, nor fail a running
sync with a page-shaped one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rh_common.domain import idempotency_keys, json_limits


class MalformedMessage(ValueError):
    """Not the queue's shape. The message says why without quoting it (it may be anyone's text)."""


@dataclass(frozen=True)
class IntakeMessage:
    idempotency_key: str
    request: Any
    batch: bool = False
    fulfilment: bool = False  # `request` is a POST /fulfilments body


@dataclass(frozen=True)
class RetryMessage:
    resend_request_id: str


@dataclass(frozen=True)
class SyncPageMessage:
    body: dict[str, Any]


@dataclass(frozen=True)
class ReplayPageMessage:
    body: dict[str, Any]


SYNC_KINDS = frozenset({"inventorySyncPage", "inventoryReread"})
REPLAY_KIND = "deliveryReplayPage"
_INTAKE_KEYS = frozenset({"idempotencyKey", "request", "batch"})
_FULFILMENT_KEYS = frozenset({"idempotencyKey", "fulfilment"})
_LOGGED_KEYS = 20  # key names logged for a refused message, at most
_LOGGED_KEY_LENGTH = 40


def intake(body: str) -> IntakeMessage:
    """An automation message (the resend request queue)."""
    message = _object(body)
    if "fulfilment" in message:
        if set(message) != _FULFILMENT_KEYS:
            raise MalformedMessage("not an automation fulfilment: {idempotencyKey, fulfilment} only")
        return IntakeMessage(
            _checked_key(message, idempotency_keys.BATCH_MAX_LENGTH), message["fulfilment"], fulfilment=True
        )
    unexpected = set(message) - _INTAKE_KEYS
    if unexpected or "request" not in message:
        raise MalformedMessage("not an automation resend request: {idempotencyKey, request[, batch]} only")
    batch = message.get("batch", False)
    if not isinstance(batch, bool):
        raise MalformedMessage("batch must be true or false")
    # Checked before anything is reserved: upstream's header carries the key on every attempt.
    max_length = idempotency_keys.BATCH_MAX_LENGTH if batch else idempotency_keys.MAX_LENGTH
    return IntakeMessage(_checked_key(message, max_length), message["request"], batch)


def _checked_key(message: dict[str, Any], max_length: int) -> str:
    key = message.get("idempotencyKey")
    if not idempotency_keys.is_valid(key, max_length):
        raise MalformedMessage(f"idempotencyKey {idempotency_keys.rule(max_length)}")
    return key


def retry(body: str) -> RetryMessage:
    """A retry of a transiently failed submission (the retry queue, rh_common.adapters.sqs.retry_queue)."""
    message = _object(body)
    request_id = message.get("resendRequestId")
    if set(message) != {"resendRequestId"} or not isinstance(request_id, str) or not request_id:
        raise MalformedMessage("not a retry: {resendRequestId: non-empty string} only")
    return RetryMessage(request_id)


def sync_page(body: str) -> SyncPageMessage:
    """A page of an inventory sync (the sync queue)."""
    message = _object(body)
    if message.get("kind") not in SYNC_KINDS or not isinstance(message.get("syncId"), str):
        raise MalformedMessage("not an inventory sync page: kind and syncId (a string) required")
    return SyncPageMessage(message)


def replay_page(body: str) -> ReplayPageMessage:
    """A page of a delivery replay (the delivery replay queue)."""
    message = _object(body)
    page = message.get("page")
    if (
        message.get("kind") != REPLAY_KIND
        or not isinstance(message.get("replayId"), str)
        or type(page) is not int
        or page < 0
    ):
        raise MalformedMessage("not a delivery replay page: kind, replayId (a string) and page (an int) required")
    return ReplayPageMessage(message)


def key_names(body: str) -> list[str] | str:
    """What a refused message may be logged by: its top-level key names (capped), never a value."""
    try:
        message = _object(body)
    except MalformedMessage as malformed:
        return str(malformed)
    return [str(name)[:_LOGGED_KEY_LENGTH] for name in sorted(message)[:_LOGGED_KEYS]]


def _object(body: str) -> dict[str, Any]:
    if json_limits.too_deep(body):
        raise MalformedMessage(f"body is nested deeper than {json_limits.MAX_DEPTH} levels")
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise MalformedMessage("body is not JSON") from exc
    if not isinstance(message, dict):
        raise MalformedMessage("body is not a JSON object")
    return message
