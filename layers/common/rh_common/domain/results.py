"""What the domain services answer: a typed result (an `Outcome` and the body the caller is told).

Pure and free of HTTP: `http.status_codes` is the one mapping of a result to a status code, at
the edge. The answer a keyed request stores to replay is the result too (`Result.stored`, read
back by `Result.from_stored`), so the worker and the batch decide on the outcome whichever call
answered first, never on a status code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rh_common.domain.errors import Conflict
from rh_common.domain.field_errors import FieldError, error_body


class Outcome(StrEnum):
    # A resend request (POST /resends, automation, retries, cancel)
    SUBMITTED = "submitted"  # Return Helper accepted the create (inline or on a retry)
    PENDING = "pending"  # transient upstream failure: a retry is scheduled
    REJECTED = "rejected"  # Return Helper refused it (never retried)
    DEAD = "dead"  # gave up after RETRY_MAX_ATTEMPTS
    INVALID = "invalid"  # failed validation or prerequisites: nothing sent upstream
    CONFLICT = "conflict"  # items reserved by another active request
    REPLAYED = "replayed"  # same Idempotency-Key and body: the first answer again
    KEY_REUSED = "key_reused"  # same Idempotency-Key, different body
    IN_FLIGHT = "in_flight"  # same Idempotency-Key while the first is unanswered
    UNAVAILABLE = "unavailable"  # Return Helper down and nothing cached: try again
    SETTLED = "settled"  # a retry message for a request that is no longer PENDING
    CANCELED = "canceled"
    NOT_CANCELLABLE = "not_cancellable"
    # Approval before money is spent (section 12)
    AWAITING_APPROVAL = "awaiting_approval"  # created, reserved, waiting for a person; nothing upstream
    APPROVED = "approved"  # approved (then as any PENDING request), or approved again: the current view
    NOT_AWAITING_APPROVAL = "not_awaiting_approval"  # never awaited, or answered otherwise (or timed out)
    # Reads
    READ = "read"
    NOT_FOUND = "not_found"
    # Around a resend: hold, quote, plan, batch
    HELD = "held"  # Return Helper put the item on hold (ohd)
    ALREADY_HELD = "already_held"
    NOT_HOLDABLE = "not_holdable"  # reserved, pending VAS, handling not pending, or not in stock
    QUOTED = "quoted"
    PLANNED = "planned"  # nothing reserved
    BATCHED = "batched"  # every group of the batch has an answer
    FULFILLED = "fulfilled"  # a fulfilment created its resends (some lines may be unfilled)
    UNFILLED = "unfilled"  # no line of a fulfilment could be filled: nothing reserved
    # Resend instructions (section 12)
    REGISTERED = "registered"  # an instruction stored (WAITING, or MATCHED at once)


# Nothing was decided: the same request later may succeed (the automation message stays queued).
UNDECIDED = frozenset({Outcome.UNAVAILABLE, Outcome.IN_FLIGHT})
# The request was refused as it is: the caller has to change something.
REFUSALS = frozenset(
    {
        Outcome.REJECTED,
        Outcome.INVALID,
        Outcome.CONFLICT,
        Outcome.KEY_REUSED,
        Outcome.NOT_CANCELLABLE,
        Outcome.NOT_AWAITING_APPROVAL,
        Outcome.NOT_FOUND,
        Outcome.NOT_HOLDABLE,
        Outcome.UNFILLED,
    }
)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    body: dict[str, Any]  # the view, or the contract's error body (message, errors, and more keys)
    replay_of: Outcome | None = None  # REPLAYED: what the first call's answer was

    @property
    def decision(self) -> Outcome:
        """What this answer says: a replay says what the first answer said."""
        return self.replay_of or self.outcome

    @property
    def refused(self) -> bool:
        return self.decision in REFUSALS

    @property
    def undecided(self) -> bool:
        return self.decision in UNDECIDED

    @property
    def message(self) -> str | None:
        return self.body.get("message")

    def stored(self) -> dict[str, Any]:
        """The answer a keyed request records for its replay (the record's `answer` attribute)."""
        return {"outcome": self.decision.value, "body": self.body}

    @classmethod
    def from_stored(cls, answer: Mapping[str, Any]) -> Result:
        """A recorded answer replayed: REPLAYED, saying what the first call answered."""
        body = answer["body"]
        if "outcome" in answer:
            first = Outcome(answer["outcome"])
        else:
            first = _recorded_as_status_code(int(answer["statusCode"]), body)
        return cls(Outcome.REPLAYED, body, replay_of=first)


def _recorded_as_status_code(status_code: int, body: Mapping[str, Any]) -> Outcome:
    """The outcome of an answer recorded before answers were stored as outcomes: `{statusCode, body}`,
    the HTTP answer of its first call. Tables of deployed stacks still hold these, and their codes stay
    what they were whatever `http.status_codes` maps later. Each outcome recorded had a code of its own
    but the two 422s: Return Helper's refusal carries `upstream`, a refusal before it does not."""
    if status_code == 422:
        return Outcome.REJECTED if "upstream" in body else Outcome.INVALID
    return {201: Outcome.SUBMITTED, 202: Outcome.PENDING, 409: Outcome.CONFLICT}[status_code]


def found(body: dict[str, Any]) -> Result:
    return Result(Outcome.READ, body)


def not_found(message: str) -> Result:
    return Result(Outcome.NOT_FOUND, error_body(message))


def invalid(message: str, problems: Iterable[FieldError] = ()) -> Result:
    return Result(Outcome.INVALID, error_body(message, problems))


def unavailable(message: str) -> Result:
    return Result(Outcome.UNAVAILABLE, error_body(message))


def key_reused(message: str) -> Result:
    return Result(Outcome.KEY_REUSED, error_body(message, [FieldError("Idempotency-Key", message)]))


def in_flight(message: str) -> Result:
    return Result(Outcome.IN_FLIGHT, error_body(message))


def reservation_conflict(conflicts: Iterable[Conflict]) -> Result:
    """Items reserved by another active request (or not known): POST /resends and the quote alike."""
    errors = []
    listed = []
    for item in conflicts:
        why = "is not known" if item.held_by is None else f"is reserved by {item.held_by}"
        errors.append(FieldError("returnInventoryIdList", f"inventory {item.inventory_id} {why}"))
        listed.append({"returnInventoryId": item.inventory_id, "resendRequestId": item.held_by})
    body = {**error_body("items are reserved by another active resend request", errors), "conflicts": listed}
    return Result(Outcome.CONFLICT, body)


def refused_upstream(what: str, outcome: Any) -> Result:
    """Return Helper refused a hold or a quote (an `UpstreamOutcome` that is permanent): with `upstream`."""
    upstream = {"errorCode": outcome.error_code, "error": outcome.errors or outcome.detail}
    field_errors = [FieldError(name or None, message) for name, message in (outcome.errors or {}).items()]
    message = f"Return Helper refused the {what}: {outcome.error_code or outcome.detail}"
    return Result(Outcome.REJECTED, {**error_body(message, field_errors), "upstream": upstream})
