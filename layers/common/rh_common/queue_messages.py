"""The kinds of message the resend worker takes, told apart by shape.

- automation intake (contract section 5): {"idempotencyKey": str, "request": <CreateResend body>},
  or with "batch": true {"idempotencyKey": str, "batch": true, "request": <POST /resends/batch body>}
- retry of a transiently failed submission: {"resendRequestId": str}
- a page of an inventory sync: {"kind": "inventorySyncPage" | "inventoryReread", "syncId", ...}
  (made and read by rh_common.inventory_sync_service)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rh_common import idempotency_keys


class MalformedMessage(ValueError):
    """Neither shape: a poison message, left for the queue's redrive policy (DLQ)."""


@dataclass(frozen=True)
class IntakeMessage:
    idempotency_key: str
    request: Any
    batch: bool = False


@dataclass(frozen=True)
class RetryMessage:
    resend_request_id: str


@dataclass(frozen=True)
class SyncPageMessage:
    body: dict[str, Any]


SYNC_KINDS = frozenset({"inventorySyncPage", "inventoryReread"})


def parse(body: str) -> IntakeMessage | RetryMessage | SyncPageMessage:
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise MalformedMessage("body is not JSON") from exc
    if not isinstance(message, dict):
        raise MalformedMessage("body is not a JSON object")
    if message.get("kind") in SYNC_KINDS:
        if not isinstance(message.get("syncId"), str):
            raise MalformedMessage("syncId must be a string")
        return SyncPageMessage(message)
    if "resendRequestId" in message:
        request_id = message["resendRequestId"]
        if not isinstance(request_id, str) or not request_id:
            raise MalformedMessage("resendRequestId must be a non-empty string")
        return RetryMessage(request_id)
    if "request" not in message:
        raise MalformedMessage("request is missing")
    batch = message.get("batch", False)
    if not isinstance(batch, bool):
        raise MalformedMessage("batch must be true or false")
    # Checked before anything is reserved: upstream's header carries the key on every attempt.
    max_length = idempotency_keys.BATCH_MAX_LENGTH if batch else idempotency_keys.MAX_LENGTH
    key = message.get("idempotencyKey")
    if not idempotency_keys.is_valid(key, max_length):
        raise MalformedMessage(f"idempotencyKey {idempotency_keys.rule(max_length)}")
    return IntakeMessage(key, message["request"], batch)
