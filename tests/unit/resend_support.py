"""Shared by the resend tests: a valid request and the emulator's control API."""

import requests

T = "2025-03-03T08:15:42.1984163Z"
ON_HOLD = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}
SHIPMENT = {
    "shipmentServiceType": "SHIPMENT_USPS_GA_SIG_NJ",
    "shipmentCountryCode": "usa",
    "shipmentName": "Test Recipient",
    "shipmentPhone": "5550100",
    "shipmentEmail": "recipient@example.com",
    "shipmentStreet1": "1 Test Street",
    "shipmentStreet2": "",
    "shipmentState": "NJ",
    "shipmentCity": "Testville",
    "shipmentPostalCode": "00000",
}


def resend_body(ids, **shipment):
    return {"returnInventoryIdList": ids, "description": "ORDER-1001", "resendShipment": {**SHIPMENT, **shipment}}


def upstream_state(emulator):
    return requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()


def fault(emulator, operation, **spec):
    requests.post(f"{emulator.url}/_emulator/faults", json={"operation": operation, "faults": [spec]}, timeout=5)
