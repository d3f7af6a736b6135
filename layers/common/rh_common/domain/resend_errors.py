"""Why a resend request failed: `lastError` (CONTRACT sections 3 and 11), and the one home of its `reason`.

A request's `lastError` is stored as `{"errorCode", "detail", "reason"}`; `detail` is always our own
description (it goes out in events). Return Helper's own words (its `meta.error` texts, a failed
shipment's `error`) and our field messages are kept beside it (`texts`, `errors`) for the merchant's
view only: they may quote the address, so an event carries none of them (`published`).

The reason is read from what Return Helper really sends (returnhelper-api.md section 3): 401/403
(credentials), 5xx, 408/409/429, timeouts and resets (transient), and soft errors (`meta.status`
400 with an `errorCode` such as `VALIDATION_FAILED`) whose `meta.error` is keyed by the request
property (`resendShipment.shipmentCity`, `returnInventoryId`) with English messages; a failed
resend's shipment carries `error` as a JSON-encoded `{"message": "Invalid address."}`. The field
names decide first; the words only where no field names the problem.

Records written before `reason` existed still read: their reason is derived from what they hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from rh_common.domain.field_errors import FieldError
from rh_common.domain.upstream_outcome import UpstreamOutcome


class Reason(StrEnum):
    ADDRESS_INVALID = "addressInvalid"
    ITEM_NOT_ELIGIBLE = "itemNotEligible"
    CREDENTIALS = "credentials"
    UPSTREAM_UNAVAILABLE = "upstreamUnavailable"
    APPROVAL_TIMEOUT = "approvalTimeout"  # an approval that never came (section 12)
    OTHER = "other"


_REASONS = frozenset(reason.value for reason in Reason)

# The request properties of an address (resendShipment's, bar the service type), lower-cased.
_ADDRESS_FIELDS = frozenset(
    "shipment" + name
    for name in (
        "countrycode",
        "name",
        "phone",
        "fax",
        "email",
        "street1",
        "street2",
        "street3",
        "state",
        "city",
        "postalcode",
    )
)
_ITEM_FIELD = re.compile(r"returninventoryid")
_CREDENTIAL_WORDS = re.compile(r"unauthori[sz]ed|forbidden|api[ _-]?(key|token)|credential", re.IGNORECASE)
_ITEM_WORDS = re.compile(
    r"inventor(y|ies)|eligib|in stock|out of stock|handling|\bvas\b|recall|consolidat|workflow|line ?item",
    re.IGNORECASE,
)
# What an item field's message says when the items themselves are the problem (not the list's shape: its
# length, repeated ids): not known, not eligible, reserved by another request, in several warehouses.
_ITEM_FIELD_WORDS = re.compile(
    r"inventory \d+|eligib|in stock|out of stock|handling|\bvas\b|recall|consolidat|workflow|warehouse|reserved"
    r"|not known|not found",
    re.IGNORECASE,
)
_ADDRESS_WORDS = re.compile(
    r"address|postal|post ?code|zip|street|\bcity\b|\bstate\b|province|phone|e-?mail|recipient", re.IGNORECASE
)
# What our own `detail` of a transient failure says (answers.py, upstream_outcome.not_sent): only read
# to derive the reason of a record written before reasons were stored.
_OUR_CREDENTIAL_DETAIL = re.compile(r"credentials refused|Return Helper secret")


def classify(error_code: str | None, problems: Iterable[tuple[str | None, str]] = ()) -> Reason:
    """The reason of a refusal, from its error code and its (field, message) pairs (either may be empty).

    Fields first: an item field saying the items cannot go makes it the item's (an address will not
    help), else an address field the address's. Without a telling field, the words of the code and the
    messages decide in the same order, after the credential words."""
    pairs = list(problems)
    named = [(_field_name(field), message) for field, message in pairs if field]
    if any(_ITEM_FIELD.search(name) and _ITEM_FIELD_WORDS.search(message) for name, message in named):
        return Reason.ITEM_NOT_ELIGIBLE
    if any(name in _ADDRESS_FIELDS for name, _ in named):
        return Reason.ADDRESS_INVALID
    # An item field's message was read above: the list's shape (its length, repeated ids) is no item's fault.
    unread = [message for field, message in pairs if not (field and _ITEM_FIELD.search(_field_name(field)))]
    words = " ".join([(error_code or "").replace("_", " "), *unread])
    for pattern, reason in (
        (_CREDENTIAL_WORDS, Reason.CREDENTIALS),
        (_ITEM_WORDS, Reason.ITEM_NOT_ELIGIBLE),
        (_ADDRESS_WORDS, Reason.ADDRESS_INVALID),
    ):
        if pattern.search(words):
            return reason
    return Reason.OTHER


def of_outcome(outcome: UpstreamOutcome) -> Reason:
    """The reason of a failed Return Helper call."""
    if outcome.credentials_refused or outcome.credentials_unusable:
        return Reason.CREDENTIALS
    if outcome.transient:
        return Reason.UPSTREAM_UNAVAILABLE
    return classify(outcome.error_code, outcome.errors.items())


def shipment_messages(error: str | None) -> list[str]:
    """A failed shipment's `error` as messages: upstream sends JSON (`{"message": "Invalid address."}`),
    kept as is when it is not."""
    if not error:
        return []
    try:
        decoded = json.loads(error)
    except ValueError:
        return [error]
    if isinstance(decoded, Mapping):
        return [str(value) for value in decoded.values() if value not in (None, "")] or [error]
    if isinstance(decoded, list):
        return [str(value) for value in decoded if value not in (None, "")] or [error]
    return [str(decoded)]


# ------------------------------------------------------------------ the stored lastError, per cause


def refused_upstream(outcome: UpstreamOutcome) -> dict[str, Any]:
    """Return Helper refused the create (REJECTED)."""
    return {
        "errorCode": outcome.error_code,
        "detail": f"Return Helper refused the resend: {outcome.detail}",
        "reason": of_outcome(outcome).value,
        "texts": [{"field": name or None, "message": message} for name, message in outcome.errors.items()],
    }


def transient(outcome: UpstreamOutcome, detail: str) -> dict[str, Any]:
    """A transient failure: PENDING (retried), or DEAD once the budget is spent; `detail` is ours."""
    return {"errorCode": outcome.error_code, "detail": detail, "reason": of_outcome(outcome).value}


def refused_here(message: str, problems: Iterable[FieldError]) -> dict[str, Any]:
    """Refused before anything went upstream (validation, prerequisites, a reservation conflict)."""
    listed = list(problems)
    return {
        "errorCode": None,
        "detail": message,
        "reason": classify(None, ((problem.field, problem.message) for problem in listed)).value,
        "errors": [{"field": problem.field, "message": problem.message} for problem in listed],
    }


def failed_upstream(shipment_error: str | None) -> dict[str, Any]:
    """Return Helper reported the resend failed (FAILED); the shipment's `error` says why."""
    messages = shipment_messages(shipment_error)
    return {
        "errorCode": None,
        "detail": "Return Helper reported the resend failed",
        "reason": classify(None, ((None, message) for message in messages)).value,
        "texts": [{"field": None, "message": message} for message in messages],
    }


# ------------------------------------------------------------------ reading a stored lastError


def reason_of(stored: Mapping[str, Any]) -> Reason:
    """The stored reason; for a record written before reasons were stored, derived from what it holds."""
    if stored.get("reason") in _REASONS:
        return Reason(stored["reason"])
    errors = stored.get("errors")
    if isinstance(errors, list):  # refused here: {message, errors}
        return classify(None, _pairs(errors))
    if stored.get("errorCode") is not None or stored.get("error"):  # refused upstream, or FAILED
        return classify(stored.get("errorCode"), _words(stored))
    detail = str(stored.get("detail") or "")
    if _OUR_CREDENTIAL_DETAIL.search(detail):
        return Reason.CREDENTIALS
    if detail and "reported the resend failed" not in detail:
        return Reason.UPSTREAM_UNAVAILABLE  # PENDING's last transient failure, or DEAD after them
    return Reason.OTHER


def view(stored: Any) -> dict[str, Any] | None:
    """The contract's `lastError` of a stored one: our description with Return Helper's words (or our
    field messages) after it, for the merchant who sent the address."""
    if not isinstance(stored, Mapping):
        return None
    detail = str(stored.get("detail") or stored.get("message") or "")
    said = [_said(field, message) for field, message in _words(stored)]
    said += [_said(field, message) for field, message in _pairs(stored.get("errors"))]
    said = [text for text in said if text and text not in detail]
    if said:
        detail = f"{detail}: {'; '.join(said)}" if detail else "; ".join(said)
    return {"errorCode": stored.get("errorCode"), "detail": detail, "reason": reason_of(stored).value}


def published(stored: Any) -> dict[str, Any] | None:
    """The `lastError` an event carries: the code, the reason, our own description and the names of the
    offending fields; never Return Helper's texts nor our field messages (either may quote the address).

    A refusal here carries `message` rather than `detail` (ResendsNeedingAPersonRule tells the two
    apart: docs/events.md)."""
    if not isinstance(stored, Mapping):
        return None
    safe: dict[str, Any] = {"errorCode": stored.get("errorCode"), "reason": reason_of(stored).value}
    fields = [field for field, _ in [*_words(stored), *_pairs(stored.get("errors"))] if field]
    if isinstance(stored.get("errors"), list):
        safe["message"] = str(stored.get("detail") or stored.get("message") or "")
    elif "detail" in stored:
        safe["detail"] = str(stored["detail"])
    if fields:
        safe["fields"] = sorted(set(fields))
    return safe


def _field_name(field: str) -> str:
    """`resendShipment.shipmentCity`, `ResendShipment.ShipmentCity` -> `shipmentcity`; `returnInventoryIdList[0]`,
    `returnInventoryIdList.0` -> `returninventoryidlist`."""
    parts = [part for part in re.split(r"[.\[\]]", field.lower()) if part and not part.isdigit()]
    return parts[-1] if parts else ""


def _pairs(errors: Any) -> list[tuple[str | None, str]]:
    """Our field errors (`[{"field", "message"}]`) as pairs."""
    if not isinstance(errors, list):
        return []
    return [(entry.get("field"), str(entry.get("message") or "")) for entry in errors if isinstance(entry, Mapping)]


def _words(stored: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """Return Helper's words a stored lastError keeps: `texts` (`[{"field", "message"}]`), or in a record
    written before it, `error`: a refusal's `meta.error` (`{property: message}`, or our own detail when it
    had none) or a failed shipment's error."""
    if "texts" in stored:
        return _pairs(stored["texts"])
    error = stored.get("error")
    if isinstance(error, Mapping):
        return [(str(name) or None, str(message)) for name, message in error.items()]
    if isinstance(error, str) and error:
        return [(None, message) for message in shipment_messages(error)]
    return []


def _said(field: str | None, message: str) -> str:
    return f"{field}: {message}" if field else message
