"""lastError and its reason: classified from what Return Helper sends (real wire answers through the
client's classifier), stored as {errorCode, detail, reason}, and records from before still read."""

from __future__ import annotations

import json

import pytest

from rh_common.adapters.returnhelper.answers import classify_exception, classify_response
from rh_common.domain import resend_errors, resend_lifecycle
from rh_common.domain.field_errors import FieldError
from rh_common.domain.published_events import resend_status_changed
from rh_common.domain.resend_errors import Reason
from rh_common.domain.upstream_outcome import not_sent
from tests.support.resend import SHIPMENT

VF = "VALIDATION_FAILED"


def soft_error(error_code: str, error: object) -> bytes:
    """Return Helper's soft error: HTTP 200, meta.status 400, an errorCode (returnhelper-api.md section 3)."""
    meta = {"status": 400, "data": {}, "errorCode": error_code, "error": error}
    return json.dumps({"correlationId": "0HN:00000001", "meta": meta}).encode()


@pytest.mark.parametrize(
    ("http_status", "body", "reason"),
    [
        (
            200,
            soft_error(VF, {"resendShipment.shipmentCity": "City must not be longer than 50 characters."}),
            Reason.ADDRESS_INVALID,
        ),
        (
            200,
            soft_error(VF, {"ResendShipment.ShipmentPostalCode": "'Postal Code' must not be empty."}),
            Reason.ADDRESS_INVALID,
        ),
        (200, soft_error(VF, {"": "Invalid address."}), Reason.ADDRESS_INVALID),
        (200, soft_error(VF, "Invalid address."), Reason.ADDRESS_INVALID),
        (
            200,
            soft_error(VF, {"returnInventoryId": "Return inventory 20251 is not in stock."}),
            Reason.ITEM_NOT_ELIGIBLE,
        ),
        (
            200,
            soft_error(VF, {"returnInventoryIdList": "All inventories must be in the same warehouse."}),
            Reason.ITEM_NOT_ELIGIBLE,
        ),
        (200, soft_error(VF, {"": "The inventory has a pending VAS request."}), Reason.ITEM_NOT_ELIGIBLE),
        # the item wins over the address: correcting the address will not help
        (
            200,
            soft_error(
                VF,
                {"resendShipment.shipmentState": "Invalid state.", "returnInventoryId": "Inventory 7 is not eligible."},
            ),
            Reason.ITEM_NOT_ELIGIBLE,
        ),
        (
            200,
            soft_error(VF, {"resendShipment.shipmentServiceType": "Return service type is not allowed."}),
            Reason.OTHER,
        ),
        (
            200,
            soft_error("TRACKING_ALREADY_EXIST", {"trackingNumber": "Tracking number already exists."}),
            Reason.OTHER,
        ),
        (400, b"<html>Bad Request</html>", Reason.OTHER),
        (401, b"", Reason.CREDENTIALS),
        (403, b'{"message": "Forbidden"}', Reason.CREDENTIALS),
        (500, b"", Reason.UPSTREAM_UNAVAILABLE),
        (502, b"<html>Bad Gateway</html>", Reason.UPSTREAM_UNAVAILABLE),
        (503, b"", Reason.UPSTREAM_UNAVAILABLE),
        (429, b"", Reason.UPSTREAM_UNAVAILABLE),
        (200, b"<html>proxy</html>", Reason.UPSTREAM_UNAVAILABLE),
        (200, json.dumps({"meta": {"status": 500, "errorCode": "INTERNAL"}}).encode(), Reason.UPSTREAM_UNAVAILABLE),
    ],
)
def test_a_return_helper_answer_has_the_reason_its_code_and_texts_say(http_status, body, reason):
    assert resend_errors.of_outcome(classify_response("createResend", http_status, {}, body)) == reason


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (classify_exception("createResend", TimeoutError()), Reason.UPSTREAM_UNAVAILABLE),
        (classify_exception("createResend", ConnectionResetError()), Reason.UPSTREAM_UNAVAILABLE),
        (classify_exception("createResend", ConnectionRefusedError()), Reason.UPSTREAM_UNAVAILABLE),
        (
            not_sent("createResend", "not sent: the Return Helper secret's apiToken is missing", True),
            Reason.CREDENTIALS,
        ),
        (
            not_sent("createResend", "refused before sending: the x-returnhelper-idempotency-key header"),
            Reason.UPSTREAM_UNAVAILABLE,
        ),
    ],
)
def test_a_call_that_got_no_answer_is_unavailable_unless_our_credentials_could_not_be_sent(failure, reason):
    assert resend_errors.of_outcome(failure) == reason


def test_a_secret_without_a_usable_token_is_a_credentials_problem_at_the_client(emulator_free_client):
    outcome = emulator_free_client.create_resend({"returnInventoryIdList": [1]}, "key-1")
    assert outcome.transient and outcome.credentials_unusable
    assert resend_errors.of_outcome(outcome) == Reason.CREDENTIALS


@pytest.fixture
def emulator_free_client():
    """A client whose secret has a token no header can carry: nothing is sent, nowhere to send it."""
    from rh_common.adapters.returnhelper.client import ReturnHelperClient
    from rh_common.adapters.returnhelper.credentials import ReturnHelperCredentials

    credentials = ReturnHelperCredentials(api_key="key", api_token="token with\nnewline", signing_keys=())
    return ReturnHelperClient("http://127.0.0.1:9", lambda: credentials, timeout_seconds=0.1, on_call=[].append)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ('{"message":"Invalid address."}', Reason.ADDRESS_INVALID),  # the documented failure, as sent
        ('{"message":"Postal code does not match the state."}', Reason.ADDRESS_INVALID),
        ('{"message":"Label service unavailable, please retry."}', Reason.OTHER),
        ("Invalid address.", Reason.ADDRESS_INVALID),  # not JSON: read as it is
        ("", Reason.OTHER),
        (None, Reason.OTHER),
    ],
)
def test_a_failed_resend_has_the_reason_its_shipment_error_gives(error, reason):
    stored = resend_errors.failed_upstream(error)
    assert (stored["errorCode"], stored["reason"]) == (None, reason.value)
    assert resend_errors.view(stored)["reason"] == reason.value


@pytest.mark.parametrize(
    ("problems", "reason"),
    [
        ([FieldError("returnInventoryIdList", "inventory 5 is reserved by r-1")], Reason.ITEM_NOT_ELIGIBLE),
        ([FieldError("returnInventoryIdList", "inventory 5 is not known")], Reason.ITEM_NOT_ELIGIBLE),
        (
            [FieldError("returnInventoryIdList", "items must be in one warehouse, found [2, 5]")],
            Reason.ITEM_NOT_ELIGIBLE,
        ),
        ([FieldError("returnInventoryIdList", "at most 5 items per resend")], Reason.OTHER),
        ([FieldError("returnInventoryIdList", "inventory ids must be distinct")], Reason.OTHER),
        ([FieldError("resendShipment.shipmentPostalCode", "not a valid postal code for US")], Reason.ADDRESS_INVALID),
        (
            [FieldError("resendShipment.shipmentCountryCode", "must be an ISO 3166 alpha-3 country code")],
            Reason.ADDRESS_INVALID,
        ),
        (
            [FieldError("resendShipment.shipmentServiceType", "not a shipment service type of warehouse 2")],
            Reason.OTHER,
        ),
        ([FieldError("Idempotency-Key", "printable ASCII")], Reason.OTHER),
    ],
)
def test_a_refusal_here_has_the_reason_its_fields_give(problems, reason):
    stored = resend_errors.refused_here("resend request is not valid", problems)
    assert resend_errors.view(stored) == {
        "errorCode": None,
        "detail": f"resend request is not valid: {problems[0].field}: {problems[0].message}",
        "reason": reason.value,
    }


def test_approval_timeout_is_a_reason_of_its_own_kept_as_stored():
    # Set by the approval timeout (issue 22): read as stored, never derived from the detail.
    stored = {"errorCode": None, "detail": "no approval within 24 hours", "reason": "approvalTimeout"}
    assert resend_errors.view(stored) == stored
    assert resend_errors.published(stored) == stored


def test_the_view_has_our_description_and_return_helper_s_words_the_event_only_ours():
    outcome = classify_response(
        "createResend",
        200,
        {},
        soft_error(
            "VALIDATION_FAILED", {"resendShipment.shipmentStreet1": f"'{SHIPMENT['shipmentStreet1']}' is not valid"}
        ),
    )
    stored = resend_errors.refused_upstream(outcome)
    assert resend_errors.view(stored) == {
        "errorCode": "VALIDATION_FAILED",
        "detail": (
            "Return Helper refused the resend: soft error VALIDATION_FAILED: "
            f"resendShipment.shipmentStreet1: '{SHIPMENT['shipmentStreet1']}' is not valid"
        ),
        "reason": "addressInvalid",
    }
    assert resend_errors.published(stored) == {
        "errorCode": "VALIDATION_FAILED",
        "reason": "addressInvalid",
        "detail": "Return Helper refused the resend: soft error VALIDATION_FAILED",
        "fields": ["resendShipment.shipmentStreet1"],
    }


# ------------------------------------------------------------------ records written before reasons were stored


@pytest.mark.parametrize(
    ("status", "stored", "expected"),
    [
        (  # REJECTED by Return Helper
            "REJECTED",
            {
                "errorCode": "VALIDATION_FAILED",
                "error": {"resendShipment.shipmentCity": "Too long."},
                "detail": "soft error VALIDATION_FAILED",
            },
            {
                "errorCode": "VALIDATION_FAILED",
                "detail": "soft error VALIDATION_FAILED: resendShipment.shipmentCity: Too long.",
                "reason": "addressInvalid",
            },
        ),
        (  # REJECTED here
            "REJECTED",
            {
                "message": "resend request is not valid",
                "errors": [{"field": "returnInventoryIdList", "message": "inventory 5 is not known"}],
            },
            {
                "errorCode": None,
                "detail": "resend request is not valid: returnInventoryIdList: inventory 5 is not known",
                "reason": "itemNotEligible",
            },
        ),
        (  # FAILED, the shipment's error as sent
            "FAILED",
            {"detail": "Return Helper reported the resend failed", "error": '{"message":"Invalid address."}'},
            {
                "errorCode": None,
                "detail": "Return Helper reported the resend failed: Invalid address.",
                "reason": "addressInvalid",
            },
        ),
        (  # FAILED without an error
            "FAILED",
            {"detail": "Return Helper reported the resend failed", "error": None},
            {"errorCode": None, "detail": "Return Helper reported the resend failed", "reason": "other"},
        ),
        (
            "PENDING",
            {"detail": "HTTP 503", "errorCode": None},
            {"errorCode": None, "detail": "HTTP 503", "reason": "upstreamUnavailable"},
        ),
        (
            "PENDING",
            {"detail": "HTTP 401 (credentials refused)"},
            {"errorCode": None, "detail": "HTTP 401 (credentials refused)", "reason": "credentials"},
        ),
        (
            "DEAD",
            {"detail": "gave up after 8 attempts: HTTP 429"},
            {"errorCode": None, "detail": "gave up after 8 attempts: HTTP 429", "reason": "upstreamUnavailable"},
        ),
    ],
)
def test_a_record_from_before_reasons_reads_with_a_derived_reason(status, stored, expected):
    record = {"resendRequestId": "r-old", "status": status, "returnInventoryIdList": [5], "lastError": stored}
    view = resend_lifecycle.view(record)
    assert view["lastError"] == expected
    assert (view["shipments"], view["quotedFee"]) == ([], None)
    event = resend_status_changed(None, record, "e-1")
    assert event is not None and event.detail["lastError"]["reason"] == expected["reason"]


def test_a_stored_reason_that_is_not_one_of_ours_is_derived_again():
    stored = {"errorCode": None, "detail": "HTTP 503", "reason": "somethingNew"}
    assert resend_errors.view(stored)["reason"] == "upstreamUnavailable"


def test_a_refusal_here_is_published_with_our_message_and_field_names_not_as_return_helper_s():
    problems = [FieldError("resendShipment.shipmentPostalCode", f"{SHIPMENT['shipmentPostalCode']} is not a US code")]
    stored = resend_errors.refused_here("resend request is not valid", problems)
    # `message`, not `detail`: ResendsNeedingAPersonRule pages only for Return Helper's refusals
    assert resend_errors.published(stored) == {
        "errorCode": None,
        "reason": "addressInvalid",
        "message": "resend request is not valid",
        "fields": ["resendShipment.shipmentPostalCode"],
    }
