"""Shared by the resend tests: a valid request and the emulator's control API."""

from __future__ import annotations

import copy
import json
from typing import Any

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
    "shipmentPostalCode": "08817",  # a New Jersey ZIP code: the address check holds it to the state's
}


def resend_body(ids: list[int], **shipment: Any) -> dict[str, Any]:
    return {"returnInventoryIdList": ids, "description": "ORDER-1001", "resendShipment": {**SHIPMENT, **shipment}}


def upstream_state(emulator: Any) -> Any:
    return requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()


def fault(emulator: Any, operation: str, **spec: Any) -> None:
    requests.post(f"{emulator.url}/_emulator/faults", json={"operation": operation, "faults": [spec]}, timeout=5)


def handler_caller(module: Any, lambda_context: Any) -> HandlerCaller:
    return HandlerCaller(module, lambda_context)


class HandlerCaller:
    """call(method, path, body=..., headers=..., query=..., raw=...) -> (status, body) through the real
    handler with an API Gateway REST event; the last response's headers are on call.headers."""

    def __init__(self, module: Any, lambda_context: Any) -> None:
        self._module = module
        self._lambda_context = lambda_context
        self.headers: dict[str, Any] = {}

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> tuple[int, Any]:
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
        response = self._module.lambda_handler(event, self._lambda_context)
        self.headers = {**response.get("headers", {}), **response.get("multiValueHeaders", {})}
        content_type = str(self.headers.get("Content-Type", ""))
        content = response["body"]
        return response["statusCode"], json.loads(content) if "application/json" in content_type else content
