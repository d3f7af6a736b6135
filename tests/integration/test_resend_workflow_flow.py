"""Hold, quote and batch through the running local stack (HTTP in, the emulator upstream).

The stack runs with its defaults (RESEND_MAX_ITEMS=5); the RESEND_MAX_ITEMS=3 case
(five items over two warehouses -> three resends) is tests/functional/test_resend_workflow.py,
through the same handler over moto and an in-process emulator, to spare a second stack.
"""

import pytest
import requests

from tests.integration.test_resend_flow import SHIPMENT, wait_for

pytestmark = pytest.mark.integration

# The same recipient, in London: "cheapest" resolves per group with the quote.
TO_GBR = {**SHIPMENT, "shipmentServiceType": "cheapest", "shipmentCountryCode": "gbr", "shipmentState": "NA"}
TO_GBR.update(shipmentCity="London", shipmentPostalCode="SW1A 1AA")


@pytest.fixture
def emulator(stack):
    if not stack.get("emulator"):
        pytest.skip("emulator not started (RH_API_BASE_URL points elsewhere)")
    return stack["emulator"]


def arrive(emulator, warehouse_id=2, handling="tbc") -> int:
    response = requests.post(
        f"{emulator}/_emulator/inventories", json={"warehouseId": warehouse_id, "handlingCode": handling}, timeout=15
    )
    response.raise_for_status()
    assert response.json()["webhook"]["status"] == 200
    return int(response.json()["inventory"]["returnInventoryId"])


def upstream(emulator) -> dict:
    return requests.get(f"{emulator}/_emulator/state", timeout=10).json()


def test_a_tbc_item_is_held_quoted_without_return_services_and_resent(api, emulator):
    item = arrive(emulator)
    held = api.post(f"/inventories/{item}/hold")
    assert held.status_code == 200, held.text
    assert (held.json()["handlingCode"], held.json()["eligibleForResend"]) == ("ohd", True)
    # Return Helper's rinv webhook for the hold reaches the stack, verified and applied
    wait_for(
        lambda: [w for w in upstream(emulator)["webhooks"] if w["category"] == "rinv"],
        lambda hooks: any(h["status"] == 200 and '"applied"' in (h["body"] or "") for h in hooks),
        timeout=20,
    )
    assert api.get(f"/inventories/{item}").json()["handlingCode"] == "ohd"

    quote = api.post(
        "/resends/quote",
        json={"returnInventoryIdList": [item], "shipmentCountryCode": "usa", "shipmentPostalCode": "10001"},
    )
    assert quote.status_code == 200, quote.text
    codes = [i["serviceTypeCode"] for i in quote.json()["items"]]
    assert codes and not any(code.startswith("RETURN_") for code in codes)
    fees = [i["fee"] for i in quote.json()["items"]]
    assert fees == sorted(fees) and quote.json()["cheapestServiceTypeCode"] == codes[0]

    body = {"returnInventoryIdList": [item], "resendShipment": {**TO_GBR, "shipmentServiceType": codes[0]}}
    body["resendShipment"].update(shipmentCountryCode="usa", shipmentState="NY", shipmentPostalCode="10001")
    created = api.post("/resends", json=body)
    assert created.status_code == 201, created.text


def test_one_batch_call_resends_items_of_two_warehouses_once(api, emulator):
    items = [arrive(emulator) for _ in range(3)] + [arrive(emulator, handling="ohd"), arrive(emulator, 5)]
    key = f"batch-{items[0]}"
    body = {"returnInventoryIdList": items, "holdFirst": True, "resendShipment": TO_GBR}
    first = api.post("/resends/batch", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 200, first.text
    entries = first.json()["resends"]
    assert sorted(len(e["returnInventoryIdList"]) for e in entries) == [1, 4]  # RESEND_MAX_ITEMS=5 here
    # Submitted, or already further: the emulator's progress webhook can land before the batch answers.
    assert {e["status"] for e in entries} <= {"SUBMITTED", "IN_PROGRESS", "COMPLETED"}
    assert first.json()["excluded"] == []
    assert {e["warehouseId"]: e["shipmentServiceType"] for e in entries} == {
        2: "SHIPMENT_USPS_PM_NJ",
        5: "SHIPMENT_DHL_PAKET_DE",
    }
    again = api.post("/resends/batch", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200
    assert [e["resendRequestId"] for e in again.json()["resends"]] == [e["resendRequestId"] for e in entries]
    calls = upstream(emulator)["createResendCalls"]
    assert {k: v for k, v in calls.items() if k.startswith(f"{key}#")} == {f"{key}#g0": 1, f"{key}#g1": 1}
    read = api.get(f"/resends/batch/{key}")
    assert read.status_code == 200 and len(read.json()["resends"]) == 2
    by_status = api.get("/resends", params={"status": read.json()["resends"][0]["status"], "limit": 100})
    assert by_status.status_code == 200
