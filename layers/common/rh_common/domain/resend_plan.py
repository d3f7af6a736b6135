"""How a list of items would be resent: groups of one warehouse, at most the cap each.

Pure: items' records and the cap in, groups and exclusions out. Eligibility is
domain/eligibility's conditions (one home for the rule), the reservation included.
Deterministic: items sorted by id, warehouses by id, each warehouse's items cut
into consecutive chunks of the cap, so the fewest groups (ceil(n / cap)) and the
same plan for the same input in any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rh_common.domain import eligibility, inventory
from rh_common.domain.inventory import InventoryRecord


@dataclass(frozen=True)
class PlanGroup:
    warehouse_id: int
    inventory_ids: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"warehouseId": self.warehouse_id, "returnInventoryIdList": list(self.inventory_ids)}


@dataclass(frozen=True)
class Exclusion:
    inventory_id: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"returnInventoryId": self.inventory_id, "reason": self.reason}


@dataclass(frozen=True)
class Plan:
    groups: tuple[PlanGroup, ...]
    excluded: tuple[Exclusion, ...]

    def to_json(self) -> dict[str, Any]:
        return {"groups": [g.to_json() for g in self.groups], "excluded": [e.to_json() for e in self.excluded]}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Plan:
        groups = value["groups"]
        return cls(
            tuple(PlanGroup(int(g["warehouseId"]), tuple(int(i) for i in g["returnInventoryIdList"])) for g in groups),
            tuple(Exclusion(int(e["returnInventoryId"]), str(e["reason"])) for e in value["excluded"]),
        )


def exclusion_reason(
    inventory_id: int, record: InventoryRecord | None, eligible_handling_codes: frozenset[str]
) -> str | None:
    """Why the item cannot be in a resend now, or None when it can."""
    if record is None:
        return "not known"
    stored = inventory.attributes(record)
    conditions = (*eligibility.resend_conditions(eligible_handling_codes), eligibility.NOT_RESERVED)
    return "; ".join(condition.explain(stored) for condition in eligibility.unmet(conditions, stored)) or None


def plan(
    inventory_ids: Iterable[int],
    records: Mapping[int, InventoryRecord],
    max_items: int,
    eligible_handling_codes: frozenset[str],
) -> Plan:
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    by_warehouse: dict[int, list[int]] = {}
    excluded: list[Exclusion] = []
    for inventory_id in sorted(set(inventory_ids)):
        record = records.get(inventory_id)
        reason = exclusion_reason(inventory_id, record, eligible_handling_codes)
        if reason is not None:
            excluded.append(Exclusion(inventory_id, reason))
            continue
        assert record is not None  # exclusion_reason excludes an unknown item
        by_warehouse.setdefault(int(record.values["warehouseId"]), []).append(inventory_id)
    groups = [
        PlanGroup(warehouse_id, tuple(ids[start : start + max_items]))
        for warehouse_id, ids in sorted(by_warehouse.items())
        for start in range(0, len(ids), max_items)
    ]
    return Plan(tuple(groups), tuple(excluded))
