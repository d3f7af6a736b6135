"""The OpenAPI examples of the merchant API's parameters and bodies, one home for every route module.

Example values that name real records on a seeded stack (tests/integration/test_api_fuzz.py
seeds them), so a fuzzer's examples reach the 200s, not only 404s.
"""

from typing import Any

from rh_common.domain.idempotency_keys import request_id_for

EXAMPLE_INVENTORY_ID = 7001
EXAMPLE_WAREHOUSE_ID = 2
EXAMPLE_IDEMPOTENCY_KEY = "example-resend-1"
EXAMPLE_RESEND_REQUEST_ID = request_id_for(EXAMPLE_IDEMPOTENCY_KEY)  # a keyed request's id is derived from its key
EXAMPLE_RESEND = {
    "returnInventoryIdList": [EXAMPLE_INVENTORY_ID],
    "description": "Resend with a corrected address",
    "resendShipment": {
        "shipmentServiceType": "SHIPMENT_UPS_GROUND_NJ",
        "shipmentCountryCode": "usa",
        "shipmentName": "Test Recipient",
        "shipmentPhone": "5550100",
        "shipmentStreet1": "1 Test Street",
        "shipmentState": "NJ",
        "shipmentCity": "Testville",
        "shipmentPostalCode": "08817",
    },
}


def example(value: Any) -> dict[str, dict[str, Any]]:
    """An OpenAPI Example object naming `value`, for a parameter's or a body's `openapi_examples`."""
    return {"seeded": {"summary": "exists on a seeded local stack", "value": value}}
