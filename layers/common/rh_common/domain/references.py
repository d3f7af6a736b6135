"""An item's look-up references: the rows of the reference table (template.yaml InventoryReferenceTable).

A reference is `<type>#<value>`, one row per (reference, item). The rows are a function of the item's
state alone (its stream image), so they can be written again at any time with the same result; a
look-up still checks each item it finds against the value asked for, so a row left behind by a
change not yet applied never answers a wrong item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rh_common.domain import inventory

# The merchant's look-ups (GET /inventories?<type>=...), each the inventory attribute of the same name.
LOOKUPS: tuple[str, ...] = ("rma", "sellerReferenceNumber", "returnRequestId", "inboundTrackingNumber", "sku")
# The consolidation order an item was packed into: its rows list the order's items, which the order's
# cancellation (that names only the order) frees.
CONSOLIDATION_ORDER = "consolidationOrder"
ATTRIBUTES: dict[str, str] = {**{name: name for name in LOOKUPS}, CONSOLIDATION_ORDER: "consolidationOrderId"}
# The order's cancellation marker shares the order's rows; no inventory id is 0.
CANCELLATION_ROW = 0
# DynamoDB's partition key holds 2048 bytes: a longer value has no row (and is never found).
MAX_VALUE_BYTES = 1024
_NUMERIC = frozenset({"returnRequestId"})  # ids: 70312, "70312" and "070312" are the same return request


def canonical(ref_type: str, value: Any) -> str | None:
    """The value as rows and look-ups spell it; None when it cannot have a row."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        return None
    if ref_type in _NUMERIC and text.isascii() and text.isdigit():
        text = str(int(text))
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): no key can hold it
        return None
    return text if 0 < size <= MAX_VALUE_BYTES else None


def reference(ref_type: str, value: Any) -> str | None:
    text = canonical(ref_type, value)
    return None if text is None else f"{ref_type}#{text}"


def _value(values: Mapping[str, Any], ref_type: str) -> Any:
    # The seller reference is the one the view shows (two sources, one precedence: inventory.seller_reference).
    if ref_type == "sellerReferenceNumber":
        return inventory.seller_reference(values)
    return values.get(ATTRIBUTES[ref_type])


def references_of(values: Mapping[str, Any]) -> frozenset[str]:
    """Every reference of an item with these attribute values."""
    found = (reference(ref_type, _value(values, ref_type)) for ref_type in ATTRIBUTES)
    return frozenset(ref for ref in found if ref is not None)


def matches(values: Mapping[str, Any], ref_type: str, value: Any) -> bool:
    """Whether an item with these values has this reference now (a row may be older than the item)."""
    wanted = canonical(ref_type, value)
    return wanted is not None and canonical(ref_type, _value(values, ref_type)) == wanted


def row_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[frozenset[str], frozenset[str]]:
    """(references to write, references to delete) for an item that went from `old` to `new` (None: no item).
    Every reference of `new` is written, not only the changed ones: a row lost with a given-up stream
    batch comes back with the item's next change."""
    keep = references_of(new) if new is not None else frozenset()
    gone = references_of(old) - keep if old is not None else frozenset()
    return keep, gone


@dataclass(frozen=True)
class ItemChanged:
    """An inventory's stream record: its attribute values before and after (None: no item)."""

    inventory_id: int
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


@dataclass(frozen=True)
class OrderCancelled:
    """A consolidation order's cancellation marker, as written by the webhook (the event's version and time)."""

    order_id: str
    version: str
    event_time: str


WAREHOUSE = "warehouseId"  # GET /inventories' other selector: a warehouse's listing


class SelectorError(ValueError):
    """GET /inventories named no selector, or more than one (422 on `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


AGED = "agedOverDays"  # with warehouseId only: the warehouse's items idle in stock for longer (section 12)


def selector(given: Mapping[str, Any], eligible: bool = False, aged_over_days: int | None = None) -> tuple[str, Any]:
    """The one selector of a GET /inventories: `warehouseId` or one look-up, from {name: value or None};
    `eligible` filters a warehouse's listing only, and `agedOverDays` (not with `eligible`) makes it the
    warehouse's aged items."""
    named = [(name, value) for name, value in given.items() if value is not None]
    if aged_over_days is not None:
        if eligible:
            raise SelectorError("eligible", f"eligible cannot be combined with {AGED}")
        if [name for name, _ in named] != [WAREHOUSE]:
            raise SelectorError(
                WAREHOUSE if not named else named[0][0],
                f"{AGED} lists one {WAREHOUSE}'s items: give {WAREHOUSE} alone with it",
            )
    if not named:
        raise SelectorError(WAREHOUSE, f"give {WAREHOUSE} or one of {', '.join(LOOKUPS)}")
    if len(named) > 1:
        first, second = named[0][0], named[1][0]
        raise SelectorError(second, f"{second} cannot be combined with {first}: one selector at a time")
    if eligible and named[0][0] != WAREHOUSE:
        raise SelectorError("eligible", f"eligible filters a {WAREHOUSE} listing, not a look-up")
    return named[0]
