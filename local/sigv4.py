"""AWS_IAM routes on the local gateway: SigV4 (service execute-api) checked as API Gateway checks it.

API Gateway recomputes the signature of an AWS_IAM route's request from the method, path, query,
the headers the caller listed in SignedHeaders, the body's SHA-256 and its X-Amz-Date, with the
caller's secret key, and answers 403 with {"message"} when anything differs. Locally the only
caller is the stack's operator (stack.json `operator`); the signature is recomputed with
botocore's own SigV4 signer over the request as it arrived, and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.settings import OperatorCredentials

SERVICE = "execute-api"
MAX_SKEW = timedelta(minutes=15)  # API Gateway refuses a request signed further from now
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


class Refusal(NamedTuple):
    """API Gateway's 403 for an AWS_IAM route: its message and x-amzn-ErrorType."""

    message: str
    error_type: str


MISSING = Refusal("Missing Authentication Token", "MissingAuthenticationTokenException")
UNKNOWN_KEY = Refusal("The security token included in the request is invalid.", "UnrecognizedClientException")
INCOMPLETE = Refusal(  # a malformed header, or one that signs neither Host nor X-Amz-Date
    "Authorization header requires Credential, SignedHeaders and Signature.", "IncompleteSignatureException"
)
EXPIRED = Refusal("Signature expired.", "InvalidSignatureException")
MISMATCH = Refusal("The request signature we calculated does not match the signature you provided.", EXPIRED.error_type)


def refusal(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    operator: OperatorCredentials,
    *,
    now: datetime,
) -> Refusal | None:
    """Why API Gateway would refuse this request on an AWS_IAM route, or None when its signature holds.

    `url` is scheme, Host and the path and query exactly as received (still percent-encoded).
    """
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    authorization = (values.get("authorization") or [""])[-1]
    if not authorization:
        return MISSING
    parsed = _AUTHORIZATION.fullmatch(authorization.strip())
    if parsed is None:
        return INCOMPLETE
    access_key, _, scope = parsed["credential"].partition("/")
    known = hmac.compare_digest(access_key.encode(), operator.access_key_id.encode())
    if not known or "x-amz-security-token" in values:
        return UNKNOWN_KEY  # locally there is one caller, with long-term keys (no session token)
    signed, amz_date = parsed["signed"].split(";"), (values.get("x-amz-date") or [""])[-1]
    try:
        signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        signed_at = None
    if signed_at is None or not {"host", "x-amz-date"} <= set(signed):
        return INCOMPLETE
    if scope != f"{amz_date[:8]}/{operator.region}/{SERVICE}/aws4_request":
        return MISMATCH
    if abs(now - signed_at) > MAX_SKEW:
        return EXPIRED
    content_hash = (values.get("x-amz-content-sha256") or [None])[-1]
    if content_hash is not None and content_hash != hashlib.sha256(body).hexdigest():
        return MISMATCH  # the body is always hashed: an UNSIGNED-PAYLOAD claim would let it be changed
    try:
        expected = _signature(method, url, {name: values.get(name, []) for name in signed}, body, amz_date, operator)
    except ValueError:  # a Host or path no URL parser takes (e.g. "[" in Host): nothing can have signed it
        return MISMATCH
    return None if hmac.compare_digest(expected, parsed["signature"]) else MISMATCH


def _signature(
    method: str, url: str, signed: dict[str, list[str]], body: bytes, amz_date: str, operator: OperatorCredentials
) -> str:
    """botocore's SigV4 over the request as received, at its own X-Amz-Date."""
    request = AWSRequest(method=method, url=url, data=body)
    for name, repeated in signed.items():
        for value in repeated:
            request.headers.add_header(name, value)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(operator.access_key_id, operator.secret_access_key), SERVICE, operator.region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)
