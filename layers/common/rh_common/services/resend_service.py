"""Creating, reading and cancelling resend requests: one code path for HTTP and SQS.

validate (pydantic, before this) -> idempotency -> the address check (domain.address) ->
prerequisites over one isolated read -> service type (cached) -> reserve (one transaction) ->
submit upstream with the idempotency key -> record the outcome. Every answer is a typed `Result`
(rh_common.domain.results) so both doors give the same result, and a keyed request stores its
answer as that result (`Result.stored`); rh_common.http.status_codes maps it to HTTP at the edge.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rh_common.domain import (
    address,
    approval,
    idempotency_keys,
    inventory,
    prerequisites,
    quote,
    resend_errors,
    resend_lifecycle,
    results,
    retry_policy,
)
from rh_common.domain.errors import (
    Conflict,
    RequestExists,
    ReservationConflict,
    RetryLater,
    ServiceTypesRefused,
    ServiceTypesUnavailable,
    UnknownResendRequest,
)
from rh_common.domain.field_errors import FieldError, error_body, from_validation_errors
from rh_common.domain.idempotency_keys import request_id_for
from rh_common.domain.inventory import InventoryRecord
from rh_common.domain.resend_lifecycle import UPSTREAM_CODE_OF, Status
from rh_common.domain.results import Outcome, Result
from rh_common.domain.timestamps import now_iso
from rh_common.domain.upstream_outcome import UpstreamOutcome, resend_id_of
from rh_common.domain.webhook_events import InventoryFacts
from rh_common.services.hold_service import ON_HOLD, HoldService
from rh_common.services.inventory_lookup import read_through
from rh_common.services.ports import (
    AddressRules,
    Inventories,
    ResendRecords,
    RetryScheduler,
    ReturnHelper,
    ServiceTypes,
)
from rh_common.services.resend_tracking import restore_handling

if TYPE_CHECKING:
    from rh_common.contract.resend_request import CreateResendRequest, ResendShipment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResendSettings:
    eligible_handling_codes: frozenset[str]
    retry_base_delay_seconds: float
    retry_max_attempts: int
    in_flight_seconds: int  # how long an unanswered first request blocks its key (function timeout)
    # ApprovalFeeThreshold (None: off): over it, a resend the system decides on waits for a person.
    approval_fee_threshold: Decimal | None
    # How long one create attempt holds its request (the upstream call's timeouts and a margin): no
    # second attempt starts meanwhile; a lease that runs out unreleased was an attempt that died.
    attempt_lease_seconds: int = 60


class ResendService:
    def __init__(
        self,
        resends: ResendRecords,
        inventories: Inventories,
        service_types: ServiceTypes,
        upstream: ReturnHelper,
        retries: RetryScheduler,
        address_rules: AddressRules,
        holds: HoldService,
        settings: ResendSettings,
    ) -> None:
        self._resends = resends
        self._inventories = inventories
        self._service_types = service_types
        self._upstream = upstream
        self._retries = retries
        self._address_rules = address_rules
        self._holds = holds
        self._settings = settings

    # ------------------------------------------------------------------ create
    def create(
        self,
        request: CreateResendRequest,
        idempotency_key: str | None,
        origin: approval.Origin | None = None,
        hold_first: bool = False,
    ) -> Result:
        """A resend request. `origin`: the feature that decided on it by itself (a fulfilment, an instruction),
        whose resend may wait for a person (domain.approval: AWAITING_APPROVAL, reserved, nothing upstream);
        None for the merchant's own request, which never waits. `hold_first`: hold its tbc items first (a
        fulfilment's or instruction's holdFirst): before the reservation when it goes at once, at its approval
        when it waits (nothing goes upstream before, not even a hold)."""
        request_id = request_id_for(idempotency_key)
        fingerprint = request.fingerprint()
        # The items, with a key the record it names, and a recent quote for these items and destination, in
        # one isolated read: a concurrent request's reservation is seen whole (its 409 names every item it
        # holds) or not at all.
        keyed_id = request_id if idempotency_key else None
        ids, shipment = request.returnInventoryIdList, request.resendShipment
        quote_key = quote.quote_key(ids, shipment.shipmentCountryCode, shipment.shipmentPostalCode)
        existing, records, quoted = self._resends.get_with_items(keyed_id, ids, quote_key)
        if existing is not None:
            return self._replay(existing, fingerprint)
        # Before anything upstream (the read-through below included): an address the rules refuse sends nothing.
        wrong_address = self.address_problems(request.resendShipment)
        if wrong_address:
            refusal = results.invalid(address.REFUSED, wrong_address)
            return self._remember_refusal(idempotency_key, request.returnInventoryIdList, fingerprint, refusal)
        # Stock Return Helper had before this stack heard of it: looked up once, then judged.
        records = read_through(self._upstream, self._inventories, request.returnInventoryIdList, records)
        held = prerequisites.reserved(request, records)
        if held:
            return results.reservation_conflict(Conflict(i, holder) for i, holder in held.items())
        fraud_flagged = any(_fraud_flagged(records[i]) for i in ids if i in records)
        judged = records
        if origin is approval.Origin.INSTRUCTION and fraud_flagged:
            # The flag sends an instruction's resend to a person (domain.approval), not to a refusal.
            judged = {i: _without_fraud_flag(record) for i, record in records.items()}
        problems, warehouse_id = self._prerequisites(request, judged)
        if problems is None:
            return results.unavailable("Return Helper's service types are unavailable; try again")
        if problems:
            refusal = results.invalid("resend request is not valid", problems)
            return self._remember_refusal(idempotency_key, request.returnInventoryIdList, fingerprint, refusal)

        now = now_iso()
        record = {
            "resendRequestId": request_id,
            "status": Status.PENDING.value,
            "returnInventoryIdList": list(request.returnInventoryIdList),
            "warehouseId": warehouse_id,
            "upstreamIdempotencyKey": idempotency_key or request_id,
            "fingerprint": fingerprint,
            "request": request.upstream_body(),
            # The first attempt's lease and count ride in the reservation (no write of their own): it follows now.
            "attempts": 1,
            "attemptLeaseUntil": int(time.time()) + self._settings.attempt_lease_seconds,
            "createdAt": now,
            "updatedAt": now,
            "answerBefore": int(time.time()) + self._settings.in_flight_seconds,
            # Read in the same consistent batch as the prerequisites: what CANCELED / FAILED give back.
            "handlingBefore": resend_lifecycle.handling_before(
                {i: records[i].values for i in request.returnInventoryIdList if i in records}
            ),
        }
        if idempotency_key:
            record["idempotencyKey"] = idempotency_key
        # The fee the quote gave the chosen service, while the items are as they were quoted.
        quoted_fee = quote.fee_for(quote.current_quote(quoted, records), shipment.shipmentServiceType)
        if quoted_fee is not None:
            record["quotedFee"] = quoted_fee
        decision = approval.GOES
        if origin is not None:
            decision = approval.decide(origin, self._settings.approval_fee_threshold, quoted_fee, fraud_flagged)
        awaiting = None
        if decision.waits:
            awaiting = self._awaiting(record, decision, hold_first)
            record = awaiting.record
        elif hold_first:
            # Held before the reservation, as a batch holds first: what a cancel gives back is the hold.
            on_hold = self._hold_tbc(_tbc_of(record), None)
            record["handlingBefore"] = _held_before(record, on_hold)
        try:
            self._resends.reserve(record, request.returnInventoryIdList)
        except RequestExists:
            return self._replay(self._resends.get(request_id) or {}, fingerprint)
        except ReservationConflict as conflict:
            return results.reservation_conflict(conflict.conflicts)
        return awaiting.result if awaiting is not None else self._attempt(record)

    def _awaiting(self, record: dict[str, Any], decision: approval.Decision, hold_first: bool) -> _Awaiting:
        """The record as it waits for a person: no attempt (nor its lease), its answer stored for a replay; with
        `holdFirst` its tbc items are held at approval."""
        waiting = {key: value for key, value in record.items() if key != "attemptLeaseUntil"}
        waiting.update(
            status=Status.AWAITING_APPROVAL.value,
            attempts=0,
            **{approval.FIELD: approval.Answer.AWAITING.value, resend_lifecycle.APPROVAL_REASON: str(decision.why)},
        )
        if hold_first:
            waiting["holdFirst"] = True
        result = Result(Outcome.AWAITING_APPROVAL, resend_lifecycle.view(waiting))
        waiting["answer"] = result.stored()
        return _Awaiting(waiting, result)

    def address_problems(self, shipment: ResendShipment) -> list[FieldError]:
        """The destination country's address rules on a resendShipment (domain.address): POST /resends,
        the automation queue and each batch."""
        given = address.Address(
            shipment.shipmentCountryCode,
            street=shipment.shipmentStreet1,
            city=shipment.shipmentCity,
            state=shipment.shipmentState,
            postal_code=shipment.shipmentPostalCode,
        )
        return address.check(given, self._address_rules.judge, "resendShipment.")

    def _prerequisites(
        self, request: CreateResendRequest, records: dict[int, InventoryRecord]
    ) -> tuple[list[FieldError] | None, int | None]:
        problems = prerequisites.check_items(request, records, self._settings.eligible_handling_codes)
        if problems:
            return problems, None
        warehouse_id = prerequisites.warehouse_of(request, records)
        field = "resendShipment.shipmentServiceType"
        try:
            service_types, refused = prerequisites.warehouse_service_types(
                self._service_types.rows, warehouse_id, field
            )
        except ServiceTypesUnavailable:
            return None, warehouse_id
        return refused or prerequisites.check_service_type(request, service_types), warehouse_id

    def _remember_refusal(self, key: str | None, ids: list[int], fingerprint: str, refusal: Result) -> Result:
        """With a key, the refusal is recorded (REJECTED, readable by key) and replayed for the same key."""
        if not key:
            return refusal
        request_id = request_id_for(key)
        now = now_iso()
        record = {
            "resendRequestId": request_id,
            "status": Status.REJECTED.value,
            "returnInventoryIdList": list(ids),
            "idempotencyKey": key,
            "fingerprint": fingerprint,
            "attempts": 0,
            "lastError": resend_errors.refused_here(
                refusal.body["message"], [FieldError(e["field"], e["message"]) for e in refusal.body["errors"]]
            ),
            "createdAt": now,
            "updatedAt": now,
            "answer": refusal.stored(),
        }
        try:
            self._resends.create(record)
        except RequestExists:
            return self._replay(self._resends.get(request_id) or {}, fingerprint)
        return refusal

    def _replay(self, existing: dict[str, Any], fingerprint: str) -> Result:
        if existing.get("fingerprint") != fingerprint:
            return results.key_reused("this Idempotency-Key was already used with a different request body")
        stored = existing.get("answer")
        if stored:
            return Result.from_stored(stored)
        if int(existing.get("answerBefore", 0)) > time.time():
            return results.in_flight("a request with this Idempotency-Key is still being processed")
        # The first call died before answering; the request itself is safe (reconciled), say where it is.
        return Result(Outcome.REPLAYED, _accepted_body(existing), replay_of=Outcome.PENDING)

    # ------------------------------------------------------------------ automation (SQS)
    def intake(self, idempotency_key: str, request_json: Any) -> Result:
        """A resend request from the merchant's automation queue: the same path as POST /resends.

        What HTTP would answer with 4xx is recorded REJECTED under the key (readable with
        GET /resends?idempotencyKey=) and never retried; RetryLater means "leave it on the queue".
        """
        # Imported here: of this service's callers only the body of a new request needs pydantic
        # (~45 ms of a cold start with pycountry); the worker's retries and sync pages never do.
        from pydantic import ValidationError

        from rh_common.contract.resend_request import CreateResendRequest, fingerprint_of

        try:
            request = CreateResendRequest.model_validate(request_json)
        except ValidationError as invalid:
            refusal = results.invalid("resend request is not valid", from_validation_errors(invalid.errors()))
            ids = request_json.get("returnInventoryIdList") if isinstance(request_json, dict) else None
            ids = [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
            return self._remember_refusal(idempotency_key, ids, fingerprint_of(request_json), refusal)
        result = self.create(request, idempotency_key)
        if result.outcome in results.UNDECIDED:
            raise RetryLater(result.message)
        if result.outcome == Outcome.CONFLICT:
            return self._remember_refusal(idempotency_key, request.returnInventoryIdList, request.fingerprint(), result)
        return result

    def retry(self, request_id: str) -> Result:
        """One queued retry of a PENDING request (same idempotency key upstream as every attempt)."""
        record = self._resends.get(request_id)
        if record is None:
            raise UnknownResendRequest(request_id)
        if record["status"] != Status.PENDING.value:
            return Result(Outcome.SETTLED, resend_lifecycle.view(record))
        # None: another attempt holds the request; it records its own outcome (and schedules what follows).
        return self.submit(record) or Result(Outcome.SETTLED, resend_lifecycle.view(record))

    # ------------------------------------------------------------------ submit
    def submit(self, record: dict[str, Any]) -> Result | None:
        """One upstream create attempt for a PENDING request; records and answers its outcome.
        None when the attempt could not start (another holds the request, or it is PENDING no more)."""
        claimed = self._claim_attempt(record)
        return self._attempt(claimed) if claimed is not None else None

    def _attempt(self, claimed: dict[str, Any]) -> Result:
        """The create call of a request whose attempt lease is taken (and the attempt counted)."""
        outcome = self._upstream.create_resend(claimed["request"], claimed["upstreamIdempotencyKey"])
        if outcome.ok:
            return self._submitted(claimed, outcome)
        if outcome.permanent:
            return self._rejected(claimed, outcome)
        return self._retry_later(claimed, outcome)

    def _claim_attempt(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The attempt lease (`attemptLeaseUntil`) and the attempt counted, in one write conditional on the
        record being as read: of two attempts at once, one calls upstream. The record as claimed, or None."""
        now = int(time.time())
        lease = record.get("attemptLeaseUntil")
        if lease is not None and int(lease) > now:
            return None  # an attempt is running
        changes: dict[str, Any] = {
            "attempts": int(record.get("attempts") or 0) + 1,
            "attemptLeaseUntil": now + self._settings.attempt_lease_seconds,
            "updatedAt": now_iso(),
        }
        if lease is not None:
            # A lease never released: that attempt died before recording its outcome, which is unknown.
            changes["attemptUnknown"] = True
        seen = {"attemptLeaseUntil": lease, "attempts": record.get("attempts")}
        if not self._resends.transition(record["resendRequestId"], [Status.PENDING.value], changes, (), seen):
            return None
        return {**record, **changes}

    def _submitted(self, record: dict[str, Any], outcome: UpstreamOutcome) -> Result:
        request_id = record["resendRequestId"]
        resend_id = resend_id_of(outcome)
        changes: dict[str, Any] = {
            "status": Status.SUBMITTED.value,
            "resendId": resend_id,
            "resendNumber": outcome.payload.get("resendNumber"),
            "resendStatusCode": UPSTREAM_CODE_OF[Status.SUBMITTED].code,
            "updatedAt": now_iso(),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        body = {**resend_lifecycle.view({**record, **changes}), "status": Status.SUBMITTED.value}
        submitted = Result(Outcome.SUBMITTED, body)
        changes["answer"] = submitted.stored()
        # Removed: the attempt is over, and what an earlier one left (an unknown outcome, its error) is answered.
        changes.update(attemptLeaseUntil=None, attemptUnknown=None, lastError=None, nextAttemptAt=None)
        # Upstream sets the items to rsd on create (what its code 0 means for them); say so locally now, as
        # facts dated now, so older webhooks cannot undo them and newer ones still win. One transaction with
        # the SUBMITTED record (one round trip); when it is cancelled (a newer webhook on an item, the status
        # moved on), nothing of it was written and the per-item path below merges each fact on its own.
        event_time = now_iso()
        version = inventory.event_version(event_time, f"resend:{request_id}")
        marks = [
            InventoryFacts(int(inventory_id), dict(UPSTREAM_CODE_OF[Status.SUBMITTED].items_handling))
            for inventory_id in record["returnInventoryIdList"]
        ]
        updates = [self._inventories.in_order_update(facts, version, event_time) for facts in marks]
        if not self._resends.transition_with(request_id, [Status.PENDING.value], changes, updates):
            if not self._resends.transition(request_id, [Status.PENDING.value], changes):
                return self._answered_elsewhere(request_id, resend_id, outcome)
            for facts in marks:
                self._inventories.apply(facts, version, event_time)
        # Status reports that beat this answer were parked under the resend id: the record's first
        # resend id on the table's stream releases them (template.yaml ReconcilerFunction.ResendIdRecorded).
        return submitted

    def _answered_elsewhere(self, request_id: str, resend_id: int | None, outcome: UpstreamOutcome) -> Result:
        """A success that finds its request PENDING no more: adopted by a status report (nothing to do), or
        canceled while this attempt was under way: the resend it created is cancelled upstream at once."""
        record = self._resends.get(request_id) or {}
        if record.get("status") == Status.CANCELED.value and resend_id is not None and record.get("resendId") is None:
            found = {"resendId": resend_id, "resendNumber": outcome.payload.get("resendNumber"), "updatedAt": now_iso()}
            found = {k: v for k, v in found.items() if v is not None}
            self._resends.transition(request_id, [Status.CANCELED.value], found, (), {"resendId": None})
            record.update(found)
            canceled = self._upstream.cancel_resend(resend_id, idempotency_keys.cancel_key(request_id))
            if not canceled.ok:
                log.error(
                    "a resend created after its request was canceled could not be cancelled upstream",
                    extra={"resendRequestId": request_id, "resendId": resend_id, "detail": canceled.detail},
                )
        return Result(Outcome.SETTLED, resend_lifecycle.view(record)) if record else Result(Outcome.SETTLED, {})

    def _rejected(self, record: dict[str, Any], outcome: UpstreamOutcome) -> Result:
        upstream = {"errorCode": outcome.error_code, "error": outcome.errors or outcome.detail}
        field_errors = [FieldError(name, message) for name, message in (outcome.errors or {}).items()]
        body = {
            "resendRequestId": record["resendRequestId"],
            "status": Status.REJECTED.value,
            "upstream": upstream,
            **error_body(f"Return Helper refused the resend: {outcome.error_code or outcome.detail}", field_errors),
        }
        rejected = Result(Outcome.REJECTED, body)
        changes = {
            "status": Status.REJECTED.value,
            "lastError": resend_errors.refused_upstream(outcome),
            "updatedAt": now_iso(),
            "answer": rejected.stored(),
            "attemptLeaseUntil": None,
        }
        self._resends.transition(
            record["resendRequestId"], [Status.PENDING.value], changes, record["returnInventoryIdList"]
        )
        return rejected

    def _retry_later(self, record: dict[str, Any], outcome: UpstreamOutcome) -> Result:
        """A transient failure. Within the budget: a retry scheduled. Past it: DEAD (the items released) only
        when no attempt can have created the resend; otherwise still PENDING, the reconciler asking again."""
        request_id = record["resendRequestId"]
        attempts = int(record["attempts"])
        unknown = outcome.maybe_processed or record.get("attemptUnknown") is True
        give_up = retry_policy.should_give_up(attempts, self._settings.retry_max_attempts)
        if give_up and not unknown:
            return self._give_up(record, outcome)
        pending = Result(Outcome.PENDING, {"resendRequestId": request_id, "status": Status.PENDING.value})
        detail = outcome.detail
        if unknown:
            detail += "; an attempt may have created the resend: the items stay reserved until Return Helper answers"
        changes: dict[str, Any] = {
            "lastError": resend_errors.transient(outcome, detail),
            "updatedAt": now_iso(),
            "answer": pending.stored(),
            "attemptLeaseUntil": None,
        }
        if outcome.maybe_processed:
            changes["attemptUnknown"] = True  # never cleared by a later certain failure: only by an answer
        delay = None
        if not give_up:
            delay = retry_policy.next_delay_seconds(
                attempts, self._settings.retry_base_delay_seconds, outcome.retry_after_seconds
            )
            changes["nextAttemptAt"] = int(time.time()) + delay
        # Recorded before the message goes out: the reconciler re-enqueues a PENDING request whose
        # nextAttemptAt has long passed (and every one with an unknown attempt), so a crash here loses nothing.
        self._resends.transition(request_id, [Status.PENDING.value], changes)
        if delay is not None:
            self._retries.schedule(request_id, delay)
        return pending

    def _give_up(self, record: dict[str, Any], outcome: UpstreamOutcome) -> Result:
        attempts = int(record["attempts"])
        body = {"resendRequestId": record["resendRequestId"], "status": Status.DEAD.value}
        changes = {
            "status": Status.DEAD.value,
            "lastError": resend_errors.transient(outcome, f"gave up after {attempts} attempts: {outcome.detail}"),
            "updatedAt": now_iso(),
            "attemptLeaseUntil": None,
        }
        self._resends.transition(
            record["resendRequestId"], [Status.PENDING.value], changes, record["returnInventoryIdList"]
        )
        return Result(Outcome.DEAD, body)

    # ------------------------------------------------------------------ read / cancel
    def service_types(self, warehouse_id: int) -> Result:
        try:
            rows = self._service_types.rows(warehouse_id)
        except ServiceTypesUnavailable as unavailable:
            return results.unavailable(f"Return Helper's service types are unavailable ({unavailable}); try again")
        except ServiceTypesRefused as refused:
            message = f"Return Helper lists no service types for warehouse {warehouse_id} ({refused})"
            return results.invalid(message, [FieldError("warehouseId", message)])
        items = [
            {
                "serviceTypeCode": row.get("serviceTypeCode"),
                "serviceType": row.get("serviceType"),
                "countryCodePairList": row.get("countryCodePairList") or [],
            }
            for row in rows
        ]
        return results.found({"items": items})

    def get(self, request_id: str) -> Result:
        record = self._resends.get(request_id)
        if record is None:
            return results.not_found(f"resend request {request_id} is not known")
        return results.found(resend_lifecycle.view(record))

    def get_by_key(self, idempotency_key: str) -> Result:
        record = self._resends.get(request_id_for(idempotency_key))
        if record is None or record.get("idempotencyKey") != idempotency_key:
            return results.not_found("no resend request with this idempotency key")
        return results.found(resend_lifecycle.view(record))

    # ------------------------------------------------------------------ approval (section 12)
    def approve(self, request_id: str) -> Result:
        """AWAITING_APPROVAL -> PENDING and its first attempt at once, as POST /resends makes it (conditional: of
        an approve and a reject at once, one wins). 200 with the view whatever the attempt's outcome."""
        record = self._resends.get(request_id)
        if record is None:
            return results.not_found(f"resend request {request_id} is not known")
        if record["status"] == Status.AWAITING_APPROVAL.value:
            tbc = _tbc_of(record) if record.get("holdFirst") is True else []
            changes = {
                **approval.approved(now_iso()),
                "attempts": int(record.get("attempts") or 0) + 1,
                # The holds first, then the create: the lease outlasts every upstream call of them.
                "attemptLeaseUntil": int(time.time()) + self._settings.attempt_lease_seconds * (1 + len(tbc)),
            }
            if self._resends.transition(request_id, [Status.AWAITING_APPROVAL.value], changes):
                claimed = {**record, **changes}
                on_hold = self._hold_tbc(tbc, request_id)
                if on_hold:  # what a cancel or a failure gives back from now on is the hold
                    before = _held_before(record, on_hold)
                    self._resends.transition(request_id, [Status.PENDING.value], {"handlingBefore": before})
                    claimed["handlingBefore"] = before
                self._attempt(claimed)
                return Result(Outcome.APPROVED, resend_lifecycle.view(self._resends.get(request_id) or record))
            record = self._resends.get(request_id) or record
        return _answered_before(record, "approve", Outcome.APPROVED)

    def _hold_tbc(self, ids: list[int], reserved_by: str | None) -> list[int]:
        """Hold each item (tbc ones: holdFirst); the ones on hold after. A hold refused or failed leaves the item
        as it is and the resend goes on, as a batch's holdFirst does."""
        return [i for i in ids if self._holds.hold(i, reserved_by).outcome in (Outcome.HELD, Outcome.ALREADY_HELD)]

    def reject(self, request_id: str) -> Result:
        """AWAITING_APPROVAL -> CANCELED, the items released (conditional: of an approve and a reject at once,
        one wins). Nothing of the request touched an item's handling, so there is none to give back."""
        record = self._resends.get(request_id)
        if record is None:
            return results.not_found(f"resend request {request_id} is not known")
        return self._reject(record)

    def _reject(self, record: dict[str, Any]) -> Result:
        request_id = record["resendRequestId"]
        if record["status"] == Status.AWAITING_APPROVAL.value:
            changes = approval.rejected(now_iso())
            expected = [Status.AWAITING_APPROVAL.value]
            if self._resends.transition(request_id, expected, changes, record["returnInventoryIdList"]):
                return Result(Outcome.CANCELED, resend_lifecycle.view({**record, **changes}))
            record = self._resends.get(request_id) or record
        return _answered_before(record, "reject", Outcome.CANCELED)

    def cancel(self, request_id: str) -> Result:
        record = self._resends.get(request_id)
        if record is None:
            return results.not_found(f"resend request {request_id} is not known")
        status = Status(record["status"])
        if status == Status.AWAITING_APPROVAL:
            return self._reject(record)  # section 3: the cancel of an awaiting request is its reject
        if status == Status.PENDING:
            return self._cancel_pending(record)
        if status != Status.SUBMITTED or record.get("resendId") is None:
            why = {Status.IN_PROGRESS: "the warehouse has already started on it"}.get(status, f"it is {status.value}")
            return _not_cancellable(f"resend request cannot be canceled: {why}")
        outcome = self._upstream.cancel_resend(int(record["resendId"]), idempotency_keys.cancel_key(request_id))
        if outcome.permanent:
            return _not_cancellable(f"Return Helper refused the cancel: {outcome.error_code or outcome.detail}")
        if not outcome.ok:
            return results.unavailable(f"Return Helper could not be reached ({outcome.detail}); try again")
        return self._canceled(record, {"resendStatusCode": UPSTREAM_CODE_OF[Status.CANCELED].code})

    def _cancel_pending(self, record: dict[str, Any]) -> Result:
        """Only while none of its attempts can have reached Return Helper: no unknown outcome, none running
        (a lease, or one left by an attempt that died). Conditional on that, so no attempt starts after."""
        if record.get("attemptUnknown") is True or record.get("attemptLeaseUntil") is not None:
            return _not_cancellable(
                "resend request cannot be canceled: an attempt may have reached Return Helper and its outcome "
                "is not known yet; try again once it resolves"
            )
        return self._canceled(record, {"nextAttemptAt": None}, {"attemptUnknown": None, "attemptLeaseUntil": None})

    def _canceled(
        self, record: dict[str, Any], more: dict[str, Any], unchanged: dict[str, Any] | None = None
    ) -> Result:
        request_id = record["resendRequestId"]
        canceled_at = now_iso()
        changes = {"status": Status.CANCELED.value, "updatedAt": canceled_at, "lastError": None, **more}
        # Eligible again at once: the handling they had before this request, dated at the cancel. Before the
        # status moves, so a failure leaves the request as it was and the cancel, asked again, restores again.
        restore_handling(self._inventories, record, canceled_at, f"cancel:{request_id}")
        moved = self._resends.transition(
            request_id, [record["status"]], changes, record["returnInventoryIdList"], unchanged
        )
        if not moved:
            current = self._resends.get(request_id) or record
            if current["status"] == Status.CANCELED.value:
                return Result(Outcome.CANCELED, resend_lifecycle.view(current))
            return _not_cancellable(f"resend request cannot be canceled: it is {current['status']} now")
        return Result(Outcome.CANCELED, resend_lifecycle.view({**record, **changes}))


@dataclass(frozen=True)
class _Awaiting:
    record: dict[str, Any]
    result: Result


def _tbc_of(record: dict[str, Any]) -> list[int]:
    """The request's items whose handling was tbc when it reserved them (its `handlingBefore`)."""
    before = record.get("handlingBefore") or {}
    return [int(i) for i, handling in before.items() if handling.get("handlingCode") == "tbc"]


def _held_before(record: dict[str, Any], on_hold: list[int]) -> dict[str, Any]:
    """The request's `handlingBefore` once these of its items are held."""
    before: dict[str, Any] = dict(record.get("handlingBefore") or {})
    return {**before, **{str(i): dict(ON_HOLD) for i in on_hold}}


def _fraud_flagged(record: InventoryRecord) -> bool:
    flag = record.values.get("fraudFlag")
    return isinstance(flag, dict) and flag.get("isFraudulent") is True


def _without_fraud_flag(record: InventoryRecord) -> InventoryRecord:
    return replace(record, values={**record.values, "fraudFlag": None})


def _answered_before(record: dict[str, Any], action: str, repeated: Outcome) -> Result:
    """An approve or reject of a request not (or no longer) AWAITING_APPROVAL: the same action again answers the
    current view; anything else, a request that never awaited approval included, is 409."""
    answer = approval.answer_of(record)
    if answer in approval.REPEATS[action]:
        return Result(repeated, resend_lifecycle.view(record))
    why = "it never awaited approval" if answer is None else f"its approval was answered already ({answer.value})"
    return Result(Outcome.NOT_AWAITING_APPROVAL, error_body(f"resend request cannot be {action}d: {why}"))


def _not_cancellable(message: str) -> Result:
    return Result(Outcome.NOT_CANCELLABLE, error_body(message))


def _accepted_body(record: dict[str, Any]) -> dict[str, Any]:
    return {"resendRequestId": record.get("resendRequestId"), "status": record.get("status")}
