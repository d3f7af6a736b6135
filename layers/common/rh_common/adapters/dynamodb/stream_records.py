"""A DynamoDB stream record (NEW_AND_OLD_IMAGES, Lambda's event shape) -> the published event it
stands for: the images decoded from DynamoDB JSON here, the translation in `domain.published_events`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rh_common.adapters.dynamodb import base
from rh_common.adapters.dynamodb.inventory_store import record_from_item
from rh_common.domain.published_events import (
    RESEND_KEY,
    ChangeEvent,
    UnreadableRecord,
    inventory_changed,
    resend_status_changed,
)

_INVENTORY_KEY = "returnInventoryId"


def from_stream_record(record: Mapping[str, Any], eligible_handling_codes: frozenset[str]) -> ChangeEvent | None:
    """The event one stream record (Lambda's DynamoDB event shape) stands for, or None."""
    try:
        event_id = record["eventID"]
        change = record["dynamodb"]
        keys = change["Keys"]
        event_name = record["eventName"]
    except (KeyError, TypeError) as missing:
        raise UnreadableRecord(f"not a DynamoDB stream record: no {missing}") from None
    if not isinstance(event_id, str) or not event_id:
        raise UnreadableRecord("stream record without an eventID")
    if event_name == "REMOVE":
        return None  # requests and items are never deleted by the system; nothing to tell
    new_image, old_image = change.get("NewImage"), change.get("OldImage")
    if not isinstance(new_image, Mapping):
        raise UnreadableRecord(f"{event_name} record {event_id} without a NewImage (stream view type?)")
    if RESEND_KEY in keys:
        return resend_status_changed(_plain(old_image) if old_image is not None else None, _plain(new_image), event_id)
    if _INVENTORY_KEY in keys:
        try:
            before = record_from_item(old_image) if old_image else None
            after = record_from_item(new_image)
        except (KeyError, TypeError, ValueError) as error:
            raise UnreadableRecord(f"record {event_id}: not an inventory image ({error})") from None
        return inventory_changed(before, after, event_id, eligible_handling_codes)
    raise UnreadableRecord(f"record {event_id}: keys {sorted(keys)} are neither a resend nor an inventory")


def _plain(image: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return base.from_item(dict(image))
    except (TypeError, ValueError, AttributeError) as error:
        raise UnreadableRecord(f"an image that is not DynamoDB JSON ({error})") from None
