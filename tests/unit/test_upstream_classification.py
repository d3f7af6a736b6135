"""rh_common.adapters.returnhelper.answers: every upstream answer or failure is SUCCESS, PERMANENT or TRANSIENT."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import requests
import urllib3.exceptions

from rh_common.adapters.returnhelper.answers import classify_exception, classify_response
from rh_common.domain.upstream_outcome import OutcomeKind, UpstreamOutcome, resend_id_of

SUCCESS, PERMANENT, TRANSIENT = OutcomeKind.SUCCESS, OutcomeKind.PERMANENT, OutcomeKind.TRANSIENT
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
SERVICE_TYPES = [
    {
        "serviceTypeCode": "SHIPMENT_USPS_GA_SIG_NJ",
        "serviceType": "USPS Ground Advantage",
        "countryCodePairList": [
            {"warehouseId": 2, "description": "2-US - NJ", "fromCountryCode": "usa", "toCountryCode": "usa"}
        ],
    }
]


def envelope(status: object = 200, error_code: str | None = None, error: object = None, **payload) -> bytes:
    meta = {"status": status, "data": {}, "errorCode": error_code, "error": error if error is not None else {}}
    return json.dumps({"correlationId": "0HN1:00000001", "meta": meta, **payload}).encode()


# (http status, headers, body, kind, expected fields of the outcome)
RESPONSES = [
    pytest.param(
        200,
        {},
        envelope(resendId=3588, resendNumber="RSD240430-0000056"),
        SUCCESS,
        {
            "payload": {"resendId": 3588, "resendNumber": "RSD240430-0000056"},
            "error_code": None,
            "errors": {},
            "correlation_id": "0HN1:00000001",
        },
        id="success-top-level-payload",
    ),
    pytest.param(
        200,
        {},
        envelope(data={"resendId": "3588", "resendShipmentId": "3583"}, totalNumberOfRecords=1),
        SUCCESS,
        {"payload": {"resendId": "3588", "resendShipmentId": "3583", "totalNumberOfRecords": 1}},
        id="success-data-object-merged",
    ),
    pytest.param(
        200,
        {},
        envelope(data=SERVICE_TYPES),
        SUCCESS,
        {"payload": {"data": SERVICE_TYPES}},
        id="success-data-list-kept",
    ),
    pytest.param(
        200,
        {},
        envelope(status="200", resendId=1),
        SUCCESS,
        {"payload": {"resendId": 1}},
        id="meta-status-as-string",
    ),
    pytest.param(
        200,
        {},
        envelope(
            400,
            "VALIDATION_FAILED",
            {
                "resendShipment.shipmentCity": "City must not be longer than 50 characters.",
                "returnInventoryIdList": ["Must not be empty.", "Too many."],
            },
        ),
        PERMANENT,
        {
            "error_code": "VALIDATION_FAILED",
            "detail": "soft error VALIDATION_FAILED",
            "payload": {},
            "errors": {
                "resendShipment.shipmentCity": "City must not be longer than 50 characters.",
                "returnInventoryIdList": "Must not be empty., Too many.",
            },
        },
        id="soft-error-validation-failed",
    ),
    pytest.param(
        200,
        {},
        envelope(200, "TRACKING_ALREADY_EXIST", {"trackingNumber": "used"}),
        PERMANENT,
        {"error_code": "TRACKING_ALREADY_EXIST", "errors": {"trackingNumber": "used"}},
        id="meta-200-with-error-code",
    ),
    pytest.param(
        200,
        {},
        envelope("400", None, {"resendId": "Resend 1 does not exist."}),
        PERMANENT,
        {"error_code": None, "errors": {"resendId": "Resend 1 does not exist."}},
        id="meta-400-without-error-code",
    ),
    pytest.param(400, {}, b"bad request", PERMANENT, {"detail": "HTTP 400"}, id="http-400"),
    pytest.param(
        401,
        {},
        b"",
        TRANSIENT,
        {"detail": "HTTP 401 (credentials refused)", "payload": {}, "correlation_id": None},
        id="http-401-empty-body",
    ),
    pytest.param(
        403, {}, b"<html>Forbidden</html>", TRANSIENT, {"detail": "HTTP 403 (credentials refused)"}, id="http-403"
    ),
    pytest.param(404, {}, b"", PERMANENT, {"detail": "HTTP 404"}, id="http-404"),
    pytest.param(
        422,
        {},
        envelope(422, "UNPROCESSABLE"),
        PERMANENT,
        {"detail": "HTTP 422 UNPROCESSABLE", "error_code": "UNPROCESSABLE"},
        id="http-422-with-envelope",
    ),
    pytest.param(408, {}, b"", TRANSIENT, {"detail": "HTTP 408"}, id="http-408"),
    pytest.param(
        409,
        {},
        envelope(409, "IDEMPOTENCY_KEY_IN_FLIGHT"),
        TRANSIENT,
        {"error_code": "IDEMPOTENCY_KEY_IN_FLIGHT", "retry_after_seconds": None},
        id="http-409",
    ),
    pytest.param(
        429,
        {"Retry-After": "7"},
        b"too many requests\n",
        TRANSIENT,
        {"retry_after_seconds": 7.0, "detail": "HTTP 429"},
        id="http-429-retry-after-seconds",
    ),
    pytest.param(
        429,
        {"retry-after": "Thu, 02 Jan 2025 03:06:05 GMT"},
        b"",
        TRANSIENT,
        {"retry_after_seconds": 120.0},
        id="http-429-retry-after-http-date",
    ),
    pytest.param(
        429,
        {"Retry-After": "Wed, 01 Jan 2025 00:00:00 GMT"},
        b"",
        TRANSIENT,
        {"retry_after_seconds": 0.0},
        id="http-429-retry-after-in-the-past",
    ),
    pytest.param(
        429, {"Retry-After": "soon"}, b"", TRANSIENT, {"retry_after_seconds": None}, id="http-429-retry-after-garbage"
    ),
    pytest.param(429, {}, b"", TRANSIENT, {"retry_after_seconds": None}, id="http-429-no-retry-after"),
    pytest.param(500, {}, b"", TRANSIENT, {"detail": "HTTP 500"}, id="http-500"),
    pytest.param(502, {}, b"<html>Bad Gateway</html>", TRANSIENT, {"detail": "HTTP 502"}, id="http-502"),
    pytest.param(
        503,
        {"Retry-After": "30"},
        b"emulated upstream failure\n",
        TRANSIENT,
        {"detail": "HTTP 503", "retry_after_seconds": 30.0},
        id="http-503-retry-after",
    ),
    pytest.param(504, {}, b"", TRANSIENT, {"detail": "HTTP 504"}, id="http-504"),
    pytest.param(
        200,
        {},
        b"<html><body>Service Unavailable</body></html>",
        TRANSIENT,
        {"detail": "HTTP 200 without a JSON envelope", "payload": {}},
        id="http-200-html",
    ),
    pytest.param(200, {}, b"", TRANSIENT, {}, id="http-200-empty"),
    pytest.param(200, {}, b'{"resendId": 1}', TRANSIENT, {}, id="http-200-json-without-meta"),
    pytest.param(200, {}, b"\xff\xfe garbled", TRANSIENT, {}, id="http-200-not-utf8"),
    pytest.param(
        200,
        {},
        envelope(503, "INTERNAL_ERROR"),
        TRANSIENT,
        {"detail": "meta.status 503 INTERNAL_ERROR", "error_code": "INTERNAL_ERROR"},
        id="meta-status-503-inside-200",
    ),
    pytest.param(200, {}, envelope(status=None), TRANSIENT, {}, id="meta-status-missing"),
    pytest.param(302, {"Location": "https://elsewhere"}, b"", PERMANENT, {"detail": "HTTP 302"}, id="http-302"),
]


@pytest.mark.parametrize(("http_status", "headers", "body", "kind", "expected"), RESPONSES)
def test_classify_response(http_status, headers, body, kind, expected):
    # GIVEN an upstream answer / WHEN it is classified
    outcome = classify_response("createResend", http_status, headers, body, now=NOW)
    # THEN the kind and the named fields are as expected, and the flags agree with the kind
    assert outcome.kind is kind, outcome
    assert (outcome.operation, outcome.http_status) == ("createResend", http_status)
    assert {name: getattr(outcome, name) for name in expected} == expected
    assert (outcome.ok, outcome.permanent, outcome.transient) == (kind is SUCCESS, kind is PERMANENT, kind is TRANSIENT)


def test_headers_are_matched_case_insensitively_in_requests_structures():
    # GIVEN requests' own case-insensitive header mapping
    headers = requests.structures.CaseInsensitiveDict({"RETRY-AFTER": "3"})
    # WHEN a 429 is classified / THEN its Retry-After is found
    assert classify_response("getResend", 429, headers, b"").retry_after_seconds == 3.0


def _reset_error() -> requests.ConnectionError:
    """What requests raises when the server answers with a TCP RST."""
    reset = ConnectionResetError(104, "Connection reset by peer")
    return requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", reset))


def _read_timeout_after_retry_bookkeeping() -> requests.ConnectionError:
    """What requests raises for a GET read timeout when urllib3 counted it against Retry(read=0)."""
    timeout = urllib3.exceptions.ReadTimeoutError(None, "/x", "Read timed out. (read timeout=0.5)")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason=timeout))


EXCEPTIONS = [
    pytest.param(_read_timeout_after_retry_bookkeeping(), "read timeout", id="read-timeout-inside-max-retry"),
    pytest.param(requests.ReadTimeout("read timed out"), "read timeout", id="read-timeout"),
    pytest.param(requests.ConnectTimeout("connect timed out"), "connect timeout", id="connect-timeout"),
    pytest.param(requests.Timeout("timed out"), "timeout", id="timeout"),
    pytest.param(requests.ConnectionError("refused"), "connection error", id="connection-error"),
    pytest.param(_reset_error(), "connection reset", id="connection-reset"),
    pytest.param(requests.exceptions.ChunkedEncodingError("cut"), "response body cut off", id="chunked-encoding"),
    pytest.param(requests.exceptions.SSLError("bad handshake"), "TLS error", id="tls"),
    pytest.param(ConnectionResetError(104, "reset"), "connection reset", id="builtin-reset"),
    pytest.param(TimeoutError("timed out"), "timeout", id="builtin-timeout"),
]


@pytest.mark.parametrize(("exc", "detail"), EXCEPTIONS)
def test_network_failures_are_transient(exc, detail):
    # GIVEN a network failure / WHEN it is classified
    outcome = classify_exception("createResend", exc)
    # THEN it is transient, with a short reason and no HTTP status
    assert (outcome.kind, outcome.detail, outcome.http_status) == (TRANSIENT, detail, None)
    assert outcome.transient and not outcome.ok


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(ValueError("bug"), id="value-error"),
        pytest.param(TypeError("bug"), id="type-error"),
        pytest.param(KeyError("bug"), id="key-error"),
        pytest.param(requests.exceptions.InvalidURL("no host"), id="invalid-url"),
        pytest.param(requests.exceptions.MissingSchema("no scheme"), id="missing-schema"),
    ],
)
def test_programming_errors_are_raised_again(exc):
    # GIVEN an error that is not the network's fault / WHEN it is classified / THEN it propagates
    with pytest.raises(type(exc)):
        classify_exception("createResend", exc)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param({"resendId": 3588}, 3588, id="number"),
        pytest.param({"resendId": "3588"}, 3588, id="digit-string"),
        pytest.param({"resendId": None}, None, id="null"),
        pytest.param({}, None, id="missing"),
        pytest.param({"resendId": "RSD-1"}, None, id="not-a-number"),
        pytest.param({"resendId": True}, None, id="bool"),
        # Refused by the one id rule (codes.parse_id), taken by the create path's own int() before:
        pytest.param({"resendId": 0}, None, id="zero"),
        pytest.param({"resendId": "-7"}, None, id="negative"),
        pytest.param({"resendId": 35.9}, None, id="float"),
        pytest.param({"resendId": " 3588 "}, 3588, id="padded-digit-string"),
    ],
)
def test_resend_id_of(payload, expected):
    outcome = UpstreamOutcome(kind=SUCCESS, operation="createResend", payload=payload)
    assert resend_id_of(outcome) == expected


def test_module_works_without_requests():
    # GIVEN an interpreter where requests (and urllib3) cannot be imported
    script = (
        "import sys; sys.modules['requests'] = None; sys.modules['urllib3'] = None\n"
        "from rh_common.adapters.returnhelper.answers import classify_exception, classify_response\n"
        "assert classify_exception('op', TimeoutError()).transient\n"
        "assert classify_response('op', 503, {}, b'').transient\n"
        "try:\n    classify_exception('op', TypeError('bug'))\nexcept TypeError:\n    print('raised')\n"
    )
    # WHEN the pure module is imported and used / THEN it works, and programming errors still propagate
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout.strip()) == (0, "raised"), result.stderr
