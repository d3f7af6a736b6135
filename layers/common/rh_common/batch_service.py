"""POST /resends/batch: many items, any warehouses -> one resend per planned group.

plan (stored under the batch key, so a retry answers the same groups although the
first call reserved the items) -> optionally hold the tbc items first -> per group,
side by side: "cheapest" resolved with the quote, then the resend service's own
create path under a key derived from the batch key and the group, so each group has
the full reservation / idempotency / retry guarantees and is never created twice.
The result is stored once every group has an answer; until then the key answers 409.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rh_common import resend_plan
from rh_common.adapters.batch_store import BatchExists, BatchStore
from rh_common.adapters.inventory_store import InventoryStore
from rh_common.adapters.resend_store import ResendStore
from rh_common.errors import FieldError, error_body, from_validation_errors
from rh_common.hold_service import HoldService
from rh_common.inventory_lookup import read_through
from rh_common.quote_service import QuoteService
from rh_common.resend_plan import Plan, PlanGroup
from rh_common.resend_request import CreateResendRequest
from rh_common.resend_service import Answer, ResendService, RetryLater, request_id_for
from rh_common.timestamps import now_iso
from rh_common.workflow_requests import BatchRequest, PlanRequest, QuoteRequest

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
    max_items: int  # RESEND_MAX_ITEMS: the cap of one group
    batch_max_items: int  # BATCH_MAX_ITEMS
    in_flight_seconds: int


def group_key(batch_key: str, index: int) -> str:
    """The Idempotency-Key of a batch's group `index` (0-based)."""
    return f"{batch_key}#g{index}"


class _Undecided(Exception):
    """A group got no answer (Return Helper's service types or fees unavailable): retry the batch."""


class BatchService:
    def __init__(
        self,
        batches: BatchStore,
        inventories: InventoryStore,
        resend_records: ResendStore,
        resends: ResendService,
        quotes: QuoteService,
        holds: HoldService,
        upstream: Any,  # adapters.returnhelper_client.ReturnHelperClient (read-through of unknown ids)
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
    def plan(self, request: PlanRequest) -> Answer:
        return Answer(200, self._plan(request.returnInventoryIdList).to_json(), "planned")

    def _plan(self, ids: list[int]) -> Plan:
        records = self._inventories.get_many(ids, consistent=True)
        unknown = [i for i in ids if i not in records][:MAX_LOOKUPS]
        records = read_through(self._upstream, self._inventories, unknown, records)
        return resend_plan.plan(ids, records, self._settings.max_items, self._settings.eligible_handling_codes)

    # ------------------------------------------------------------------ batch
    def run(self, request: BatchRequest, batch_key: str) -> Answer:
        ids = request.returnInventoryIdList
        if len(ids) > self._settings.batch_max_items:
            message = f"at most {self._settings.batch_max_items} items per batch"
            return Answer(422, error_body(message, [FieldError("returnInventoryIdList", message)]), "invalid")
        fingerprint = request.fingerprint()
        answer_before = int(self._clock()) + self._settings.in_flight_seconds
        record = {
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
                message = "this Idempotency-Key was already used with a different batch"
                return Answer(422, error_body(message, [FieldError("Idempotency-Key", message)]), "key_reused")
            if "entries" in existing:
                return Answer(200, self._result(batch_key, existing), "replayed")
            seen = int(existing.get("answerBefore", 0))
            if seen > self._clock() or not self._batches.claim(batch_key, seen, answer_before):
                return Answer(
                    409, error_body("a batch with this Idempotency-Key is still being processed"), "in_flight"
                )
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
            return Answer(503, error_body(f"{undecided}; try the batch again with the same key"), "unavailable")
        self._batches.update(batch_key, {"entries": entries, "updatedAt": now_iso()})
        return Answer(200, self._result(batch_key, {"plan": plan.to_json(), "entries": entries}), "batched")

    def get(self, batch_key: str) -> Answer:
        record = self._batches.get(batch_key)
        if record is None:
            return Answer(404, error_body("no batch with this key"), "not_found")
        return Answer(200, self._result(batch_key, record), "read")

    def intake(self, batch_key: str, request_json: Any) -> Answer:
        """An automation message with "batch": true; RetryLater means "leave it on the queue"."""
        try:
            request = BatchRequest.model_validate(request_json)
        except ValidationError as invalid:
            return Answer(422, error_body("batch is not valid", from_validation_errors(invalid.errors())), "invalid")
        answer = self.run(request, batch_key)
        if answer.outcome in {"unavailable", "in_flight"}:
            raise RetryLater(answer.body["message"])
        return answer

    # ------------------------------------------------------------------ steps
    def _hold_tbc(self, ids: list[int]) -> None:
        records = self._inventories.get_many(ids, consistent=True)
        tbc = [i for i, r in records.items() if r.values.get("handlingCode") == "tbc"]
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
        answer = self._resends.create(create, key)
        if answer.status_code == 503:
            raise _Undecided(answer.body["message"])
        entry["resendRequestId"] = answer.body.get("resendRequestId") or (
            request_id_for(key) if answer.status_code != 409 else None
        )
        by_code = {201: Entry.SUBMITTED, 202: answer.body.get("status") or Entry.PENDING, 409: Entry.CONFLICT}
        entry["status"] = by_code.get(answer.status_code, Entry.REJECTED)
        if answer.status_code >= 400:
            entry["errors"] = answer.body.get("errors") or [{"field": None, "message": answer.body.get("message")}]
        return entry

    def _cheapest(self, request: BatchRequest, group: PlanGroup, entry: dict[str, Any]) -> str | None:
        """The group's cheapest shipment service; None with the entry marked when there is none."""
        shipment = request.resendShipment
        answer = self._quotes.quote(
            QuoteRequest(
                returnInventoryIdList=list(group.inventory_ids),
                shipmentCountryCode=shipment.shipmentCountryCode,
                shipmentPostalCode=shipment.shipmentPostalCode,
            )
        )
        if answer.status_code == 503:
            raise _Undecided(answer.body["message"])
        if answer.status_code == 200 and answer.body.get("cheapestServiceTypeCode"):
            return answer.body["cheapestServiceTypeCode"]
        entry["status"] = Entry.CONFLICT if answer.status_code == 409 else Entry.REJECTED
        entry["errors"] = answer.body.get("errors") or [
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
