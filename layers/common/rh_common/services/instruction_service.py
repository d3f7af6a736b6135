"""Resend instructions (contract section 12): registered by the merchant, matched when their item is logged.

Registration checks the address (ResendService.address_problems) and stores the instruction under an id the
Idempotency-Key names; an item that already arrived (the reference table knows it) matches at once. An
arrival matches through `arrived` (the inventory stream's consumer): the resend is created under the key
`instruction:<id>`, so however many deliveries or syncs report the item, one resend exists, and the
instruction's conditional WAITING -> MATCHED transition records it once.

The reconciler's runs sweep the waiting instructions (`sweep`): one past its expiry is stored EXPIRED (it
leaves the match index), and the others get the registration's own match, on consistent reads. An arrival's
look-up goes through an index (eventually consistent): a registration and an arrival within its lag see
neither each other, and the next run matches them. The resend key and the conditional transition keep a sweep
racing an arrival to one resend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rh_common.domain import approval, instructions, inventory, references, results, timestamps
from rh_common.domain.errors import InvalidPageToken
from rh_common.domain.field_errors import FieldError, error_body
from rh_common.domain.idempotency_keys import request_id_for
from rh_common.domain.results import Outcome, Result
from rh_common.services.ports import InstructionRecords, Inventories, References

if TYPE_CHECKING:
    from rh_common.contract.instructions import InstructionRequest
    from rh_common.contract.resend_request import CreateResendRequest
    from rh_common.services.quote_service import QuoteService
    from rh_common.services.resend_service import ResendService

_PAGE_LIMIT = 100
# Refusals ResendService records under the request's key (its `_remember_refusal`, or Return Helper's).
_RECORDED_REFUSALS = frozenset({Outcome.INVALID, Outcome.REJECTED})
# The stored statuses a listing reads (EXPIRED: those a sweep stored, then the waiting ones past their expiry).
_STORED_AS: dict[instructions.Status, tuple[str, ...]] = {
    instructions.Status.WAITING: ("WAITING",),
    instructions.Status.MATCHED: ("MATCHED",),
    instructions.Status.CANCELED: ("CANCELED",),
    instructions.Status.EXPIRED: ("EXPIRED", "WAITING"),
}


class InstructionNotSettled(RuntimeError):
    """An instruction's resend could not be decided now: the stream record is retried."""


@dataclass
class SweepReport:
    expired: list[str] = field(default_factory=list)  # stored EXPIRED by this sweep
    matched: list[str] = field(default_factory=list)  # MATCHED by this sweep (an arrival the stream missed)


class InstructionService:
    def __init__(
        self,
        store: InstructionRecords,
        resends: Callable[[], ResendService],
        quotes: Callable[[], QuoteService],
        references_table: References,
        inventories: Inventories,
    ) -> None:
        self._store = store
        # Built on first use: a sweep or an arrival that matches nothing never builds the resend or quote service
        # (nor their Return Helper client and service-type cache).
        self._resends = resends
        self._quotes = quotes
        self._references = references_table
        self._inventories = inventories
        # Where the last sweep stopped (createdAt, instructionId): the next one goes on from there. Kept by the
        # process (one reconciler at a time, warm between runs); a cold start begins again at the oldest.
        self._swept_to: tuple[str, str] | None = None

    # ------------------------------------------------------------------ the merchant's routes
    def register(self, request: InstructionRequest, idempotency_key: str) -> Result:
        problems = self._resends().address_problems(request.resendShipment)
        if problems:
            return results.invalid("The address is refused by the destination country's rules", problems)
        now = datetime.now(UTC)
        if request.expiresAt is not None and request.expiresAt <= now:
            return results.invalid("expiresAt has passed", [FieldError("expiresAt", "give a future time")])
        instruction_id = instructions.instruction_id_for(idempotency_key)
        ((match_type, value),) = request.match.items()
        stamp = timestamps.iso(now)
        record: dict[str, Any] = {
            "instructionId": instruction_id,
            "status": instructions.Status.WAITING.value,
            "match": {match_type: value},
            "matchRef": instructions.match_reference(match_type, value),
            "resendShipment": request.resendShipment.model_dump(mode="json", exclude_none=True),
            "fingerprint": request.fingerprint(),
            "expiresAt": instructions.expires_at(request.expiresAt, now),
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        if request.sku is not None:
            record["sku"] = request.sku
        if not self._store.create(record):
            stored = self._store.get(instruction_id)
            if stored is None or stored["fingerprint"] != record["fingerprint"]:
                return results.key_reused("This Idempotency-Key registered another instruction")
            record = stored  # the same registration again: it matches now what it could not then
        try:
            self._match_arrived(record)
        except InstructionNotSettled:
            return results.unavailable(
                "Registered, but its arrived item could not be resent now: retry with the same key"
            )
        return Result(Outcome.REGISTERED, instructions.view(self._store.get(instruction_id) or record))

    def get(self, instruction_id: str) -> Result:
        record = self._store.get(instruction_id)
        if record is None:
            return results.not_found("No such instruction")
        return results.found(instructions.view(record))

    def list(self, status: instructions.Status, limit: int, next_token: str | None) -> Result:
        """A page of the instructions in `status`. One past its expiry is stored WAITING until a sweep stores it
        EXPIRED: it is listed as EXPIRED either way (and the listing of WAITING leaves it out)."""
        try:
            items, token = self._store.page(_STORED_AS[status], min(limit, _PAGE_LIMIT), next_token)
        except InvalidPageToken as bad:
            return results.invalid(str(bad), [FieldError("nextToken", str(bad))])
        now = datetime.now(UTC)
        views = [instructions.view(item, now) for item in items]
        if status in (instructions.Status.WAITING, instructions.Status.EXPIRED):
            views = [v for v in views if v["status"] == status.value]
        return results.found({"items": views, "nextToken": token})

    def cancel(self, instruction_id: str) -> Result:
        record = self._store.get(instruction_id)
        if record is None:
            return results.not_found("No such instruction")
        if instructions.current(record) is instructions.Status.WAITING and self._store.settle(
            instruction_id, instructions.Status.CANCELED.value, timestamps.now_iso()
        ):
            return Result(Outcome.CANCELED, instructions.view(self._store.get(instruction_id) or record))
        now_status = instructions.current(self._store.get(instruction_id) or record)
        message = f"Only a WAITING instruction can be cancelled; this one is {now_status.value}"
        return Result(Outcome.NOT_CANCELLABLE, error_body(message))

    # ------------------------------------------------------------------ matching
    def arrived(self, inventory_id: int, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> None:
        """An item's stream image: the waiting instructions for each reference it gained, or for all of them
        when it has just become ready or changed its SKU (instructions.references_to_look_up), get their resend."""
        for ref in sorted(instructions.references_to_look_up(old, new)):
            for record in self._store.waiting_for(f"instruction#{ref}"):
                if instructions.item_matches(record, new):
                    self._resend(record, inventory_id, new)

    def sweep(self, now: datetime, allows: Callable[[], bool], max_checked: int) -> SweepReport:
        """The reconciler's step: at most `max_checked` waiting instructions, while `allows()` (the run's
        budget), in turns: from where the last sweep stopped, on to the newest, then round from the oldest up
        to where this one began. Each: stored EXPIRED past its expiry, else the registration's match."""
        report = SweepReport()
        began_after, position, turned = self._swept_to, self._swept_to, False
        checked = 0
        while checked < max_checked and allows():
            records, more = self._store.waiting_after(position, min(_PAGE_LIMIT, max_checked - checked))
            for record in records:
                at = (record["createdAt"], record["instructionId"])
                if (turned and began_after is not None and at > began_after) or not allows():
                    self._swept_to = position  # round once, or out of time: the next run goes on from here
                    return report
                self._sweep_one(record, now, report)
                position, checked = at, checked + 1
            if not more:
                if turned or began_after is None:
                    position = None  # every waiting instruction checked: the next run starts at the oldest
                    break
                turned, position = True, None
        self._swept_to = position
        return report

    def _sweep_one(self, record: Mapping[str, Any], now: datetime, report: SweepReport) -> None:
        instruction_id = record["instructionId"]
        if instructions.current(record, now) is instructions.Status.EXPIRED:
            if self._store.settle(instruction_id, instructions.Status.EXPIRED.value, timestamps.iso(now)):
                report.expired.append(instruction_id)
            return
        try:
            if self._match_arrived(record):
                report.matched.append(instruction_id)
        except InstructionNotSettled:
            pass  # nothing decided (Return Helper unavailable): the next run asks again, under the same key

    def _match_arrived(self, record: Mapping[str, Any]) -> bool:
        """The instruction's match among the items that carry its reference (consistent reads); True when
        this call settled it MATCHED."""
        ((match_type, value),) = record["match"].items()
        ref = references.reference(match_type, value)
        if ref is None:
            return False
        ids, _ = self._references.page(ref, _PAGE_LIMIT)
        found = self._inventories.get_many(ids, consistent=True) if ids else {}
        for inventory_id in ids:
            item = found.get(inventory_id)
            if item is None:
                continue
            values = inventory.attributes(item)
            if instructions.item_matches(record, values) and self._resend(record, inventory_id, values):
                return True
        return False

    def _quote(self, request: CreateResendRequest) -> None:
        """The item quoted for the instruction's destination first, as a fulfilment's groups are: the create
        reads the quote (kept in the cache) for the fee it records and approval judges. Return Helper unavailable
        is undecided (retried: a fee missing for a moment must not send the resend to a person); a refusal (a
        flagged item, no service there) is the create's to say, and without a fee under a threshold it waits."""
        from rh_common.contract.workflow_requests import QuoteRequest

        shipment = request.resendShipment
        quoted = self._quotes().quote(QuoteRequest.of(request.returnInventoryIdList, shipment))
        if quoted.outcome == Outcome.UNAVAILABLE:
            raise InstructionNotSettled(f"quote of {request.returnInventoryIdList}: {quoted.message}")

    def _resend(self, record: Mapping[str, Any], inventory_id: int, values: Mapping[str, Any]) -> bool:
        """The instruction's resend of this item, created once (its key); True when this call settled the
        instruction MATCHED."""
        from rh_common.contract.resend_request import CreateResendRequest

        # Read again, consistently: `record` may come from an index that lags (cancelled, expired or matched
        # since); nothing is created for an instruction that no longer waits.
        fresh = self._store.get(record["instructionId"])
        if fresh is None or instructions.current(fresh) is not instructions.Status.WAITING:
            return False
        request = CreateResendRequest(returnInventoryIdList=[inventory_id], resendShipment=record["resendShipment"])
        self._quote(request)
        created = self._resends().create(
            request,
            instructions.resend_key(record["instructionId"]),
            origin=approval.Origin.INSTRUCTION,
            hold_first=values.get("handlingCode") == "tbc",
        )
        if created.undecided:
            # Nothing decided (Return Helper unavailable, the same key in flight): the stream retries the record.
            raise InstructionNotSettled(f"instruction {record['instructionId']}: {created.decision.value}")
        resend_request_id = created.body.get("resendRequestId")
        if created.decision in _RECORDED_REFUSALS:
            # Refused for good and recorded under the key (REJECTED, its lastError says why): the instruction
            # has had its one resend, and the merchant reads why.
            resend_request_id = resend_request_id or request_id_for(instructions.resend_key(record["instructionId"]))
        elif created.refused or not resend_request_id:
            return False  # reserved by another request: the instruction waits
        return self._store.settle(
            record["instructionId"],
            instructions.Status.MATCHED.value,
            timestamps.now_iso(),
            {"resendRequestId": resend_request_id, "returnInventoryId": inventory_id},
        )
