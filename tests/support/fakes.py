"""In-memory fakes of the ports (rh_common.services.ports), for the domain's tests where concurrency does not matter.

Each keeps the rule its adapter keeps (reservations all or nothing, transitions conditional
on the status, facts through the same last-writer-wins reducer), so a test over them
exercises the domain, not the fake. What only DynamoDB can show (isolation, concurrent
transactions) stays with the adapters' tests over moto and DynamoDB Local.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rh_common.domain import inventory
from rh_common.domain.errors import (
    BatchExists,
    Conflict,
    RequestExists,
    ReservationConflict,
    ServiceTypesRefused,
    ServiceTypesUnavailable,
)
from rh_common.domain.inventory import FactWrite, InventoryRecord
from rh_common.domain.upstream_outcome import OutcomeKind, UpstreamOutcome
from rh_common.domain.webhook_events import InventoryFacts


def success(operation: str, **payload: Any) -> UpstreamOutcome:
    return UpstreamOutcome(OutcomeKind.SUCCESS, operation, 200, payload)


def refused(operation: str, error_code: str, **errors: str) -> UpstreamOutcome:
    return UpstreamOutcome(
        OutcomeKind.PERMANENT, operation, 200, error_code=error_code, errors=errors, detail=error_code
    )


def unreachable(operation: str, retry_after: float | None = None) -> UpstreamOutcome:
    return UpstreamOutcome(OutcomeKind.TRANSIENT, operation, 503, retry_after_seconds=retry_after, detail="HTTP 503")


# ------------------------------------------------------------------ Inventories


@dataclass(frozen=True)
class InOrderWrite:
    """`FakeInventories.in_order_update`: the fact, written if it is newer than everything the item saw."""

    facts: InventoryFacts
    version: str
    event_time: str


class FakeInventories:
    def __init__(self) -> None:
        self.records: dict[int, InventoryRecord] = {}

    def seed(self, inventory_id: int, version: str = "2025-01-01T00:00:00.0000000Z#seed", **values: Any) -> None:
        self.apply(InventoryFacts(inventory_id, values), version, version.split("#")[0])

    def get(self, inventory_id: int, consistent: bool = False) -> InventoryRecord | None:
        return self.records.get(inventory_id)

    def get_many(self, inventory_ids: Iterable[int], consistent: bool = True) -> dict[int, InventoryRecord]:
        return {i: self.records[i] for i in inventory_ids if i in self.records}

    def apply(self, facts: InventoryFacts, version: str, event_time: str) -> FactWrite:
        if not facts.values:
            return FactWrite.SUPERSEDED
        before = self.records.get(facts.inventory_id) or InventoryRecord(facts.inventory_id)
        after = inventory.apply(before, facts.values, version, event_time)
        if not inventory.changed_attributes(before, after):
            return FactWrite.SUPERSEDED
        self.records[facts.inventory_id] = after
        return FactWrite.APPLIED

    def apply_read_dated(self, facts: InventoryFacts, version: str) -> FactWrite:
        record = self.records.get(facts.inventory_id)
        newer = {n: v for n, v in facts.values.items() if record and record.versions.get(n, "") < version}
        if record is None or not newer:
            return FactWrite.SUPERSEDED
        values, versions = {**record.values, **newer}, {**record.versions, **dict.fromkeys(newer, version)}
        self.records[facts.inventory_id] = replace(record, values=values, versions=versions)
        return FactWrite.APPLIED if any(record.values.get(n) != v for n, v in newer.items()) else FactWrite.UNCHANGED

    def in_order_update(self, facts: InventoryFacts, version: str, event_time: str) -> InOrderWrite:
        return InOrderWrite(facts, version, event_time)

    def holds_in_order(self, write: InOrderWrite) -> bool:
        record = self.records.get(write.facts.inventory_id)
        return record is None or (record.last_version or "") < write.version

    def hold_for(self, inventory_id: int, request_id: str | None) -> None:
        self.records[inventory_id] = replace(self.records[inventory_id], active_resend_request_id=request_id)


# ------------------------------------------------------------------ ResendRecords


class FakeResendRecords:
    def __init__(self, inventories: FakeInventories, quotes: FakeQuotes) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self._inventories = inventories
        self._quotes = quotes  # the cache the create path reads a quote from, with the items
        self.reserve_failure: Exception | None = None  # raised by the next reserve (a store failure)

    def get(self, request_id: str) -> dict[str, Any] | None:
        record = self.records.get(request_id)
        return copy.deepcopy(record) if record is not None else None

    def get_with_items(
        self, request_id: str | None, inventory_ids: Iterable[int], quote_key: str
    ) -> tuple[dict[str, Any] | None, dict[int, InventoryRecord], dict[str, Any] | None]:
        record = self.get(request_id) if request_id is not None else None
        return record, self._inventories.get_many(inventory_ids), self._quotes.get(quote_key)

    def find_by_resend_id(self, resend_id: int) -> dict[str, Any] | None:
        found = [r for r in self.records.values() if r.get("resendId") == resend_id]
        return copy.deepcopy(found[0]) if found else None

    def ids_with_status(self, status: str, updated_before: str) -> list[str]:
        matching = [r for r in self.records.values() if r["status"] == status and r["updatedAt"] < updated_before]
        return [r["resendRequestId"] for r in sorted(matching, key=lambda r: r["updatedAt"])]

    def create(self, record: Mapping[str, Any]) -> None:
        if record["resendRequestId"] in self.records:
            raise RequestExists(record["resendRequestId"])
        self.records[record["resendRequestId"]] = copy.deepcopy(dict(record))

    def reserve(self, record: Mapping[str, Any], inventory_ids: Iterable[int]) -> None:
        if self.reserve_failure is not None:
            failure, self.reserve_failure = self.reserve_failure, None
            raise failure
        request_id = record["resendRequestId"]
        if request_id in self.records:
            raise RequestExists(request_id)
        ids = list(inventory_ids)
        known = self._inventories.get_many(ids)
        conflicts = [
            Conflict(i, known[i].active_resend_request_id if i in known else None)
            for i in ids
            if i not in known or known[i].active_resend_request_id is not None
        ]
        if conflicts:
            raise ReservationConflict(conflicts)
        self.records[request_id] = copy.deepcopy(dict(record))
        for inventory_id in ids:
            self._inventories.hold_for(inventory_id, request_id)

    def poll_states(self, status: str, updated_before: str) -> list[dict[str, Any]]:
        kept = ("resendRequestId", "updatedAt", "lastPolledAt", "pollBackoffSeconds")
        records = (self.records[i] for i in self.ids_with_status(status, updated_before))
        return [{name: copy.deepcopy(r[name]) for name in kept if name in r} for r in records]

    def transition(
        self,
        request_id: str,
        expected_statuses: Iterable[str],
        changes: Mapping[str, Any],
        release_items: Iterable[int] = (),
        unchanged: Mapping[str, Any] | None = None,
    ) -> bool:
        record = self.records.get(request_id)
        if record is None or record["status"] not in set(expected_statuses):
            return False
        if any(record.get(name) != value for name, value in (unchanged or {}).items()):
            return False
        for name, value in changes.items():
            if value is None:
                record.pop(name, None)
            else:
                record[name] = copy.deepcopy(value)
        for inventory_id in release_items:
            held = self._inventories.get(inventory_id)
            if held is not None and held.active_resend_request_id == request_id:
                self._inventories.hold_for(inventory_id, None)
        return True

    def transition_with(
        self, request_id: str, expected_statuses: Iterable[str], changes: Mapping[str, Any], updates: list[Any]
    ) -> bool:
        record = self.records.get(request_id)
        expected = set(expected_statuses)
        if record is None or record["status"] not in expected:
            return False
        if not all(self._inventories.holds_in_order(update) for update in updates):
            return False  # cancelled: nothing written
        for update in updates:
            self._inventories.apply(update.facts, update.version, update.event_time)
        return self.transition(request_id, expected, changes)


# ------------------------------------------------------------------ the rest


class FakeServiceTypes:
    """Rows per warehouse; a warehouse mapped to an exception raises it."""

    def __init__(self, rows: Mapping[int, list[dict[str, Any]] | Exception]) -> None:
        self._rows = dict(rows)

    def rows(self, warehouse_id: int) -> list[dict[str, Any]]:
        rows = self._rows.get(warehouse_id, ServiceTypesRefused("unknown warehouse"))
        if isinstance(rows, Exception):
            raise rows
        return rows

    @staticmethod
    def unavailable() -> ServiceTypesUnavailable:
        return ServiceTypesUnavailable("HTTP 503")


@dataclass
class FakeRetries:
    scheduled: list[tuple[str, int]] = field(default_factory=list)

    def schedule(self, resend_request_id: str, delay_seconds: int) -> str:
        self.scheduled.append((resend_request_id, delay_seconds))
        return f"message-{len(self.scheduled)}"


class FakeQuotes:
    def __init__(self) -> None:
        self.quotes: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.quotes.get(key)

    def put(self, key: str, quote: dict[str, Any]) -> None:
        self.quotes[key] = quote


class FakeBatches:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def get(self, batch_key: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.records.get(batch_key))

    def create(self, record: Mapping[str, Any]) -> None:
        if record["batchKey"] in self.records:
            raise BatchExists(record["batchKey"])
        self.records[record["batchKey"]] = copy.deepcopy(dict(record))

    def claim(self, batch_key: str, seen_answer_before: int, answer_before: int) -> bool:
        record = self.records[batch_key]
        if int(record.get("answerBefore", 0)) != seen_answer_before:
            return False
        record["answerBefore"] = answer_before
        return True

    def update(self, batch_key: str, changes: Mapping[str, Any]) -> None:
        self.records[batch_key].update(copy.deepcopy(dict(changes)))


class FakeReturnHelper:
    """Return Helper as scripted outcomes: per operation, a queue of outcomes (or functions of the
    call's arguments) used in turn, then `default` for that operation. Every call is recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._scripted: dict[str, list[UpstreamOutcome | Callable[..., UpstreamOutcome]]] = {}
        self._next_resend_id = 9000
        self.created: dict[str, int] = {}  # idempotency key -> resend id (one resend per key, as upstream)

    def script(self, operation: str, *outcomes: UpstreamOutcome | Callable[..., UpstreamOutcome]) -> None:
        self._scripted.setdefault(operation, []).extend(outcomes)

    def calls_of(self, operation: str) -> list[tuple[Any, ...]]:
        return [arguments for name, arguments in self.calls if name == operation]

    def _answer(self, operation: str, default: Callable[..., UpstreamOutcome], *arguments: Any) -> UpstreamOutcome:
        self.calls.append((operation, arguments))
        queued = self._scripted.get(operation)
        scripted = queued.pop(0) if queued else default
        return scripted(*arguments) if callable(scripted) else scripted

    def _create(self, body: dict[str, Any], idempotency_key: str) -> UpstreamOutcome:
        if idempotency_key not in self.created:
            self._next_resend_id += 1
            self.created[idempotency_key] = self._next_resend_id
        resend_id = self.created[idempotency_key]
        return success("createResend", resendId=resend_id, resendNumber=f"RS{resend_id}")

    def create_resend(self, body: dict[str, Any], idempotency_key: str) -> UpstreamOutcome:
        return self._answer("createResend", self._create, body, idempotency_key)

    def get_resend(self, resend_id: int) -> UpstreamOutcome:
        return self._answer("getResend", lambda i: success("getResend", resendId=i, resendStatusCode=0), resend_id)

    def cancel_resend(self, resend_id: int, idempotency_key: str) -> UpstreamOutcome:
        return self._answer("cancelResend", lambda *_: success("cancelResend"), resend_id, idempotency_key)

    def available_shipment_service_types(self, warehouse_id: int) -> UpstreamOutcome:
        return self._answer("getAvailableShipmentServiceType", lambda _: success("x", data=[]), warehouse_id)

    def get_return_inventory(self, inventory_id: int) -> UpstreamOutcome:
        return self._answer("getReturnInventory", lambda _: refused("getReturnInventory", "NOT_FOUND"), inventory_id)

    def shipping_fees(self, inventory_ids: list[int], country_code: str, postal_code: str) -> UpstreamOutcome:
        fees = lambda *_: success("getShippingFeeListByToShippingOption", shippingFeeDetailList=[])  # noqa: E731
        return self._answer("getShippingFeeListByToShippingOption", fees, inventory_ids, country_code, postal_code)

    def update_handling(self, inventory_id: int, handling_code: str, idempotency_key: str) -> UpstreamOutcome:
        done = lambda *_: success("updateReturnInventoryHandling")  # noqa: E731
        return self._answer("updateReturnInventoryHandling", done, inventory_id, handling_code, idempotency_key)

    def list_return_inventory(self, create_from: str, create_to: str, page_size: int, offset: int) -> UpstreamOutcome:
        page = lambda *_: success("listReturnInventory", data=[])  # noqa: E731
        return self._answer("listReturnInventory", page, create_from, create_to, page_size, offset)


# ------------------------------------------------------------------ References


class FakeReferences:
    """The reference table: rows by reference, and consolidation orders' cancellation markers."""

    def __init__(self) -> None:
        self.rows: dict[str, set[int]] = {}
        self.row_values: dict[tuple[str, int], dict[str, Any]] = {}
        self.aging_warehouse_ids: set[int] = set()
        self.cancellations: dict[str, tuple[str, str]] = {}

    def replace(
        self,
        inventory_id: int,
        write: Iterable[str],
        delete: Iterable[str],
        row_values: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        for ref in write:
            self.rows.setdefault(ref, set()).add(inventory_id)
            self.row_values[ref, inventory_id] = dict((row_values or {}).get(ref, {}))
        for ref in delete:
            self.rows.get(ref, set()).discard(inventory_id)
            self.row_values.pop((ref, inventory_id), None)

    def add_aging_warehouse(self, warehouse_id: int) -> None:
        self.aging_warehouse_ids.add(warehouse_id)

    def members(self, order_id: str) -> list[int]:
        return sorted(self.rows.get(f"consolidationOrder#{order_id}", ()))

    def cancellation(self, order_id: str) -> tuple[str, str] | None:
        return self.cancellations.get(order_id)

    def page(self, ref: str, limit: int, next_token: str | None = None) -> tuple[list[int], str | None]:
        after = int(next_token) if next_token else 0
        ids = sorted(i for i in self.rows.get(ref, ()) if i > after)
        return ids[:limit], str(ids[limit - 1]) if len(ids) > limit else None

    def cancel_order(self, order_id: str, version: str, event_time: str, also: Mapping[str, Any]) -> None:
        self.cancellations[order_id] = (version, event_time)
