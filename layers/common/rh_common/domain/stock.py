"""Stock by SKU and aging (contract section 12): the sparse index rows an item has in the reference table.

Next to its look-up references (domain/references.py) an item has at most two rows that carry values:

- `stock#<sku>` while it is eligible for a resend (domain/eligibility, its reservation included): its
  warehouse, handling code and `loggedAt`, so GET /stock answers from one Query per SKU. The item leaves
  the index with the stream image that reserves, resends or makes it ineligible.
- `aging#<warehouseId>` while it is idle in stock (`tbc` or `ohd`, pending, in stock, not reserved) with a
  `loggedAt`: the aging check and GET /inventories?agedOverDays=N read it per warehouse, oldest first,
  through the table's sparse ByLoggedAt index (only these rows carry its range key, LOGGED_AT_SORTABLE), and
  `agingWarehouse#all` lists (sort key: the warehouse id) the warehouses that ever had such a row.

Like every row, they are a function of the item's image alone: written again, the same result.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rh_common.domain import eligibility, inventory, references, timestamps

STOCK = "stock"
AGING = "aging"
AGING_WAREHOUSES = "agingWarehouse#all"  # its rows' sort key is a warehouse id, not an inventory id
AGING_HANDLING_CODES: tuple[str, ...] = ("ohd", "tbc")
# The idle-in-stock rule (section 12): pending, in stock, tbc or ohd, and not reserved (a reserved item is on
# its way out, not idle).
IDLE_CONDITIONS: tuple[eligibility.Condition, ...] = (
    eligibility.KNOWN_WAREHOUSE,
    eligibility.NOT_RESERVED,
    eligibility.HANDLING_PENDING,
    eligibility.IN_STOCK,
    eligibility.Condition("handlingCode", eligibility.Check.ONE_OF, "is not idle in stock", AGING_HANDLING_CODES),
)
# The markers of the items whose InventoryAging went out: one partition, sort key the inventory id.
AGING_ALERTS = "agingAlert"
# An aging row's loggedAt in its sortable UTC form, which the age cut-off compares: the range key of the
# ByLoggedAt index, so no other row may carry it (the index would hold that row too).
LOGGED_AT_SORTABLE = "loggedAtSortable"


def stock_reference(sku: Any) -> str | None:
    return references.reference(STOCK, sku)


def aging_reference(warehouse_id: int) -> str:
    return f"{AGING}#{warehouse_id}"


def _logged(values: Mapping[str, Any]) -> tuple[str, str] | None:
    logged_at = inventory.logged_at(values)
    if not isinstance(logged_at, str):
        return None
    try:
        return logged_at, timestamps.sortable(logged_at)
    except ValueError:  # not a date-time Return Helper would send: no age to tell
        return None


def index_rows(attributes: Mapping[str, Any], eligible_handling_codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{reference: the row's values} of an item with these stored attributes (domain/inventory.attributes:
    its values and its reservation)."""
    rows: dict[str, dict[str, Any]] = {}
    logged = _logged(attributes)
    conditions = (*eligibility.resend_conditions(eligible_handling_codes), eligibility.NOT_RESERVED)
    stock_ref = stock_reference(attributes.get("sku"))
    if stock_ref is not None and not eligibility.unmet(conditions, attributes):
        rows[stock_ref] = {
            "warehouseId": attributes["warehouseId"],
            "handlingCode": attributes["handlingCode"],
            **({"loggedAt": logged[0]} if logged else {}),
        }
    idle = aging_row(attributes)
    if idle is not None:
        rows[idle[0]] = idle[1]
    return rows


def aging_row(attributes: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The item's `aging#<warehouseId>` row while it is idle in stock with a `loggedAt`, else None."""
    logged = _logged(attributes)
    if logged is None or eligibility.unmet(IDLE_CONDITIONS, attributes):
        return None
    return aging_reference(attributes["warehouseId"]), {
        "warehouseId": attributes["warehouseId"],
        "handlingCode": attributes["handlingCode"],
        "sku": attributes.get("sku"),
        "loggedAt": logged[0],
        LOGGED_AT_SORTABLE: logged[1],
    }


def row_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, eligible_handling_codes: Iterable[str]
) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
    """(rows to write, references to delete) for an item that went from `old` to `new` (None: no item).
    Every row of `new` is written (its values may have changed), as for the look-up references."""
    codes = tuple(eligible_handling_codes)
    keep = index_rows(new, codes) if new is not None else {}
    gone = frozenset(index_rows(old, codes)) - frozenset(keep) if old is not None else frozenset()
    return keep, gone


# ------------------------------------------------------------------ GET /stock


@dataclass(frozen=True)
class StockRow:
    """One `stock#<sku>` row: an eligible unit."""

    inventory_id: int
    warehouse_id: int
    handling_code: str
    logged_at: str | None


def units_by_warehouse(rows: Iterable[StockRow], warehouses: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """GET /stock's `units`: per warehouse (`warehouses`: only these), the eligible units, those on hold
    (`ohd`), those to be confirmed (`tbc`), and the oldest `loggedAt`; by warehouse id."""
    allowed = None if warehouses is None else frozenset(warehouses)
    by_warehouse: dict[int, list[StockRow]] = {}
    for row in rows:
        if allowed is None or row.warehouse_id in allowed:
            by_warehouse.setdefault(row.warehouse_id, []).append(row)
    units = []
    for warehouse_id in sorted(by_warehouse):
        found = by_warehouse[warehouse_id]
        logged = [row.logged_at for row in found if row.logged_at is not None]
        units.append(
            {
                "warehouseId": warehouse_id,
                "eligible": len(found),
                "onHold": sum(row.handling_code == "ohd" for row in found),
                "toBeConfirmed": sum(row.handling_code == "tbc" for row in found),
                "oldestLoggedAt": min(logged, key=timestamps.sortable) if logged else None,
            }
        )
    return units


# ------------------------------------------------------------------ aging


def age_cutoff(now: datetime, days: int) -> str:
    """The sortable loggedAt before which an item is older than `days` days at `now`."""
    return timestamps.upstream_iso(now - timedelta(days=days))


def age_days(logged_at: str, now: datetime) -> int:
    """Whole days since `logged_at` (never negative: a clock ahead of ours is age 0)."""
    elapsed = (now - timestamps.parse(logged_at)).total_seconds()
    return max(0, math.floor(elapsed / 86400))


@dataclass(frozen=True)
class AgingRow:
    """One `aging#<warehouseId>` row: an item idle in stock."""

    inventory_id: int
    warehouse_id: int
    sku: str | None
    handling_code: str
    logged_at: str


# The eventId of an item's aging alert: the same on every attempt to publish it (consumers drop repeats).
_AGING_NAMESPACE = uuid.UUID("5f1d6c1e-4b59-4d4e-9a53-2f0a0c6b8a11")


def aging_event(row: AgingRow, now: datetime) -> dict[str, Any]:
    """The `InventoryAging` event's detail (section 12)."""
    return {
        "returnInventoryId": row.inventory_id,
        "warehouseId": row.warehouse_id,
        "sku": row.sku,
        "handlingCode": row.handling_code,
        "loggedAt": row.logged_at,
        "ageDays": age_days(row.logged_at, now),
        "eventId": str(uuid.uuid5(_AGING_NAMESPACE, f"InventoryAging#{row.inventory_id}")),
    }
