"""Resend instructions (contract section 12): registered by the merchant, matched when their item is logged.

Registration checks the address (ResendService.address_problems) and stores the instruction under an id the
Idempotency-Key names; an item that already arrived (the reference table knows it) matches at once. An
arrival matches through `arrived` (the inventory stream's consumer): the resend is created under the key
`instruction:<id>`, so however many deliveries or syncs report the item, one resend exists, and the
instruction's conditional WAITING -> MATCHED transition records it once.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    from rh_common.services.resend_service import ResendService

_PAGE_LIMIT = 100
# Refusals ResendService records under the request's key (its `_remember_refusal`, or Return Helper's).
_RECORDED_REFUSALS = frozenset({Outcome.INVALID, Outcome.REJECTED})


class InstructionNotSettled(RuntimeError):
    """An instruction's resend could not be decided now: the stream record is retried."""


class InstructionService:
    def __init__(
        self,
        store: InstructionRecords,
        resends: ResendService,
        references_table: References,
        inventories: Inventories,
    ) -> None:
        self._store = store
        self._resends = resends
        self._references = references_table
        self._inventories = inventories

    # ------------------------------------------------------------------ the merchant's routes
    def register(self, request: InstructionRequest, idempotency_key: str) -> Result:
        problems = self._resends.address_problems(request.resendShipment)
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
        """A page of the instructions in `status`. A WAITING one past its expiry is stored WAITING until read:
        it is listed as EXPIRED (and the listing of WAITING leaves it out)."""
        try:
            stored_status = instructions.Status.WAITING if status is instructions.Status.EXPIRED else status
            items, token = self._store.page(stored_status.value, min(limit, _PAGE_LIMIT), next_token)
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

    def _match_arrived(self, record: Mapping[str, Any]) -> None:
        ((match_type, value),) = record["match"].items()
        ref = references.reference(match_type, value)
        if ref is None:
            return
        ids, _ = self._references.page(ref, _PAGE_LIMIT)
        found = self._inventories.get_many(ids, consistent=True) if ids else {}
        for inventory_id in ids:
            item = found.get(inventory_id)
            if item is None:
                continue
            values = inventory.attributes(item)
            if instructions.item_matches(record, values) and self._resend(record, inventory_id, values):
                return

    def _resend(self, record: Mapping[str, Any], inventory_id: int, values: Mapping[str, Any]) -> bool:
        """The instruction's resend of this item, created once (its key); True once the instruction is MATCHED."""
        from rh_common.contract.resend_request import CreateResendRequest

        if instructions.current(record) is not instructions.Status.WAITING:
            return False
        request = CreateResendRequest(returnInventoryIdList=[inventory_id], resendShipment=record["resendShipment"])
        created = self._resends.create(
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
        self._store.settle(
            record["instructionId"],
            instructions.Status.MATCHED.value,
            timestamps.now_iso(),
            {"resendRequestId": resend_request_id, "returnInventoryId": inventory_id},
        )
        return True
