"""POST /resends/batch: many items, any warehouses -> one resend per planned group.

the address checked (one for every group) -> plan (stored under the batch key, so a retry
answers the same groups although the first call reserved the items) -> optionally hold the tbc items first -> per group,
side by side: "cheapest" resolved with the quote, then the resend service's own
create path under a key derived from the batch key and the group, so each group has
the full reservation / idempotency / retry guarantees and is never created twice.
The result is stored once every group has an answer; until then the key answers 409.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from rh_common.contract.resend_request import CreateResendRequest
from rh_common.contract.workflow_requests import BatchRequest, PlanRequest, QuoteRequest
from rh_common.domain import address, resend_plan, results
from rh_common.domain.errors import BatchExists, RetryLater
from rh_common.domain.field_errors import from_validation_errors
from rh_common.domain.idempotency_keys import group_key, request_id_for
from rh_common.domain.resend_plan import Plan, PlanGroup
from rh_common.domain.results import Outcome, Result
from rh_common.domain.timestamps import now_iso
from rh_common.services.hold_service import ON_HOLD, HoldService
from rh_common.services.inventory_lookup import read_through
from rh_common.services.ports import BatchRecords, Inventories, ResendRecords, ReturnHelper
from rh_common.services.quote_service import QuoteService
from rh_common.services.resend_service import ResendService

# Unknown ids looked up with GetReturnInventory (one call each, in turn) per plan: a plan of
# up to 1000 ids must not spend the API's 29 s on them; beyond this they stay "not known".
MAX_LOOKUPS = 50
# Groups (and holds) submitted at once: each waits on one upstream call, so a
# batch of BATCH_MAX_ITEMS takes about one upstream round trip, not one per group.
MAX_PARALLEL_CALLS = 10


class Entry:
    SUBMITTED, PENDING, REJECTED, CONFLICT = "SUBMITTED", "PENDING", "REJECTED", "CONFLICT"


@dataclass(frozen=True)
class BatchSettings:
    eligible_handling_codes: frozenset[str]
    max_items: int  # RESEND_MAX_ITEMS: the cap of one group (BATCH_MAX_ITEMS: BatchRequest's, PlanRequest's)
    in_flight_seconds: int


class _Undecided(Exception):
    """A group got no answer (Return Helper's service types or fees unavailable): retry the batch."""


class BatchService:
    def __init__(
        self,
        batches: BatchRecords,
        inventories: Inventories,
        resend_records: ResendRecords,
        resends: ResendService,
        quotes: QuoteService,
        holds: HoldService,
        upstream: ReturnHelper,  # read-through of unknown ids
        settings: BatchSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._batches = batches
        self._inventories = inventories
        self._resend_records = resend_records
        self._resends = resends
        self._quotes = quotes
        self._holds = holds
        self._upstream = upstream
        self._settings = settings
        self._clock = clock

    # ------------------------------------------------------------------ plan (nothing reserved)
    def plan(self, request: PlanRequest) -> Result:
        return Result(Outcome.PLANNED, self._plan(request.returnInventoryIdList).to_json())

    def _plan(self, ids: list[int]) -> Plan:
        records = self._inventories.get_many(ids, consistent=True)
        unknown = [i for i in ids if i not in records][:MAX_LOOKUPS]
        records = read_through(self._upstream, self._inventories, unknown, records)
        return resend_plan.plan(ids, records, self._settings.max_items, self._settings.eligible_handling_codes)

    # ------------------------------------------------------------------ batch
    def run(self, request: BatchRequest, batch_key: str) -> Result:
        # One address for every group: refused here, before the batch is stored, held or planned.
        wrong_address = self._resends.address_problems(request.resendShipment)
        if wrong_address:
            return results.invalid(address.REFUSED, wrong_address)
        ids = request.returnInventoryIdList
        fingerprint = request.fingerprint()
        answer_before = int(self._clock()) + self._settings.in_flight_seconds
        record: dict[str, Any] = {
            "batchKey": batch_key,
            "fingerprint": fingerprint,
            "answerBefore": answer_before,
            "createdAt": now_iso(),
        }
        try:
            self._batches.create(record)
        except BatchExists:
            existing = self._batches.get(batch_key) or {}
            if existing.get("fingerprint") != fingerprint:
                return results.key_reused("this Idempotency-Key was already used with a different batch")
            if "entries" in existing:
                return Result(Outcome.REPLAYED, self._result(batch_key, existing), replay_of=Outcome.BATCHED)
            seen = int(existing.get("answerBefore", 0))
            if seen > self._clock() or not self._batches.claim(batch_key, seen, answer_before):
                return results.in_flight("a batch with this Idempotency-Key is still being processed")
            record = existing  # the first call died (or could not finish): carry on where it stopped
        plan = Plan.from_json(record["plan"]) if "plan" in record else None
        if plan is None:
            if request.holdFirst:
                self._hold_tbc(ids)
            plan = self._plan(ids)
            self._batches.update(batch_key, {"plan": plan.to_json()})
        try:
            entries = self._submit_groups(request, batch_key, plan)
        except _Undecided as undecided:
            self._batches.update(batch_key, {"answerBefore": 0})  # a retry may carry on at once
            return results.unavailable(f"{undecided}; try the batch again with the same key")
        self._batches.update(batch_key, {"entries": entries, "updatedAt": now_iso()})
        return Result(Outcome.BATCHED, self._result(batch_key, {"plan": plan.to_json(), "entries": entries}))

    def get(self, batch_key: str) -> Result:
        record = self._batches.get(batch_key)
        if record is None:
            return results.not_found("no batch with this key")
        return results.found(self._result(batch_key, record))

    def intake(self, batch_key: str, request_json: Any) -> Result:
        """An automation message with "batch": true; RetryLater means "leave it on the queue"."""
        try:
            request = BatchRequest.model_validate(request_json)
        except ValidationError as invalid:
            return results.invalid("batch is not valid", from_validation_errors(invalid.errors()))
        result = self.run(request, batch_key)
        if result.outcome in results.UNDECIDED:
            raise RetryLater(result.message)
        return result

    # ------------------------------------------------------------------ steps
    def _hold_tbc(self, ids: list[int]) -> None:
        """Hold the tbc items the plan would take once held: never one it leaves out (not in stock, flagged as
        fraudulent, under another workflow...), which the hold would change upstream for nothing."""
        records = self._inventories.get_many(ids, consistent=True)
        codes = self._settings.eligible_handling_codes
        tbc = [
            i
            for i, r in records.items()
            if r.values.get("handlingCode") == "tbc"
            and resend_plan.exclusion_reason(i, replace(r, values={**r.values, **ON_HOLD}), codes) is None
        ]
        # A hold refused or failed leaves the item as it is; the plan then says what it can be.
        with ThreadPoolExecutor(max_workers=max(1, min(len(tbc), MAX_PARALLEL_CALLS))) as pool:
            list(pool.map(self._holds.hold, tbc))

    def _submit_groups(self, request: BatchRequest, batch_key: str, plan: Plan) -> list[dict[str, Any]]:
        groups = list(enumerate(plan.groups))
        if not groups:
            return []
        with ThreadPoolExecutor(max_workers=min(len(groups), MAX_PARALLEL_CALLS)) as pool:
            # Every group runs to its end (the pool waits) before a first _Undecided is raised here.
            return list(pool.map(lambda g: self._submit_group(request, batch_key, *g), groups))

    def _submit_group(self, request: BatchRequest, batch_key: str, index: int, group: PlanGroup) -> dict[str, Any]:
        key = group_key(batch_key, index)
        entry = {
            "resendRequestId": None,
            "status": Entry.PENDING,
            "returnInventoryIdList": list(group.inventory_ids),
            "warehouseId": group.warehouse_id,
            "shipmentServiceType": None,
        }
        existing = self._resend_records.get(request_id_for(key))
        if existing is not None and "request" in existing:  # created by an earlier call of this batch
            entry["shipmentServiceType"] = existing["request"]["resendShipment"]["shipmentServiceType"]
        elif request.wants_cheapest:
            service_type = self._cheapest(request, group, entry)
            if service_type is None:
                return entry
            entry["shipmentServiceType"] = service_type
        else:
            entry["shipmentServiceType"] = request.resendShipment.shipmentServiceType
        shipment = {**request.resendShipment.model_dump(), "shipmentServiceType": entry["shipmentServiceType"]}
        create = CreateResendRequest(
            returnInventoryIdList=list(group.inventory_ids),
            description=request.description,
            remarks=request.remarks,
            resendShipment=shipment,
        )
        result = self._resends.create(create, key)
        if result.outcome == Outcome.UNAVAILABLE:
            raise _Undecided(result.message)
        decision = result.decision  # a replay of the group's first call says what that call said
        conflicted = decision in (Outcome.CONFLICT, Outcome.IN_FLIGHT)
        entry["resendRequestId"] = result.body.get("resendRequestId") or (None if conflicted else request_id_for(key))
        if decision == Outcome.SUBMITTED:
            entry["status"] = Entry.SUBMITTED
        elif decision in (Outcome.PENDING, Outcome.DEAD):
            entry["status"] = result.body.get("status") or Entry.PENDING
        else:
            entry["status"] = Entry.CONFLICT if conflicted else Entry.REJECTED
            entry["errors"] = result.body.get("errors") or [{"field": None, "message": result.message}]
        return entry

    def _cheapest(self, request: BatchRequest, group: PlanGroup, entry: dict[str, Any]) -> str | None:
        """The group's cheapest shipment service; None with the entry marked when there is none."""
        shipment = request.resendShipment
        quoted = self._quotes.quote(QuoteRequest.of(list(group.inventory_ids), shipment))
        if quoted.outcome == Outcome.UNAVAILABLE:
            raise _Undecided(quoted.message)
        if quoted.outcome == Outcome.QUOTED and quoted.body.get("cheapestServiceTypeCode"):
            return quoted.body["cheapestServiceTypeCode"]
        entry["status"] = Entry.CONFLICT if quoted.outcome == Outcome.CONFLICT else Entry.REJECTED
        entry["errors"] = quoted.body.get("errors") or [
            {"field": "resendShipment.shipmentServiceType", "message": "Return Helper quoted no shipment service"}
        ]
        return None

    def _result(self, batch_key: str, record: dict[str, Any]) -> dict[str, Any]:
        """The stored result, each group's status read from its resend request now."""
        plan = Plan.from_json(record["plan"]) if "plan" in record else Plan((), ())
        entries = record.get("entries")
        if entries is None:  # still running: the planned groups, as far as they got
            entries = [
                {
                    "resendRequestId": None,
                    "status": Entry.PENDING,
                    "returnInventoryIdList": list(group.inventory_ids),
                    "warehouseId": group.warehouse_id,
                    "shipmentServiceType": None,
                }
                for group in plan.groups
            ]
            for index, entry in enumerate(entries):
                entry["resendRequestId"] = request_id_for(group_key(batch_key, index))
        resends = []
        for entry in entries:
            current = self._resend_records.get(entry["resendRequestId"]) if entry.get("resendRequestId") else None
            if current is not None and "request" in current:
                entry = {**entry, "status": current["status"]}
                entry["shipmentServiceType"] = current["request"]["resendShipment"]["shipmentServiceType"]
            resends.append(entry)
        return {"batchKey": batch_key, "resends": resends, "excluded": [e.to_json() for e in plan.excluded]}
