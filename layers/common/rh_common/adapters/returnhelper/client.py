"""Return Helper's user API over HTTP: every call ends in an UpstreamOutcome, never a network exception.

One ``requests.Session`` per client (keep the client at module level in a handler, so warm
invocations reuse the connection) and NO automatic retries: a retry is the system's decision
(SQS redelivery / the retry queue), made with the same idempotency key, so that a create the
server committed before the connection dropped is answered, not repeated.
"""

from __future__ import annotations

import json
import logging
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from rh_common.adapters.returnhelper.answers import classify_exception, classify_response
from rh_common.adapters.returnhelper.credentials import CredentialsInvalid, ReturnHelperCredentials
from rh_common.domain.upstream_outcome import UpstreamOutcome, not_sent, resend_id_of

__all__ = ["IDEMPOTENCY_HEADER", "ReturnHelperClient", "resend_id_of", "user_agent"]

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "x-returnhelper-idempotency-key"
APP_NAME = "ReturnHelperResends"
_DISTRIBUTION = "returnhelper-resends"
_FALLBACK_VERSION = "0.1.0"
_CREDENTIAL_HEADERS = frozenset({"x-rr-apikey", "x-rr-apitoken"})  # one that cannot be sent: a credentials problem
# A header value sent as is: printable ASCII, no leading or trailing space (requests and http.client
# refuse anything else with an exception that quotes the value).
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


class _NotSendable(ValueError):
    """A header value requests would refuse; the message is the header's name."""


def _package_version() -> str:
    # In Lambda the layer is plain files, not an installed distribution.
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return _FALLBACK_VERSION


def user_agent(app_version: str) -> str:
    """Return Helper's recommended form: ``{app}/{version} (Platform=..; Runtime=..; Language=..)``."""
    language = f"Python{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"{APP_NAME}/{app_version} (Platform={platform.system()}/{platform.release()}; "
        f"Runtime={platform.python_version()}; Language={language})"
    )


def _session_without_retries() -> requests.Session:
    session = requests.Session()
    # Explicitly none, not even urllib3's retry of a connect error: retries belong to the system.
    # read=False makes urllib3 raise the original read error, so a read timeout stays a ReadTimeout.
    no_retries = Retry(total=0, read=False)
    adapter = HTTPAdapter(max_retries=no_retries)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class ReturnHelperClient:
    """createResend / getResend / cancelResend / getAvailableShipmentServiceType / fees / handling."""

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], ReturnHelperCredentials],
        timeout_seconds: float,
        *,
        on_call: Callable[[UpstreamOutcome], None],
        connect_timeout_seconds: float = 3.05,
        session: requests.Session | None = None,
        app_version: str | None = None,
    ):
        self.base_url = base_url[:-1] if base_url.endswith("/") else base_url
        self._credentials = credentials
        self._timeout = (connect_timeout_seconds, timeout_seconds)
        self._session = session if session is not None else _session_without_retries()
        self.user_agent = user_agent(app_version or _package_version())
        self._on_call = on_call  # told every call's outcome (its operation, kind and latency: the metrics)

    # -- operations ------------------------------------------------------------------------------

    def create_resend(self, body: dict[str, Any], idempotency_key: str) -> UpstreamOutcome:
        """POST Resend/createResend; pass the same key on every retry of the same request."""
        return self._call(
            "createResend", "POST", "/Resend/createResend", json_body=body, idempotency_key=_key(idempotency_key)
        )

    def get_resend(self, resend_id: int) -> UpstreamOutcome:
        return self._call("getResend", "GET", "/Resend/getResend", params={"resendId": int(resend_id)})

    def cancel_resend(self, resend_id: int, idempotency_key: str) -> UpstreamOutcome:
        return self._call(
            "cancelResend",
            "POST",
            "/Resend/cancelResend",
            json_body={"resendId": int(resend_id)},
            idempotency_key=_key(idempotency_key),
        )

    def available_shipment_service_types(self, warehouse_id: int) -> UpstreamOutcome:
        """Outcome payload["data"] is the list of ``{serviceTypeCode, serviceType, countryCodePairList}``."""
        return self._call(
            "getAvailableShipmentServiceType",
            "GET",
            "/Shipment/getAvailableShipmentServiceType",
            params={"warehouseId": int(warehouse_id)},
        )

    def list_return_inventory(self, create_from: str, create_to: str, page_size: int, offset: int) -> UpstreamOutcome:
        """GET ReturnInventory/list: payload["data"] (one page) and payload["totalNumberOfRecords"]."""
        return self._call(
            "listReturnInventory",
            "GET",
            "/ReturnInventory/list",
            params={"createFrom": create_from, "createTo": create_to, "pageSize": page_size, "offset": offset},
        )

    def get_return_inventory(self, inventory_id: int) -> UpstreamOutcome:
        """GET ReturnInventory/GetReturnInventory: the ReturnInventoryPayload fields."""
        return self._call(
            "getReturnInventory",
            "GET",
            "/ReturnInventory/GetReturnInventory",
            params={"returnInventoryId": int(inventory_id)},
        )

    def shipping_fees(self, inventory_ids: list[int], country_code: str, postal_code: str) -> UpstreamOutcome:
        """GET Resend/getShippingFeeListByToShippingOption; payload["shippingFeeDetailList"] is the fee list.

        The list goes as repeated keys (ASP.NET's form; the docs do not say how to encode it).
        """
        return self._call(
            "getShippingFeeListByToShippingOption",
            "GET",
            "/Resend/getShippingFeeListByToShippingOption",
            params={
                "returnInventoryIdList": [int(i) for i in inventory_ids],
                "toCountryCode": country_code,
                "toPostalCode": postal_code,
            },
        )

    def update_handling(self, inventory_id: int, handling_code: str, idempotency_key: str) -> UpstreamOutcome:
        """POST ReturnInventory/UpdateReturnInventoryHandling (envelope only on success)."""
        return self._call(
            "updateReturnInventoryHandling",
            "POST",
            "/ReturnInventory/UpdateReturnInventoryHandling",
            json_body={"returnInventoryId": int(inventory_id), "handlingCode": handling_code},
            idempotency_key=_key(idempotency_key),
        )

    # -- transport -------------------------------------------------------------------------------

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        """The request's headers; CredentialsInvalid, or NotSendable naming a header that requests would
        refuse (its exception quotes the value: into logs and X-Ray)."""
        credentials = self._credentials()  # per call: the cached secret picks up a rotation
        headers = {
            "x-rr-apikey": credentials.api_key,
            "x-rr-apitoken": credentials.api_token,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        for name, value in headers.items():
            if not _HEADER_VALUE.fullmatch(value):
                raise _NotSendable(name)
        return headers

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> UpstreamOutcome:
        started = time.monotonic()
        try:
            headers = self._headers(idempotency_key)
        except CredentialsInvalid as invalid:  # its message names the field, never the value
            return self._outcome(not_sent(operation, f"not sent: {invalid}", credentials=True), started)
        except _NotSendable as refused:
            detail = f"refused before sending: the {refused} header is not valid"
            return self._outcome(not_sent(operation, detail, credentials=str(refused) in _CREDENTIAL_HEADERS), started)
        data = json.dumps(json_body, separators=(",", ":")).encode("utf-8") if json_body is not None else None
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,  # a redirect would turn the POST into a GET elsewhere
            )
            body = response.content  # read inside the try: a cut-off body is a network failure
        except Exception as exc:  # classify_exception raises again anything that is not a network failure
            outcome = classify_exception(operation, exc)
        else:
            outcome = classify_response(operation, response.status_code, response.headers, body)
        return self._outcome(outcome, started)

    def _outcome(self, outcome: UpstreamOutcome, started: float) -> UpstreamOutcome:
        outcome = replace(outcome, elapsed_seconds=time.monotonic() - started)
        # Never the headers: they carry the API key and token.
        log.log(
            logging.DEBUG if outcome.ok else logging.WARNING,
            "Return Helper %s -> %s (%s) in %.3fs correlationId=%s",
            outcome.operation,
            outcome.kind.value,
            outcome.detail,
            outcome.elapsed_seconds,
            outcome.correlation_id,
        )
        self._on_call(outcome)
        return outcome


def _key(idempotency_key: str) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValueError("an idempotency key is required for state-changing calls")
    return idempotency_key
