"""POST /fulfilments and GET /fulfilments/{id} (contract section 12): an order filled from returned stock.

the address checked -> the record stored under the key (before any side effect: the same key and body answer
the same fulfilment, another body 422) -> the SKUs' `stock#<sku>` rows -> each warehouse quoted (at most
MAX_PARALLEL_QUOTES at once) for the units it would give; one that cannot ship there is left out ->
domain.fulfilment picks -> per warehouse group, the resend service's own create (the reservation of POST
/resends, approval per domain.approval, holdFirst) under a key derived from the fulfilment's. The index is
eventually consistent: a unit another request reserved meanwhile answers 409 for its group, and the pick is
made again without it (a new round: new group keys), so a stale index costs a retry, never a double
reservation. Each round's groups are stored before they are submitted: a call that died is carried on with
them (their keys replay what it created), never filled twice. The record is kept in the batch table (its own
key prefix: a batch key cannot start with it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from rh_common.contract.fulfilment_request import FulfilmentRequest
from rh_common.contract.resend_request import CreateResendRequest
from rh_common.contract.workflow_requests import QuoteRequest
from rh_common.domain import address, approval, fulfilment, results
from rh_common.domain.errors import BatchExists, RetryLater
from rh_common.domain.field_errors import FieldError, error_body, from_validation_errors
from rh_common.domain.idempotency_keys import fulfilment_group_key, fulfilment_id_for, request_id_for
from rh_common.domain.results import Outcome, Result
from rh_common.domain.stock import StockRow
from rh_common.domain.timestamps import now_iso
from rh_common.services.ports import BatchRecords, ResendRecords, StockIndex
from rh_common.services.quote_service import QuoteService
from rh_common.services.resend_service import ResendService

# A batch key is printable ASCII: it can never start with a tab, so a fulfilment never reads a batch's record.
FULFILMENT_PREFIX = "\tfulfilment#"
MAX_PARALLEL_QUOTES = 2
MAX_PARALLEL_CALLS = 10  # groups created at once, as a batch's (services.batch_service)
# Picks made again after units turned out reserved by another request (each round drops those units).
MAX_ROUNDS = 3
SERVICE_TYPE_FIELD = "resendShipment.shipmentServiceType"


class Status:
    CREATED, PARTIAL, AWAITING_APPROVAL = "CREATED", "PARTIAL", "AWAITING_APPROVAL"


@dataclass(frozen=True)
class FulfilmentSettings:
    max_items: int  # RESEND_MAX_ITEMS: one resend's cap; a warehouse's units over it make more groups
    in_flight_seconds: int


class _NotOffered(Exception):
    """The chosen service type is offered by none of the warehouses quoted: 422 as POST /resends."""


class _Undecided(Exception):
    """Return Helper's fees or service types are unavailable: retry the fulfilment with the same key."""


class FulfilmentService:
    def __init__(
        self,
        records: BatchRecords,
        stock: StockIndex,
        resend_records: ResendRecords,
        resends: ResendService,
        quotes: QuoteService,
        settings: FulfilmentSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._records = records
        self._stock = stock
        self._resend_records = resend_records
        self._resends = resends
        self._quotes = quotes
        self._settings = settings
        self._clock = clock

    # ------------------------------------------------------------------ create
    def run(self, request: FulfilmentRequest, key: str) -> Result:
        wrong_address = self._resends.address_problems(request.resendShipment)
        if wrong_address:
            return results.invalid(address.REFUSED, wrong_address)
        fulfilment_id = fulfilment_id_for(key)
        record_key = FULFILMENT_PREFIX + fulfilment_id
        fingerprint = request.fingerprint()
        answer_before = int(self._clock()) + self._settings.in_flight_seconds
        record: dict[str, Any] = {
            "batchKey": record_key,
            "fulfilmentId": fulfilment_id,
            "orderReference": request.orderReference,
            "fingerprint": fingerprint,
            "answerBefore": answer_before,
            "createdAt": now_iso(),
        }
        try:
            self._records.create(record)
        except BatchExists:
            existing = self._records.get(record_key) or {}
            if existing.get("fingerprint") != fingerprint:
                return results.key_reused("this Idempotency-Key was already used with a different fulfilment")
            if "answer" in existing:
                return Result.from_stored(existing["answer"])
            seen = int(existing.get("answerBefore", 0))
            if seen > self._clock() or not self._records.claim(record_key, seen, answer_before):
                return results.in_flight("a fulfilment with this Idempotency-Key is still being processed")
            record = existing  # the first call died: its stored groups first (their keys replay), then the rest
        try:
            entries, unfilled = self._fill(request, key, record_key, list(record.get("groups", [])))
        except _Undecided as undecided:
            self._records.update(record_key, {"answerBefore": 0})  # a retry may carry on at once
            return results.unavailable(f"{undecided}; try the fulfilment again with the same key")
        except _NotOffered as not_offered:
            refusal = results.invalid(str(not_offered), [FieldError(SERVICE_TYPE_FIELD, str(not_offered))])
            self._records.update(record_key, {"answer": refusal.stored(), "updatedAt": now_iso()})
            return refusal
        body = {
            "fulfilmentId": fulfilment_id,
            "orderReference": request.orderReference,
            "status": _status(entries, unfilled),
            "resends": entries,
            "unfilled": unfilled,
        }
        if not any(entry["resendRequestId"] for entry in entries):
            result = Result(
                Outcome.UNFILLED,
                {**error_body("no line of the order can be filled from returned stock"), **body},
            )
        else:
            result = Result(Outcome.FULFILLED, body)
        self._records.update(record_key, {"answer": result.stored(), "entries": entries, "updatedAt": now_iso()})
        return result

    def get(self, fulfilment_id: str) -> Result:
        record = self._records.get(FULFILMENT_PREFIX + fulfilment_id)
        if record is None or "entries" not in record:  # unknown, still running, or refused (422): no fulfilment
            return results.not_found("no fulfilment with this id")
        body = dict(record["answer"]["body"])
        body.pop("message", None)
        body.pop("errors", None)
        body["resends"] = [self._current(entry) for entry in body.get("resends", [])]
        body["status"] = _status(body["resends"], body.get("unfilled", []))
        return results.found(body)

    def intake(self, key: str, request_json: Any) -> Result:
        """An automation message with "fulfilment": {...}; RetryLater means "leave it on the queue"."""
        try:
            request = FulfilmentRequest.model_validate(request_json)
        except ValidationError as invalid:
            return results.invalid("fulfilment is not valid", from_validation_errors(invalid.errors()))
        result = self.run(request, key)
        if result.outcome in results.UNDECIDED:
            raise RetryLater(result.message)
        return result

    # ------------------------------------------------------------------ steps
    def _fill(
        self, request: FulfilmentRequest, key: str, record_key: str, groups: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(the batch entries of the resends created, the unfilled lines). `groups`: those an earlier call of
        this fulfilment stored before submitting them ({key, round, warehouseId, ids, skus}); each round's
        groups are stored before any of them is submitted, so a call that dies is carried on, never doubled."""
        lines = fulfilment.merged(fulfilment.Line(line.sku, line.quantity) for line in request.lines)
        stock = {line.sku: self._stock.stock_rows(line.sku) for line in lines}
        sku_of = {row.inventory_id: sku for sku, rows in stock.items() for row in rows}
        entries: list[dict[str, Any]] = []
        taken: set[int] = set()
        quotes: dict[frozenset[int], dict[str, Any]] = {}

        def submit(batch: list[dict[str, Any]], carried_on: bool) -> set[int]:
            """Each group's create, side by side as a batch's; the units lost to another request. `carried_on`:
            the groups an earlier call stored (it may have created them); a group planned here is new."""
            if not batch:
                return set()
            lost: set[int] = set()
            for group in batch:
                sku_of.update(zip(group["ids"], group["skus"], strict=True))
                taken.update(group["ids"])

            def create(group: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
                return self._submit(request, group["key"], group["warehouseId"], group["ids"], carried_on, quotes)

            with ThreadPoolExecutor(max_workers=min(len(batch), MAX_PARALLEL_CALLS)) as pool:
                # Every group runs to its end (the pool waits) before a first _Undecided is raised here.
                answers = list(pool.map(create, batch))
            for entry, conflicted in answers:
                if conflicted:
                    lost.update(conflicted)
                else:
                    entries.append(entry)
            return lost

        submit(groups, carried_on=True)
        wanted = _still_wanted(lines, sku_of, entries)
        if not wanted:
            return entries, []
        fees, reserved, quoted_any = self._fees(request, wanted, stock, quotes)
        if quoted_any and not fees and not groups and not request.wants_cheapest:
            code = request.resendShipment.shipmentServiceType
            raise _NotOffered(f"no warehouse with these SKUs offers shipment service {code} to this destination")
        taken |= reserved
        first = 1 + max((int(group["round"]) for group in groups), default=-1)
        for round_ in range(first, first + MAX_ROUNDS):
            picked = fulfilment.pick(wanted, stock, fees, taken)
            planned = [
                {
                    "key": fulfilment_group_key(key, warehouse_id, round_, index),
                    "round": round_,
                    "warehouseId": warehouse_id,
                    "ids": ids[start : start + self._settings.max_items],
                    "skus": [sku_of[i] for i in ids[start : start + self._settings.max_items]],
                }
                for warehouse_id, ids in picked.groups.items()
                for index, start in enumerate(range(0, len(ids), self._settings.max_items))
            ]
            if planned:
                groups = groups + planned
                self._records.update(record_key, {"groups": groups})
            if not submit(planned, carried_on=False):
                return entries, picked.unfilled_json()
            # Units reserved by another request since the index was read: pick their lines again without them.
            wanted = _still_wanted(lines, sku_of, entries)
        return entries, [{"sku": line.sku, "quantity": line.quantity} for line in _still_wanted(lines, sku_of, entries)]

    def _fees(
        self,
        request: FulfilmentRequest,
        lines: list[fulfilment.Line],
        stock: dict[str, list[StockRow]],
        quotes: dict[frozenset[int], dict[str, Any]],
    ) -> tuple[dict[int, Decimal], set[int], bool]:
        """(the landed fee of each warehouse that ships to the destination, quoted for the units it would give;
        the units the quote found reserved by another request since the index was read; whether any warehouse
        could be quoted at all). Each quote is kept in `quotes` under its units: a group of exactly those units
        needs no quote of its own."""
        warehouses = sorted({row.warehouse_id for rows in stock.values() for row in rows})
        shipment = request.resendShipment

        def quoted(warehouse_id: int) -> tuple[int, Decimal | None, set[int], bool]:
            reserved: set[int] = set()
            for _ in range(MAX_ROUNDS):
                ids = fulfilment.first_choice(lines, stock, warehouse_id, reserved)[: self._settings.max_items]
                if not ids:
                    break
                result = self._quotes.quote(QuoteRequest.of(ids, shipment))
                if result.outcome == Outcome.UNAVAILABLE:
                    raise _Undecided(result.message)
                if result.outcome == Outcome.CONFLICT:  # a stale index: quote the warehouse's next units
                    reserved.update(c["returnInventoryId"] for c in result.body.get("conflicts", []))
                    continue
                if result.outcome != Outcome.QUOTED:  # cannot ship there, or its units are no longer eligible
                    break
                quotes[frozenset(ids)] = result.body
                offered = {item["serviceTypeCode"]: item["fee"] for item in result.body.get("items", [])}
                code = (
                    result.body.get("cheapestServiceTypeCode")
                    if request.wants_cheapest
                    else shipment.shipmentServiceType
                )
                return warehouse_id, approval.fee_amount(offered.get(code)) if code else None, reserved, bool(offered)
            return warehouse_id, None, reserved, False

        fees: dict[int, Decimal] = {}
        reserved: set[int] = set()
        quoted_any = False
        if not warehouses:
            return fees, reserved, quoted_any
        with ThreadPoolExecutor(max_workers=min(len(warehouses), MAX_PARALLEL_QUOTES)) as pool:
            for warehouse_id, fee, lost, ships in pool.map(quoted, warehouses):
                reserved |= lost
                quoted_any |= ships
                if fee is not None:
                    fees[warehouse_id] = fee
        return fees, reserved, quoted_any

    def _submit(
        self,
        request: FulfilmentRequest,
        group_key: str,
        warehouse_id: int,
        ids: list[int],
        carried_on: bool,
        quotes: dict[frozenset[int], dict[str, Any]],
    ) -> tuple[dict[str, Any], list[int]]:
        """(the group's batch entry, the units another request reserved: then the group was not created)."""
        entry: dict[str, Any] = {
            "resendRequestId": None,
            "status": "PENDING",
            "returnInventoryIdList": list(ids),
            "warehouseId": warehouse_id,
            "shipmentServiceType": None,
        }
        existing = self._resend_records.get(request_id_for(group_key)) if carried_on else None
        if existing is not None and "request" in existing:  # created by an earlier call of this fulfilment
            service_type = existing["request"]["resendShipment"]["shipmentServiceType"]
        else:
            service_type = self._service_type(request, ids, quotes.get(frozenset(ids)))
        entry["shipmentServiceType"] = service_type
        shipment = {**request.resendShipment.model_dump(), "shipmentServiceType": service_type}
        create = CreateResendRequest(
            returnInventoryIdList=list(ids),
            description=request.description,
            remarks=request.remarks,
            resendShipment=shipment,
        )
        result = self._resends.create(
            create, group_key, origin=approval.Origin.FULFILMENT, hold_first=request.holdFirst
        )
        if result.outcome == Outcome.UNAVAILABLE:
            raise _Undecided(result.message)
        decision = result.decision
        if decision in (Outcome.CONFLICT, Outcome.IN_FLIGHT):
            lost = [c["returnInventoryId"] for c in result.body.get("conflicts", [])] or list(ids)
            return entry, lost
        entry["resendRequestId"] = result.body.get("resendRequestId") or request_id_for(group_key)
        if decision in (Outcome.SUBMITTED, Outcome.PENDING, Outcome.DEAD, Outcome.AWAITING_APPROVAL):
            entry["status"] = result.body.get("status") or "PENDING"
        else:
            entry["status"] = "REJECTED"
            entry["errors"] = result.body.get("errors") or [{"field": None, "message": result.message}]
        return entry, []

    def _service_type(self, request: FulfilmentRequest, ids: list[int], quoted: dict[str, Any] | None) -> str:
        """The group's service type ("cheapest" resolved), quoted for exactly these units: the quote (the cache
        holds it) is the fee the create records and approval judges; without it a fulfilment under a threshold
        would wait for want of a fee. `quoted`: this call's quote of these units, when its warehouse was quoted
        for exactly the group (then nothing is read again)."""
        shipment = request.resendShipment
        if quoted is None:
            result = self._quotes.quote(QuoteRequest.of(ids, shipment))
            if result.outcome == Outcome.UNAVAILABLE:
                raise _Undecided(result.message)
            quoted = result.body
        if not request.wants_cheapest:
            return shipment.shipmentServiceType
        # No quote (a unit taken meanwhile): the create below answers why, with the code it cannot resolve.
        return str(quoted.get("cheapestServiceTypeCode") or shipment.shipmentServiceType)

    def _current(self, entry: dict[str, Any]) -> dict[str, Any]:
        current = self._resend_records.get(entry["resendRequestId"]) if entry.get("resendRequestId") else None
        if current is not None and "request" in current:
            return {**entry, "status": current["status"]}
        return entry


def _status(entries: list[dict[str, Any]], unfilled: list[dict[str, Any]]) -> str:
    if any(entry["status"] == Status.AWAITING_APPROVAL for entry in entries):
        return Status.AWAITING_APPROVAL
    return Status.PARTIAL if unfilled else Status.CREATED


def _still_wanted(
    lines: list[fulfilment.Line], sku_of: dict[int, str], entries: list[dict[str, Any]]
) -> list[fulfilment.Line]:
    """The lines' quantities the created groups do not cover (a unit counts for its SKU)."""
    covered: dict[str, int] = {}
    for entry in entries:
        if entry["resendRequestId"]:  # refused groups too: their units were tried, not missing
            for inventory_id in entry["returnInventoryIdList"]:
                sku = sku_of.get(inventory_id)
                if sku is not None:
                    covered[sku] = covered.get(sku, 0) + 1
    wanted = [fulfilment.Line(line.sku, line.quantity - covered.get(line.sku, 0)) for line in lines]
    return [line for line in wanted if line.quantity > 0]
