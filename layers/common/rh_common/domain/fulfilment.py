"""Which units fill an order (contract section 12, "Fulfil an order from returned stock"): pure.

Per line, the SKU's eligible units (`stock#<sku>` rows) in the warehouses that ship to the destination,
taken from the cheapest warehouse first (its quoted landed fee); on a tie the warehouse this fulfilment
already takes units from (fewer resends), then the one holding more of the line, then the lower id; within
a warehouse the oldest units (`loggedAt`, then id) first. Units in `taken` (reserved by another request
since the index was read) are never picked. What no warehouse can supply is `unfilled`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rh_common.domain import timestamps
from rh_common.domain.stock import StockRow


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Pick:
    groups: dict[int, list[int]]  # warehouse id -> inventory ids, in the order picked
    unfilled: list[Line]

    def unfilled_json(self) -> list[dict[str, object]]:
        return [{"sku": line.sku, "quantity": line.quantity} for line in self.unfilled]


def oldest_first(rows: Iterable[StockRow]) -> list[StockRow]:
    """Units oldest first: by `loggedAt` (unknown last), then inventory id (the same order every time)."""

    def age(row: StockRow) -> tuple[int, str, int]:
        try:
            logged = timestamps.sortable(row.logged_at) if row.logged_at else None
        except ValueError:
            logged = None
        return (0, logged, row.inventory_id) if logged is not None else (1, "", row.inventory_id)

    return sorted(rows, key=age)


def pick(
    lines: Sequence[Line],
    stock: Mapping[str, Sequence[StockRow]],
    fees: Mapping[int, Decimal],
    taken: Collection[int] = frozenset(),
) -> Pick:
    """The units to take per warehouse. `stock`: the SKU's rows; `fees`: the landed fee of each warehouse
    that ships to the destination (a warehouse without a fee is not used)."""
    groups: dict[int, list[int]] = {}
    used = set(taken)
    unfilled: list[Line] = []
    for line in lines:
        by_warehouse: dict[int, list[StockRow]] = {}
        for row in oldest_first(stock.get(line.sku, ())):
            if row.warehouse_id in fees and row.inventory_id not in used:
                by_warehouse.setdefault(row.warehouse_id, []).append(row)
        order = sorted(
            by_warehouse,
            key=lambda w: (fees[w], w not in groups, -len(by_warehouse[w]), w),
        )
        wanted = line.quantity
        for warehouse_id in order:
            if wanted == 0:
                break
            chosen = by_warehouse[warehouse_id][:wanted]
            groups.setdefault(warehouse_id, []).extend(row.inventory_id for row in chosen)
            used.update(row.inventory_id for row in chosen)
            wanted -= len(chosen)
        if wanted:
            unfilled.append(Line(line.sku, wanted))
    return Pick(groups, unfilled)


def first_choice(
    lines: Sequence[Line],
    stock: Mapping[str, Sequence[StockRow]],
    warehouse_id: int,
    taken: Collection[int] = frozenset(),
) -> list[int]:
    """The units this warehouse would give if it filled every line it can (oldest first, none of `taken`): what
    it is quoted for, so that the quote is the fee of the group it most often becomes."""
    ids: list[int] = []
    for line in lines:
        rows = [
            row
            for row in oldest_first(stock.get(line.sku, ()))
            if row.warehouse_id == warehouse_id and row.inventory_id not in taken
        ]
        ids.extend(row.inventory_id for row in rows[: line.quantity] if row.inventory_id not in ids)
    return ids


def merged(lines: Iterable[Line]) -> list[Line]:
    """Lines of the same SKU as one (their quantities added), in the order of their first appearance."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return [Line(sku, quantity) for sku, quantity in totals.items()]
