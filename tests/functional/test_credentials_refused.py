"""Return Helper answering 401/403 (our credentials refused: a rotation half done) is "unavailable"
everywhere (503, try again), never a refusal of what the merchant asked (contract section 3)."""

from __future__ import annotations

from tests.support.resend import resend_body


def test_credentials_refused_upstream_are_503_for_service_types_hold_and_cancel_never_a_refusal(api, items, emulator):
    # GIVEN a SUBMITTED resend, then Return Helper refusing our token (rotated there, not yet here)
    status, created = api("POST", "/resends", resend_body(items(951)))
    assert status == 201, created
    items(952, handlingCode="tbc")
    emulator.api_token = "rotated-upstream"
    # WHEN the merchant asks for uncached service types, a hold and a cancel
    service_types = api("GET", "/service-types", query={"warehouseId": "7"})
    hold = api("POST", "/inventories/952/hold")
    cancel = api("POST", f"/resends/{created['resendRequestId']}/cancel")
    # THEN each is 503 (unavailable: try again), not 422 / 409 as a refusal would be
    assert [service_types[0], hold[0], cancel[0]] == [503, 503, 503], (service_types, hold, cancel)
    assert api("GET", f"/resends/{created['resendRequestId']}")[1]["status"] == "SUBMITTED"
