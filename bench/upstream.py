"""Return Helper answered instantly, in-process: a requests transport adapter on the client's session.

Everything on our side of the wire still runs (requests' preparation, the envelope parsing and
classification); only the network and Return Helper's own time are taken out.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from local.emulator.state import EmulatorState, envelope


class InstantUpstream(BaseAdapter):
    """createResend and getAvailableShipmentServiceType with the real envelope; 404 for anything else."""

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
            body = envelope(correlation_id, {"data": EmulatorState().shipment_service_types(2)})
        else:
            return _response(request, 404, {})
        return _response(request, 200, body)

    def close(self) -> None:
        pass


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
