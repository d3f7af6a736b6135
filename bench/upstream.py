"""Return Helper answered instantly, in-process: a requests transport adapter on the client's session.

Everything on our side of the wire still runs (requests' preparation, the envelope parsing and
classification); only the network and Return Helper's own time are taken out.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

from local.emulator import quote
from local.emulator.state import RETURN_SERVICE_TYPES, SHIPMENT_SERVICE_TYPES, EmulatorState, envelope

WAREHOUSE_ID = 2  # every unit the benchmark seeds is in New Jersey
UNIT_GRAMS = 500


class InstantUpstream(BaseAdapter):
    """createResend, getAvailableShipmentServiceType and getShippingFeeListByToShippingOption (the emulator's
    fees, for units of UNIT_GRAMS in WAREHOUSE_ID) with the real envelope; 404 for anything else."""

    def __init__(self) -> None:
        super().__init__()
        self._sequence = itertools.count(1)
        self.calls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = urlsplit(request.url).path.lower()
        self.calls.append(path)
        number = next(self._sequence)
        correlation_id = f"BENCH:{number:08d}"
        if path.endswith("/resend/createresend"):
            body = envelope(
                correlation_id,
                {"resendId": 900000 + number, "resendNumber": f"RSDBENCH-{number:07d}", "resendShipmentId": number},
            )
        elif path.endswith("/shipment/getavailableshipmentservicetype"):
            body = envelope(correlation_id, {"data": EmulatorState().shipment_service_types(WAREHOUSE_ID)})
        elif path.endswith("/resend/getshippingfeelistbytoshippingoption"):
            body = envelope(correlation_id, _fees(parse_qs(urlsplit(request.url).query)))
        else:
            return _response(request, 404, {})
        return _response(request, 200, body)

    def close(self) -> None:
        pass


def _fees(query: dict[str, list[str]]) -> dict[str, Any]:
    """The emulator's fee list (local/emulator/quote.py) for these units to the query's country."""
    lowered = {name.lower(): values for name, values in query.items()}
    units = len(lowered.get("returninventoryidlist", []))
    country = lowered.get("tocountrycode", [""])[0].lower()
    kg = quote.chargeable_kg([UNIT_GRAMS] * units)
    services = (*SHIPMENT_SERVICE_TYPES[WAREHOUSE_ID], RETURN_SERVICE_TYPES[WAREHOUSE_ID])
    rows = [
        {
            "serviceTypeCode": service.code,
            "serviceTypeName": service.name,
            "currencyCode": "usd",
            "fee": quote.fee(service.code, kg),
            "chargeableWeight": kg,
        }
        for service in services
        if country in service.destinations
    ]
    return {"data": {"shippingFeeDetailList": rows}}


def _response(request: requests.PreparedRequest, status: int, body: dict[str, Any]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "OK" if status == 200 else "Not Found"
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response._content = json.dumps(body).encode()
    response.encoding = "utf-8"
    response.url = request.url
    response.request = request
    return response
