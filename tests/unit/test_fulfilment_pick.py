"""domain.fulfilment: which units fill an order (contract section 12), pure."""

from __future__ import annotations

from decimal import Decimal

from rh_common.domain.fulfilment import Line, first_choice, merged, pick
from rh_common.domain.stock import StockRow

A, B, C = 2, 5, 7


def row(inventory_id: int, warehouse_id: int, logged_at: str | None = "2025-03-01T00:00:00Z") -> StockRow:
    return StockRow(inventory_id, warehouse_id, "ohd", logged_at)


def test_the_cheapest_warehouse_first_and_its_oldest_units_first():
    stock = {
        "K": [
            row(1, A, "2025-01-01T00:00:00Z"),
            row(2, B, "2025-03-01T00:00:00Z"),
            row(3, B, "2025-01-01T00:00:00Z"),
            row(4, B, None),  # no loggedAt: after those with one
        ]
    }
    picked = pick([Line("K", 2)], stock, {A: Decimal("9.45"), B: Decimal("5.24")})
    assert picked.groups == {B: [3, 2]} and picked.unfilled == []
    picked = pick([Line("K", 4)], stock, {A: Decimal("9.45"), B: Decimal("5.24")})
    assert picked.groups == {B: [3, 2, 4], A: [1]}


def test_a_warehouse_without_a_fee_is_never_used_and_what_is_missing_is_unfilled():
    stock = {"K": [row(1, A), row(2, B)]}
    picked = pick([Line("K", 3), Line("M", 1)], stock, {B: Decimal(5)})
    assert picked.groups == {B: [2]}
    assert picked.unfilled_json() == [{"sku": "K", "quantity": 2}, {"sku": "M", "quantity": 1}]


def test_on_a_tie_the_warehouse_already_used_then_the_one_with_more_units():
    stock = {"K": [row(1, A), row(2, B), row(3, B)], "M": [row(4, A), row(5, C)]}
    fees = {A: Decimal(5), B: Decimal(5), C: Decimal(5)}
    picked = pick([Line("K", 1), Line("M", 1)], stock, fees)
    # K: B holds more units than A; M: A and C tie (neither used, one unit each): the lower id
    assert picked.groups == {B: [2], A: [4]}
    picked = pick([Line("K", 2), Line("M", 1)], {**stock, "K": [row(1, A), row(2, A), row(3, C)]}, fees)
    assert picked.groups == {A: [1, 2, 4]}  # M from A, already used: one resend, not two


def test_taken_units_are_never_picked():
    stock = {"K": [row(1, A, "2025-01-01T00:00:00Z"), row(2, A, "2025-02-01T00:00:00Z")]}
    assert pick([Line("K", 1)], stock, {A: Decimal(1)}, taken={1}).groups == {A: [2]}
    assert first_choice([Line("K", 2)], stock, A, taken={1}) == [2]
    assert first_choice([Line("K", 2)], stock, A) == [1, 2]


def test_lines_of_one_sku_are_merged():
    assert merged([Line("K", 1), Line("M", 2), Line("K", 3)]) == [Line("K", 4), Line("M", 2)]
