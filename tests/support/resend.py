"""Shared by the resend tests: a valid request and the emulator's control API."""

import copy
import json

import requests

from tests.events.loader import load_event

T = "2025-03-03T08:15:42.1984163Z"
WEBHOOK_URL = "https://hooks.example.com/v1/webhooks/returnhelper"  # WEBHOOK_PUBLIC_URL of the tests' webhook
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


def handler_caller(module, lambda_context):
    """call(method, path, body=..., headers=..., query=..., raw=...) -> (status, body) through the real
    handler with an API Gateway REST event; the last response's headers are on call.headers."""

    def call(method, path, body=None, headers=None, query=None, raw=None):
        event = copy.deepcopy(load_event("apigw_get_inventory"))
        event.update(
            httpMethod=method,
            path=path,
            resource=path,
            pathParameters=None,
            headers={"x-api-key": "key", **(headers or {})},
            multiValueHeaders={k: [v] for k, v in {"x-api-key": "key", **(headers or {})}.items()},
            queryStringParameters=query,
            multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
            body=raw if raw is not None else (json.dumps(body) if body is not None else None),
            isBase64Encoded=False,
        )
        response = module.lambda_handler(event, lambda_context)
        call.headers = {**response.get("headers", {}), **response.get("multiValueHeaders", {})}
        content_type = str(call.headers.get("Content-Type", ""))
        content = response["body"]
        return response["statusCode"], json.loads(content) if "application/json" in content_type else content

    call.headers = {}
    return call
