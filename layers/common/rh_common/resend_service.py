"""Creating, reading and cancelling resend requests: one code path for HTTP and SQS.

validate (pydantic, before this) -> idempotency -> prerequisites over one isolated
read -> service type (cached) -> reserve (one transaction) -> submit upstream
with the idempotency key -> record the outcome. Every answer is an `Answer`
(status code + body) so both doors give the same result.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rh_common import inventory, prerequisites, resend_lifecycle, retry_policy
from rh_common.adapters.inventory_store import InventoryStore
from rh_common.adapters.resend_store import Conflict, RequestExists, ResendStore, ReservationConflict
from rh_common.adapters.retry_queue import RetryQueue
from rh_common.adapters.service_type_cache import ServiceTypeCache, ServiceTypesRefused, ServiceTypesUnavailable
from rh_common.errors import FieldError, error_body, from_validation_errors
from rh_common.events import InventoryFacts
from rh_common.inventory import InventoryRecord
from rh_common.inventory_lookup import read_through
from rh_common.resend_lifecycle import Status
from rh_common.resend_request import CreateResendRequest, fingerprint_of
from rh_common.resend_tracking import restore_handling
from rh_common.timestamps import now_iso
from rh_common.upstream import UpstreamOutcome, resend_id_of

# Request ids derived from idempotency keys: the same key always names the same
# record, so a conditional put on it is the idempotency check (strongly consistent).
_KEY_NAMESPACE = uuid.UUID("6f1d7b0e-2f43-4a57-9a8e-52f3c1b0d9a4")


def request_id_for(idempotency_key: str | None) -> str:
    return str(uuid.uuid5(_KEY_NAMESPACE, idempotency_key)) if idempotency_key else str(uuid.uuid4())


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    outcome: str  # for metrics: submitted, pending, rejected, invalid, conflict, replayed, ...


@dataclass(frozen=True)
class ResendSettings:
    eligible_handling_codes: frozenset[str]
    max_items: int
    retry_base_delay_seconds: float
    retry_max_attempts: int
    in_flight_seconds: int  # how long an unanswered first request blocks its key (function timeout)


class ResendService:
    def __init__(
        self,
        resends: ResendStore,
        inventories: InventoryStore,
        service_types: ServiceTypeCache,
        upstream: Any,  # adapters.returnhelper_client.ReturnHelperClient
        retries: RetryQueue,
        settings: ResendSettings,
    ) -> None:
        self._resends = resends
        self._inventories = inventories
        self._service_types = service_types
        self._upstream = upstream
        self._retries = retries
        self._settings = settings

    # ------------------------------------------------------------------ create
    def create(self, request: CreateResendRequest, idempotency_key: str | None) -> Answer:
        request_id = request_id_for(idempotency_key)
        fingerprint = request.fingerprint()
        # The items, and with a key the record it names, in one isolated read: a concurrent request's
        # reservation is seen whole (its 409 names every item it holds) or not at all.
        keyed_id = request_id if idempotency_key else None
        existing, records = self._resends.get_with_items(keyed_id, request.returnInventoryIdList)
        if existing is not None:
            return self._replay(existing, fingerprint)
        # Stock Return Helper had before this stack heard of it: looked up once, then judged.
        records = read_through(self._upstream, self._inventories, request.returnInventoryIdList, records)
        held = prerequisites.reserved(request, records)
        if held:
            return _conflict_answer(ReservationConflict([Conflict(i, holder) for i, holder in held.items()]))
        problems, warehouse_id = self._prerequisites(request, records)
        if problems is None:
            return Answer(503, error_body("Return Helper's service types are unavailable; try again"), "unavailable")
        if problems:
            answer = Answer(422, error_body("resend request is not valid", problems), "invalid")
            return self._remember_refusal(idempotency_key, request.returnInventoryIdList, fingerprint, answer)

        now = now_iso()
        record = {
            "resendRequestId": request_id,
            "status": Status.PENDING.value,
            "returnInventoryIdList": list(request.returnInventoryIdList),
            "warehouseId": warehouse_id,
            "upstreamIdempotencyKey": idempotency_key or request_id,
            "fingerprint": fingerprint,
            "request": request.upstream_body(),
            "attempts": 0,
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
        try:
            self._resends.reserve(record, request.returnInventoryIdList)
        except RequestExists:
            return self._replay(self._resends.get(request_id) or {}, fingerprint)
        except ReservationConflict as conflict:
            return _conflict_answer(conflict)
        return self.submit(record)

    def _prerequisites(
        self, request: CreateResendRequest, records: dict[int, InventoryRecord]
    ) -> tuple[list[FieldError] | None, int | None]:
        problems = prerequisites.check_items(
            request, records, self._settings.eligible_handling_codes, self._settings.max_items
        )
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

    def _remember_refusal(self, key: str | None, ids: list[int], fingerprint: str, answer: Answer) -> Answer:
        """With a key, the refusal is recorded (REJECTED, readable by key) and replayed for the same key."""
        if not key:
            return answer
        request_id = request_id_for(key)
        now = now_iso()
        record = {
            "resendRequestId": request_id,
            "status": Status.REJECTED.value,
            "returnInventoryIdList": list(ids),
            "idempotencyKey": key,
            "fingerprint": fingerprint,
            "attempts": 0,
            "lastError": {"message": answer.body["message"], "errors": answer.body["errors"]},
            "createdAt": now,
            "updatedAt": now,
            "answer": {"statusCode": answer.status_code, "body": answer.body},
        }
        try:
            self._resends.create(record)
        except RequestExists:
            return self._replay(self._resends.get(request_id) or {}, fingerprint)
        return answer

    def _replay(self, existing: dict[str, Any], fingerprint: str) -> Answer:
        if existing.get("fingerprint") != fingerprint:
            message = "this Idempotency-Key was already used with a different request body"
            return Answer(422, error_body(message, [FieldError("Idempotency-Key", message)]), "key_reused")
        stored = existing.get("answer")
        if stored:
            return Answer(int(stored["statusCode"]), stored["body"], "replayed")
        if int(existing.get("answerBefore", 0)) > time.time():
            return Answer(409, error_body("a request with this Idempotency-Key is still being processed"), "in_flight")
        # The first call died before answering; the request itself is safe (reconciled), say where it is.
        return Answer(202, _accepted_body(existing), "replayed")

    # ------------------------------------------------------------------ automation (SQS)
    def intake(self, idempotency_key: str, request_json: Any) -> Answer:
        """A resend request from the merchant's automation queue: the same path as POST /resends.

        What HTTP would answer with 4xx is recorded REJECTED under the key (readable with
        GET /resends?idempotencyKey=) and never retried; RetryLater means "leave it on the queue".
        """
        try:
            request = CreateResendRequest.model_validate(request_json)
        except ValidationError as invalid:
            answer = Answer(
                422, error_body("resend request is not valid", from_validation_errors(invalid.errors())), "invalid"
            )
            ids = request_json.get("returnInventoryIdList") if isinstance(request_json, dict) else None
            ids = [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
            return self._remember_refusal(idempotency_key, ids, fingerprint_of(request_json), answer)
        answer = self.create(request, idempotency_key)
        if answer.outcome in {"unavailable", "in_flight"}:
            raise RetryLater(answer.body["message"])
        if answer.outcome == "conflict":
            return self._remember_refusal(idempotency_key, request.returnInventoryIdList, request.fingerprint(), answer)
        return answer

    def retry(self, request_id: str) -> Answer:
        """One queued retry of a PENDING request (same idempotency key upstream as every attempt)."""
        record = self._resends.get(request_id)
        if record is None:
            raise UnknownResendRequest(request_id)
        if record["status"] != Status.PENDING.value:
            return Answer(200, resend_lifecycle.view(record), "settled")
        return self.submit(record)

    # ------------------------------------------------------------------ submit
    def submit(self, record: dict[str, Any]) -> Answer:
        """One upstream create attempt for a PENDING request; records and answers its outcome."""
        attempts = int(record.get("attempts", 0)) + 1
        outcome = self._upstream.create_resend(record["request"], record["upstreamIdempotencyKey"])
        if outcome.ok:
            return self._submitted(record, attempts, outcome)
        if outcome.permanent:
            return self._rejected(record, attempts, outcome)
        return self._retry_later(record, attempts, outcome)

    def _submitted(self, record: dict[str, Any], attempts: int, outcome: UpstreamOutcome) -> Answer:
        request_id = record["resendRequestId"]
        resend_id = resend_id_of(outcome)
        changes = {
            "status": Status.SUBMITTED.value,
            "resendId": resend_id,
            "resendNumber": outcome.payload.get("resendNumber"),
            "resendStatusCode": 0,
            "attempts": attempts,
            "updatedAt": now_iso(),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        body = {**resend_lifecycle.view({**record, **changes}), "status": Status.SUBMITTED.value}
        answer = Answer(201, body, "submitted")
        changes["answer"] = {"statusCode": 201, "body": body}
        # Upstream sets the items to rsd on create; say so locally now, as facts dated now, so older
        # webhooks cannot undo them and newer ones still win. One transaction with the SUBMITTED
        # record (one round trip); when it is cancelled (a newer webhook on an item, the status moved
        # on), nothing of it was written and the per-item path below merges each fact on its own.
        event_time = now_iso()
        version = inventory.event_version(event_time, f"resend:{request_id}")
        marks = [
            InventoryFacts(int(inventory_id), {"handlingCode": "rsd", "handlingStatusCode": "pending"})
            for inventory_id in record["returnInventoryIdList"]
        ]
        updates = [self._inventories.in_order_update(facts, version, event_time) for facts in marks]
        if not self._resends.transition_with(request_id, [Status.PENDING.value], changes, updates):
            self._resends.transition(request_id, [Status.PENDING.value], changes)
            for facts in marks:
                self._inventories.apply(facts, version, event_time)
        # Status reports that beat this answer were parked under the resend id: the record's first
        # resend id on the table's stream releases them (template.yaml ReconcilerFunction.ResendIdRecorded).
        return answer

    def _rejected(self, record: dict[str, Any], attempts: int, outcome: UpstreamOutcome) -> Answer:
        upstream = {"errorCode": outcome.error_code, "error": outcome.errors or outcome.detail}
        field_errors = [FieldError(name, message) for name, message in (outcome.errors or {}).items()]
        body = {
            "resendRequestId": record["resendRequestId"],
            "status": Status.REJECTED.value,
            "upstream": upstream,
            **error_body(f"Return Helper refused the resend: {outcome.error_code or outcome.detail}", field_errors),
        }
        changes = {
            "status": Status.REJECTED.value,
            "attempts": attempts,
            "lastError": {"errorCode": outcome.error_code, "error": upstream["error"], "detail": outcome.detail},
            "updatedAt": now_iso(),
            "answer": {"statusCode": 422, "body": body},
        }
        self._resends.transition(
            record["resendRequestId"], [Status.PENDING.value], changes, record["returnInventoryIdList"]
        )
        return Answer(422, body, "rejected")

    def _retry_later(self, record: dict[str, Any], attempts: int, outcome: UpstreamOutcome) -> Answer:
        request_id = record["resendRequestId"]
        body = {"resendRequestId": request_id, "status": Status.PENDING.value}
        if retry_policy.should_give_up(attempts, self._settings.retry_max_attempts):
            return self.give_up(record, attempts, outcome)
        delay = retry_policy.next_delay_seconds(
            attempts, self._settings.retry_base_delay_seconds, outcome.retry_after_seconds
        )
        changes = {
            "attempts": attempts,
            "lastError": {"detail": outcome.detail, "errorCode": outcome.error_code},
            "nextAttemptAt": int(time.time()) + delay,
            "updatedAt": now_iso(),
            "answer": {"statusCode": 202, "body": body},
        }
        # Recorded before the message goes out: the reconciler re-enqueues a PENDING
        # request whose nextAttemptAt has long passed, so a crash here loses nothing.
        self._resends.transition(request_id, [Status.PENDING.value], changes)
        self._retries.schedule(request_id, delay)
        return Answer(202, body, "pending")

    def give_up(self, record: dict[str, Any], attempts: int, outcome: UpstreamOutcome) -> Answer:
        body = {"resendRequestId": record["resendRequestId"], "status": Status.DEAD.value}
        changes = {
            "status": Status.DEAD.value,
            "attempts": attempts,
            "lastError": {"detail": f"gave up after {attempts} attempts: {outcome.detail}"},
            "updatedAt": now_iso(),
        }
        self._resends.transition(
            record["resendRequestId"], [Status.PENDING.value], changes, record["returnInventoryIdList"]
        )
        return Answer(202, body, "dead")

    # ------------------------------------------------------------------ read / cancel
    def service_types(self, warehouse_id: int) -> Answer:
        try:
            rows = self._service_types.rows(warehouse_id)
        except ServiceTypesUnavailable as unavailable:
            message = f"Return Helper's service types are unavailable ({unavailable}); try again"
            return Answer(503, error_body(message), "unavailable")
        except ServiceTypesRefused as refused:
            message = f"Return Helper lists no service types for warehouse {warehouse_id} ({refused})"
            return Answer(422, error_body(message, [FieldError("warehouseId", message)]), "invalid")
        items = [
            {
                "serviceTypeCode": row.get("serviceTypeCode"),
                "serviceType": row.get("serviceType"),
                "countryCodePairList": row.get("countryCodePairList") or [],
            }
            for row in rows
        ]
        return Answer(200, {"items": items}, "read")

    def get(self, request_id: str) -> Answer:
        record = self._resends.get(request_id)
        if record is None:
            return Answer(404, error_body(f"resend request {request_id} is not known"), "not_found")
        return Answer(200, resend_lifecycle.view(record), "read")

    def get_by_key(self, idempotency_key: str) -> Answer:
        record = self._resends.get(request_id_for(idempotency_key))
        if record is None or record.get("idempotencyKey") != idempotency_key:
            return Answer(404, error_body("no resend request with this idempotency key"), "not_found")
        return Answer(200, resend_lifecycle.view(record), "read")

    def cancel(self, request_id: str) -> Answer:
        record = self._resends.get(request_id)
        if record is None:
            return Answer(404, error_body(f"resend request {request_id} is not known"), "not_found")
        status = Status(record["status"])
        if status != Status.SUBMITTED or record.get("resendId") is None:
            why = {
                Status.PENDING: "it is not confirmed by Return Helper yet; try again shortly",
                Status.IN_PROGRESS: "the warehouse has already started on it",
            }.get(status, f"it is {status.value}")
            return Answer(409, error_body(f"resend request cannot be canceled: {why}"), "not_cancellable")
        outcome = self._upstream.cancel_resend(int(record["resendId"]), f"cancel-{request_id}")
        if outcome.permanent:
            message = f"Return Helper refused the cancel: {outcome.error_code or outcome.detail}"
            return Answer(409, error_body(message), "not_cancellable")
        if not outcome.ok:
            return Answer(
                503, error_body(f"Return Helper could not be reached ({outcome.detail}); try again"), "unavailable"
            )
        canceled_at = now_iso()
        changes = {"status": Status.CANCELED.value, "resendStatusCode": 1, "updatedAt": canceled_at}
        moved = self._resends.transition(request_id, [Status.SUBMITTED.value], changes, record["returnInventoryIdList"])
        if not moved:
            return self.get(request_id)
        # Eligible again at once: the handling they had before this request, dated at the cancel.
        restore_handling(self._inventories, record, canceled_at, f"cancel:{request_id}")
        return Answer(200, resend_lifecycle.view({**record, **changes}), "canceled")


class RetryLater(Exception):
    """Nothing decided yet (upstream or a concurrent request busy): try the message again later."""


class UnknownResendRequest(Exception):
    """A retry message names a request that does not exist: a poison message."""


def _conflict_answer(conflict: ReservationConflict) -> Answer:
    errors = []
    conflicts = []
    for item in conflict.conflicts:
        if item.held_by is None:
            errors.append(FieldError("returnInventoryIdList", f"inventory {item.inventory_id} is not known"))
        else:
            errors.append(
                FieldError("returnInventoryIdList", f"inventory {item.inventory_id} is reserved by {item.held_by}")
            )
        conflicts.append({"returnInventoryId": item.inventory_id, "resendRequestId": item.held_by})
    body = {**error_body("items are reserved by another active resend request", errors), "conflicts": conflicts}
    return Answer(409, body, "conflict")


def _accepted_body(record: dict[str, Any]) -> dict[str, Any]:
    return {"resendRequestId": record.get("resendRequestId"), "status": record.get("status")}
